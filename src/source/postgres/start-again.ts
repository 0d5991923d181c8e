/**
 * Starting against a source that goes away mid-start. Once streaming, the source reconnects by
 * itself (PostgresSource.run); before that — the pre-flight checks, the slot, the first copy at
 * the slot's exported snapshot — a restart, failover or terminated backend surfaced as a raw
 * driver error and ended the process ("Client has encountered a connection error and is not
 * queryable"). Every step of a start is safe to run again (a kill -9 at any point of it is), so
 * the start is simply run again, with backoff, until it succeeds or the process is stopped.
 *
 * A connection refused before the source was ever reached is not a restart but a wrong address
 * or a server that is down: it fails at once, with its hint and exit code 2, as before.
 */
import type { Logger } from 'pino';
import { TributaryError } from '../../core/errors.js';
import { sleep } from '../../core/sleep.js';
import { isConnectionFailure } from './postgres-source.js';

export interface StartAgainOptions {
  readonly logger: Logger;
  /** What is being started, for the log: "the pipeline", "the stream". */
  readonly what: string;
  /** Whether the source was reached in this process: a refused connection is then a restart too. */
  readonly reached?: () => boolean;
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
}

/**
 * Runs `start` until it resolves; again after each failure that means the source went away.
 * Resolves `undefined` when `signal` aborts while waiting to try again.
 */
export async function startAgainOnConnectionLoss<T>(
  start: (attempt: number) => Promise<T>,
  signal: AbortSignal,
  options: StartAgainOptions,
): Promise<T | undefined> {
  const initial = options.initialDelayMs ?? 500;
  const max = options.maxDelayMs ?? 30_000;
  for (let attempt = 0; ; attempt++) {
    try {
      return await start(attempt);
    } catch (error) {
      const reached = attempt > 0 || (options.reached?.() ?? false);
      if (signal.aborted || !isConnectionLoss(error, reached)) throw error;
      const capped = Math.min(max, initial * 2 ** Math.min(attempt, 16));
      const delay = Math.round(capped / 2 + Math.random() * (capped / 2));
      options.logger.warn(
        {
          err: error instanceof Error ? error.message : String(error),
          retryInMs: delay,
          attempt: attempt + 1,
        },
        `source connection lost while starting ${options.what}; starting it again`,
      );
      await sleep(delay, signal);
      if (signal.aborted) return undefined;
    }
  }
}

/** A failure of a connection that had worked, or, once the source was reached, of connecting. */
function isConnectionLoss(error: unknown, reached: boolean): boolean {
  if (!isConnectionFailure(error)) return false;
  const refused = error instanceof TributaryError && error.code === 'CONNECT_FAILED';
  return !refused || reached;
}
