/**
 * timestamp decodes to `PgTimestamp` and timestamptz to `PgTimestampTz`: microseconds since
 * 1970-01-01 00:00:00 (for timestamptz, UTC), as a bigint. Under DateStyle=ISO Postgres prints
 * 'Y...Y-MM-DD HH:MM:SS[.ffffff]', timestamptz adds the zone's offset ('+00' under TimeZone=UTC,
 * but any '±HH[:MM[:SS]]' is applied), and ' BC' comes last for years before 1:
 * '4714-11-24 00:00:00+00 BC'. 'infinity' / '-infinity' become INFINITY_MICROS /
 * NEG_INFINITY_MICROS. Parsing is index arithmetic on that layout; within ±284 years of 1970
 * the arithmetic is exact in doubles, beyond it bigint takes over.
 *
 * Postgres counts from 2000, so its latest timestamps (294247-01-10 04:00:54.775807 to
 * 294276-12-31 23:59:59.999999) count past int64 from 1970; they decode exactly (bigint), and
 * still below INFINITY_MICROS, which is Postgres' own sentinel moved to 1970.
 */
import { INFINITY_MICROS, NEG_INFINITY_MICROS, PgTimestamp, PgTimestampTz } from '../../../core/values.js';
import { daysAt, endsWithBc } from './date.js';
import { decodeError } from './decode-error.js';
import { endOfDigits } from './scan.js';
import { offsetAt, timeOfDayAt, timeOfDayEnd } from './time.js';

const MICROS_PER_DAY = 86_400_000_000;
const MICROS_PER_DAY_N = 86_400_000_000n;
/** |days| below this keeps days * MICROS_PER_DAY plus a day's micros and an offset under 2^53. */
const EXACT_DAYS = 104_000;

function timestampMicros(text: string, withZone: boolean, typeName: string): bigint {
  const yearEnd = endOfDigits(text, 0);
  if (yearEnd === 0) {
    if (text === 'infinity') return INFINITY_MICROS;
    if (text === '-infinity') return NEG_INFINITY_MICROS;
    throw decodeError(typeName, text);
  }
  const bc = endsWithBc(text);
  const end = bc ? text.length - 3 : text.length;
  const days = daysAt(text, yearEnd, bc, typeName);
  const timeStart = yearEnd + 7;
  if (text.charCodeAt(yearEnd + 6) !== 32) throw decodeError(typeName, text);
  const timeEnd = timeOfDayEnd(text, timeStart);
  if (withZone ? timeEnd >= end : timeEnd !== end) throw decodeError(typeName, text);
  let micros = timeOfDayAt(text, timeStart, timeEnd, typeName);
  if (withZone) micros -= offsetAt(text, timeEnd, end, typeName) * 1_000_000;
  if (days < EXACT_DAYS && days > -EXACT_DAYS) return BigInt(days * MICROS_PER_DAY + micros);
  return BigInt(days) * MICROS_PER_DAY_N + BigInt(micros);
}

export function decodeTimestamp(text: string): PgTimestamp {
  return new PgTimestamp(timestampMicros(text, false, 'timestamp'));
}

export function decodeTimestampTz(text: string): PgTimestampTz {
  return new PgTimestampTz(timestampMicros(text, true, 'timestamp with time zone'));
}
