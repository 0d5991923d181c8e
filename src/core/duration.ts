/** Durations as users write them: `500ms`, `30s`, `5m`, `1h`, `90d`. One pattern for flags and the config file. */
import { TributaryError } from './errors.js';

export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `30s`, `5m`, `1h`, `90d` → milliseconds. */
export function parseDuration(text: string): number {
  const match = DURATION_PATTERN.exec(text.trim());
  if (!match)
    throw new TributaryError('USAGE', `not a duration: ${JSON.stringify(text)}`, {
      hint: 'use e.g. 500ms, 30s, 5m, 1h or 90d',
    });
  return Math.round(Number(match[1]) * UNITS[match[2]!]!);
}
