/** Runs a long job until SIGINT or SIGTERM, which abort it so it can finish cleanly. */
import { TributaryError } from '../core/errors.js';

export async function runUntilSignal(job: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await job(controller.signal);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `30s`, `5m`, `1h` → milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!match)
    throw new TributaryError('USAGE', `not a duration: ${JSON.stringify(text)}`, {
      hint: 'use e.g. 500ms, 30s, 5m or 1h',
    });
  return Math.round(Number(match[1]) * UNITS[match[2]!]!);
}
