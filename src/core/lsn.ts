/**
 * Log sequence numbers. Inside Tributary an LSN is a `bigint`; it becomes the `X/Y` text form
 * only at the edges (SQL, logs, JSON). Never compare LSNs as strings.
 */
import { TributaryError } from './errors.js';

export type Lsn = bigint;

export const LSN_ZERO: Lsn = 0n;
const MAX_LSN = 0xffff_ffff_ffff_ffffn;

const LSN_TEXT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

export function parseLsn(text: string): Lsn {
  const match = LSN_TEXT.exec(text.trim());
  if (!match)
    throw new TributaryError('USAGE', `not an LSN: ${JSON.stringify(text)} (expected the form 16/B374D848)`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

export function formatLsn(lsn: Lsn): string {
  if (lsn < 0n || lsn > MAX_LSN) throw new RangeError(`LSN out of range: ${lsn}`);
  const high = Number(lsn >> 32n);
  const low = Number(lsn & 0xffff_ffffn);
  return `${high.toString(16).toUpperCase()}/${low.toString(16).toUpperCase()}`;
}

export function maxLsn(a: Lsn, b: Lsn): Lsn {
  return a > b ? a : b;
}
