/**
 * Source URLs. `parseSourceUrl` turns `--source` (a libpq-style `postgres://` or `postgresql://`
 * URL) into a `pg.ClientConfig`; `redactUrl` (password replaced by `***`) and `describeTarget`
 * (`user@host:port/db`) are the only ways a target may appear in a message. No error raised
 * here ever contains a password.
 *
 * Grammar (libpq's): `postgres[ql]://[user[:password]@][host][:port][/dbname][?name=value&...]`,
 * percent-decoded. A host starting with `/` is a unix socket directory (`?host=/var/run/postgresql`,
 * or `%2Fvar%2Frun%2Fpostgresql` in the host position). What the URL leaves out comes from the
 * environment as libpq takes it (PGHOST, PGPORT, PGUSER, PGDATABASE; pg itself reads PGPASSWORD
 * and ~/.pgpass at connect time); the database defaults to the user name.
 *
 * `sslmode` means what it means to libpq (see ssl-options.ts); without it the connection is
 * plain, as with pg.
 *
 * Parsed by hand: WHATWG `URL` rejects `user@/db` and ports it dislikes without saying why, and
 * pg-connection-string is not a declared dependency, reads `require` as `verify-full` and reads
 * certificate files while parsing.
 */
import { userInfo } from 'node:os';
import type pg from 'pg';
import { TributaryError } from '../../../core/errors.js';
import { parseSslMode, type SslMode, sslOptions } from './ssl-options.js';
import { splitUrl } from './url-parts.js';

export type { SslMode };

export interface SourceConfig extends pg.ClientConfig {
  /** libpq's sslmode as the URL gave it (pg ignores this field; `connectClient` reads it). */
  readonly sslmode?: SslMode;
}

export const URL_FORM = 'postgres://user:password@host:5432/database?sslmode=require';

const PARAMETERS = [
  'host',
  'port',
  'dbname',
  'user',
  'password',
  'sslmode',
  'sslrootcert',
  'sslcert',
  'sslkey',
  'sslnegotiation',
  'channel_binding',
  'application_name',
  'fallback_application_name',
  'options',
  'connect_timeout',
  'keepalives',
  'keepalives_idle',
  'client_encoding',
];
/** libpq parameters that change nothing for a single-host pg connection; accepted, not used. */
const IGNORED = [
  'gssencmode',
  'target_session_attrs',
  'keepalives_interval',
  'keepalives_count',
  'sslcompression',
];

function configError(message: string, hint = `write it as ${URL_FORM}`, cause?: unknown): TributaryError {
  return new TributaryError('CONFIG', message, cause === undefined ? { hint } : { hint, cause });
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch (error) {
    throw configError(
      `the ${what} in --source has a broken %-escape`,
      `encode special characters as %XX`,
      error,
    );
  }
}

function parsePort(text: string, where: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(port >= 1 && port <= 65535))
    throw configError(`the port in ${where} must be a number from 1 to 65535`, 'for example host:5432');
  return port;
}

function seconds(text: string, name: string): number {
  if (!/^\d+$/.test(text)) throw configError(`${name} in --source must be a whole number of seconds`);
  return Number(text) * 1000;
}

function defaultUser(env: NodeJS.ProcessEnv): string {
  if (env.PGUSER) return env.PGUSER;
  try {
    return userInfo().username;
  } catch {
    return env.USER ?? 'postgres';
  }
}

