/**
 * A change's place in the stream: the commit LSN of its transaction and its index inside that
 * transaction (DESIGN.md, "Position"). Positions are totally ordered and strictly increasing
 * along the stream; dedup, checkpoints and replays compare them with `comparePositions`.
 */
import { TributaryError } from './errors.js';
import { formatLsn, type Lsn, parseLsn } from './lsn.js';

export interface Position {
  readonly commitLsn: Lsn;
  readonly ordinal: number;
}

export const POSITION_ZERO: Position = Object.freeze({ commitLsn: 0n, ordinal: -1 });

export function position(commitLsn: Lsn, ordinal: number): Position {
  return { commitLsn, ordinal };
}

export function comparePositions(a: Position, b: Position): number {
  if (a.commitLsn !== b.commitLsn) return a.commitLsn < b.commitLsn ? -1 : 1;
  return a.ordinal - b.ordinal;
}

export function isAfter(a: Position, b: Position): boolean {
  return comparePositions(a, b) > 0;
}

/** `16/B374D848#12`: readable, sortable by `comparePositions` after parsing, round-trips. */
export function formatPosition(p: Position): string {
  return `${formatLsn(p.commitLsn)}#${p.ordinal}`;
}

export function parsePosition(text: string): Position {
  const hash = text.indexOf('#');
  if (hash < 0) return { commitLsn: parseLsn(text), ordinal: -1 };
  const ordinal = Number(text.slice(hash + 1));
  if (!Number.isSafeInteger(ordinal) || ordinal < -1) {
    throw new TributaryError('USAGE', `not a position: ${JSON.stringify(text)} (expected LSN#ordinal)`);
  }
  return { commitLsn: parseLsn(text.slice(0, hash)), ordinal };
}
