/**
 * Structured logging (pino) to stderr. Connection strings and passwords never reach a log:
 * fields with those names are redacted, and callers log `describeTarget(...)` (user@host/db),
 * never a URL.
 */
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino(
    {
      name: options.name ?? 'tributary',
      level: options.level ?? process.env.TRIBUTARY_LOG_LEVEL ?? 'info',
      redact: {
        paths: ['password', '*.password', 'connectionString', '*.connectionString', 'url', '*.url', 'source'],
        censor: '***',
      },
      base: null,
    },
    pino.destination({ dest: 2, sync: true }),
  );
}

/** A logger that drops everything, for library use and tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
