/**
 * Splits a `scheme://userinfo@host/path?query` string the way libpq does, without decoding
 * anything: the user part runs to the last `@` before the first `/` (so a password may hold `?`
 * or an unencoded `@`), the host to the next `/` or `?`. Offsets let `redactUrl` cut the password
 * out of the original text even when the rest would not parse.
 */

export interface UrlParts {
  readonly scheme: string;
  /** `user[:password]`, or null when there is no `@`. */
  readonly userinfo: string | null;
  readonly userinfoStart: number;
  /** `host[:port]`, `[v6]:port`, or empty. */
  readonly host: string;
  readonly hostStart: number;
  /** The path after the first `/` (the database name), or empty. */
  readonly path: string;
  /** Everything after `?`, or empty. */
  readonly query: string;
}

export function splitUrl(url: string): UrlParts | null {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url);
  if (!scheme) return null;
  const start = scheme[0].length;
  const rest = url.slice(start);
  const slash = rest.indexOf('/');
  const limit = slash >= 0 ? slash : rest.length;
  const at = limit === 0 ? -1 : rest.lastIndexOf('@', limit - 1);
  const afterUser = rest.slice(at + 1);
  const hostEnd = afterUser.search(/[/?]/);
  const host = hostEnd >= 0 ? afterUser.slice(0, hostEnd) : afterUser;
  const tail = hostEnd >= 0 ? afterUser.slice(hostEnd) : '';
  const question = tail.indexOf('?');
  const pathPart = question >= 0 ? tail.slice(0, question) : tail;
  return {
    scheme: scheme[1]!,
    userinfo: at >= 0 ? rest.slice(0, at) : null,
    userinfoStart: start,
    host,
    hostStart: start + at + 1,
    path: pathPart.startsWith('/') ? pathPart.slice(1) : pathPart,
    query: question >= 0 ? tail.slice(question + 1) : '',
  };
}