/** Parses `--source`; `env` stands in for the process environment (tests pass their own). */
export function parseSourceUrl(url: string, env: NodeJS.ProcessEnv = process.env): SourceConfig {
  const text = url.trim();
  if (text === '')
    throw configError(
      '--source is empty',
      `give the source database as ${URL_FORM} (or set TRIBUTARY_SOURCE)`,
    );
  const parts = splitUrl(text);
  if (!parts)
    throw configError(
      '--source must be a postgres:// or postgresql:// URL (the value is not shown: it may hold a password)',
    );
  if (!/^postgres(ql)?$/i.test(parts.scheme))
    throw configError(`--source must be a postgres:// or postgresql:// URL, not ${redactUrl(text)}`);

  const params = new Map<string, string>();
  for (const pair of parts.query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw configError('a query parameter in --source is not of the form name=value');
    const name = decode(pair.slice(0, eq), 'query');
    if (!PARAMETERS.includes(name) && !IGNORED.includes(name))
      throw configError(
        `unknown parameter ${JSON.stringify(name)} in --source`,
        `supported parameters: ${PARAMETERS.join(', ')}`,
      );
    params.set(name, decode(pair.slice(eq + 1), `${name} parameter`));
  }

  let hostText = parts.host;
  let portText = '';
  const bracket = /^\[([^\]]*)\](?::(.*))?$/.exec(hostText);
  if (bracket) {
    hostText = bracket[1] ?? '';
    portText = bracket[2] ?? '';
  } else if (hostText.includes(':')) {
    portText = hostText.slice(hostText.indexOf(':') + 1);
    hostText = hostText.slice(0, hostText.indexOf(':'));
  }
  const host = params.get('host') ?? (hostText === '' ? env.PGHOST || 'localhost' : decode(hostText, 'host'));
  if (host.includes(','))
    throw configError('--source names several hosts; Tributary connects to one', 'give the primary only');
  const portSource = params.get('port') ?? (portText === '' ? env.PGPORT : portText);
  const port = portSource === undefined || portSource === '' ? 5432 : parsePort(portSource, '--source');

  const colon = parts.userinfo?.indexOf(':') ?? -1;
  const userText =
    parts.userinfo === null ? '' : colon >= 0 ? parts.userinfo.slice(0, colon) : parts.userinfo;
  const user = params.get('user') ?? (userText === '' ? defaultUser(env) : decode(userText, 'user name'));
  const password =
    params.get('password') ??
    (parts.userinfo !== null && colon >= 0 ? decode(parts.userinfo.slice(colon + 1), 'password') : undefined);
  if (parts.path.includes('/')) throw configError('the database name in --source contains a "/"');
  const database =
    params.get('dbname') ??
    (parts.path === '' ? env.PGDATABASE || user : decode(parts.path, 'database name'));

  const sslText = params.get('sslmode');
  const sslmode = sslText === undefined ? undefined : parseSslMode(sslText);
  const ssl = sslOptions(sslmode, params);
  const negotiation = params.get('sslnegotiation');
  const binding = params.get('channel_binding');
  const timeout = params.get('connect_timeout');
  const keepalives = params.get('keepalives');
  const idle = params.get('keepalives_idle');
  const applicationName = params.get('application_name') ?? params.get('fallback_application_name');
  const options = params.get('options');
  const encoding = params.get('client_encoding');

  return Object.freeze({
    host,
    port,
    user,
    database,
    ...(password !== undefined ? { password } : {}),
    ...(ssl !== undefined ? { ssl } : {}),
    ...(sslmode !== undefined ? { sslmode } : {}),
    ...(negotiation === 'direct' || negotiation === 'postgres' ? { sslnegotiation: negotiation } : {}),
    ...(binding !== undefined ? { enableChannelBinding: binding !== 'disable' } : {}),
    ...(timeout !== undefined ? { connectionTimeoutMillis: seconds(timeout, 'connect_timeout') } : {}),
    ...(keepalives !== undefined ? { keepAlive: keepalives !== '0' } : {}),
    ...(idle !== undefined ? { keepAliveInitialDelayMillis: seconds(idle, 'keepalives_idle') } : {}),
    ...(applicationName !== undefined ? { application_name: applicationName } : {}),
    ...(options !== undefined ? { options } : {}),
    ...(encoding !== undefined ? { client_encoding: encoding } : {}),
  });
}

/**
 * The URL with its password (in the user part or a `password=` parameter) replaced by `***`.
 * Deliberately wider than the parser: everything between the first `:` after the scheme and the
 * last `@` goes, so a password holding an unencoded `/`, `?` or `@` is still hidden. A value
 * that cannot be split into URL parts is hidden whole.
 */
export function redactUrl(url: string): string {
  let out = url;
  const parts = splitUrl(url);
  // a value that is not a URL at all gives no reliable place for the password: show none of it
  if (!parts) return '(the value given, hidden because it may hold a password)';
  {
    const start = parts.userinfoStart;
    const at = url.lastIndexOf('@');
    const colon = url.indexOf(':', start);
    if (at > start && colon >= 0 && colon < at) {
      out = `${url.slice(0, colon + 1)}***${url.slice(at)}`;
    } else if (at < start && !parts.host.startsWith('[') && /:\D/.test(parts.host)) {
      // `postgres://user:secret/db` (the `@` forgotten) puts the password where the port goes.
      const from = parts.hostStart + parts.host.indexOf(':') + 1;
      out = `${url.slice(0, from)}***${url.slice(parts.hostStart + parts.host.length)}`;
    }
  }
  return out.replace(/(\bpassword=)[^&\s]*/gi, '$1***');
}

/** `user@host:port/database`, for messages; never the password. */
export function describeTarget(config: pg.ClientConfig): string {
  const host = config.host ?? 'localhost';
  const shown = host.includes(':') && !host.startsWith('/') ? `[${host}]` : host;
  const user = config.user ?? '';
  return `${user}@${shown}:${config.port ?? 5432}/${config.database ?? user}`;
}

/** `host:port` for messages about reaching the server. */
export function describeAddress(config: pg.ClientConfig): string {
  const host = config.host ?? 'localhost';
  if (host.startsWith('/')) return `${host}/.s.PGSQL.${config.port ?? 5432}`;
  return `${host.includes(':') ? `[${host}]` : host}:${config.port ?? 5432}`;
}
