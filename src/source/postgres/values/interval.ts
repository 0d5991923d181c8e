/**
 * interval decodes to `PgInterval` (months, days, microseconds, each with its own sign, as
 * Postgres stores it). Under IntervalStyle=postgres the text is a space-separated list of
 * '<n> year(s)', '<n> mon(s)', '<n> day(s)' (zero parts omitted, '+' before a positive part
 * that follows a negative one), then the time part '[±]H...H:MM:SS[.ffffff]' when it is nonzero
 * or nothing else is: '1 year 2 mons -3 days +04:05:06.789', '-00:00:01', '00:00:00'.
 * Years and months fold into months (years * 12 + months). PG17+ 'infinity' / '-infinity'
 * become the values Postgres uses internally: every field at its int32 / int64 extreme.
 */
import { INT64_MAX, INT64_MIN, PgInterval } from '../../../core/values.js';
import { decodeError } from './decode-error.js';
import { digitsAt, endOfDigits, fractionMicros } from './scan.js';

const INT32_MAX = 2_147_483_647;
const INT32_MIN = -2_147_483_648;
const TYPE = 'interval';

export const INTERVAL_INFINITY = new PgInterval(INT32_MAX, INT32_MAX, INT64_MAX);
export const INTERVAL_NEG_INFINITY = new PgInterval(INT32_MIN, INT32_MIN, INT64_MIN);

export function decodeInterval(text: string): PgInterval {
  const len = text.length;
  let months = 0;
  let days = 0;
  let i = 0;
  while (i < len) {
    if (i > 0) {
      if (text.charCodeAt(i) !== 32) throw decodeError(TYPE, text);
      i++;
    }
    const sign = text.charCodeAt(i);
    const negative = sign === 45;
    const digitsStart = negative || sign === 43 ? i + 1 : i;
    const digitsEnd = endOfDigits(text, digitsStart);
    if (digitsEnd === digitsStart) {
      if (text === 'infinity') return INTERVAL_INFINITY;
      if (text === '-infinity') return INTERVAL_NEG_INFINITY;
      throw decodeError(TYPE, text);
    }
    if (text.charCodeAt(digitsEnd) === 58) {
      return checked(text, months, days, timePart(text, negative, digitsStart, digitsEnd));
    }
    if (text.charCodeAt(digitsEnd) !== 32 || digitsEnd - digitsStart > 10) throw decodeError(TYPE, text);
    const magnitude = digitsAt(text, digitsStart, digitsEnd);
    const n = negative ? 0 - magnitude : magnitude;
    const unit = digitsEnd + 1;
    const plural = n === 1 ? 0 : 1;
    if (text.startsWith('year', unit)) {
      months += n * 12;
      i = unit + 4 + plural;
    } else if (text.startsWith('mon', unit)) {
      months += n;
      i = unit + 3 + plural;
    } else if (text.startsWith('day', unit)) {
      days += n;
      i = unit + 3 + plural;
    } else {
      throw decodeError(TYPE, text, 'unknown unit');
    }
    if (plural === 1 && text.charCodeAt(i - 1) !== 115) throw decodeError(TYPE, text);
    if (i > len) throw decodeError(TYPE, text);
  }
  // No time part: only when a year, month or day part was printed.
  if (len === 0) throw decodeError(TYPE, text);
  return checked(text, months, days, 0n);
}

function checked(text: string, months: number, days: number, micros: bigint): PgInterval {
  if (months > INT32_MAX || months < INT32_MIN || days > INT32_MAX || days < INT32_MIN) {
    throw decodeError(TYPE, text, 'out of range');
  }
  return new PgInterval(months, days, micros);
}

/** Signed microseconds of the 'H...H:MM:SS[.ffffff]' whose hours are text[start..hoursEnd). */
function timePart(text: string, negative: boolean, start: number, hoursEnd: number): bigint {
  const m = digitsAt(text, hoursEnd + 1, hoursEnd + 3);
  const s = digitsAt(text, hoursEnd + 4, hoursEnd + 6);
  const fractionEnd = text.charCodeAt(hoursEnd + 6) === 46 ? endOfDigits(text, hoursEnd + 7) : hoursEnd + 6;
  const fraction = fractionEnd === hoursEnd + 6 ? 0 : fractionMicros(text, hoursEnd + 7, fractionEnd);
  if (
    hoursEnd - start < 2 ||
    hoursEnd - start > 10 ||
    text.charCodeAt(hoursEnd + 3) !== 58 ||
    m < 0 ||
    m > 59 ||
    s < 0 ||
    s > 59 ||
    fraction < 0 ||
    fractionEnd !== text.length
  ) {
    throw decodeError(TYPE, text);
  }
  const hours = digitsAt(text, start, hoursEnd);
  const rest = m * 60_000_000 + s * 1_000_000 + fraction;
  // Below 2,000,000 hours the sum stays under 2^53.
  if (hours < 2_000_000) {
    const micros = hours * 3_600_000_000 + rest;
    return BigInt(negative ? 0 - micros : micros);
  }
  const magnitude = BigInt(hours) * 3_600_000_000n + BigInt(rest);
  const micros = negative ? -magnitude : magnitude;
  if (micros > INT64_MAX || micros < INT64_MIN) throw decodeError(TYPE, text, 'out of range');
  return micros;
}
