/**
 * pgoutput sends values in their text form, produced by the walsender session's output
 * functions, so the text depends on session settings. Tributary fixes them on every connection
 * whose text it parses, so decoding never depends on the server's defaults:
 * timestamps with zone in UTC, ISO dates, Postgres interval style, floats with shortest-exact
 * (round-trip) output, bytea as hex, money in the C locale.
 */
export const SESSION_SETTINGS: Readonly<Record<string, string>> = Object.freeze({
  TimeZone: 'UTC',
  DateStyle: 'ISO, YMD',
  IntervalStyle: 'postgres',
  extra_float_digits: '3',
  bytea_output: 'hex',
  // money's text follows the locale; C makes it the same on every server
  lc_monetary: 'C',
  client_encoding: 'UTF8',
  // the default since 9.1; a backfill's predicate is read as this setting reads it (predicate.ts)
  standard_conforming_strings: 'on',
});

/** The same settings as a libpq `options` string (`-c name=value ...`). */
export function sessionOptions(): string {
  return Object.entries(SESSION_SETTINGS)
    .map(([name, value]) => `-c ${name}=${value.replaceAll(' ', '\\ ').replaceAll(',', '\\,')}`)
    .join(' ');
}

/**
 * `config` with the session settings added to its `options`, after any the user's URL gives
 * (libpq applies `-c` in order, so the user's other settings stay and these win).
 */
export function withSessionSettings<T extends { readonly options?: string | undefined }>(config: T): T {
  const user = config.options?.trim();
  return { ...config, options: user ? `${user} ${sessionOptions()}` : sessionOptions() };
}
