/**
 * time decodes to `PgTime` (microseconds since midnight; '24:00:00' is 86_400_000_000) and
 * timetz to `PgTimeTz` (the same, plus the UTC offset in seconds east of Greenwich). Postgres
 * prints 'HH:MM:SS', then '.' and 1 to 6 fraction digits when the fraction is nonzero (trailing
 * zeros dropped); timetz appends the offset as '+HH', '+HH:MM' or '+HH:MM:SS' ('-' west).
 * `timeOfDayAt` and `offsetAt` are shared with the timestamp decoders.
 */
import { PgTime, PgTimeTz } from '../../../core/values.js';
import { decodeError } from './decode-error.js';
import { digitsAt, endOfDigits, fractionMicros } from './scan.js';

/** Where the 'HH:MM:SS[.ffffff]' starting at `start` ends. */
export function timeOfDayEnd(text: string, start: number): number {
  return text.charCodeAt(start + 8) === 46 ? endOfDigits(text, start + 9) : start + 8;
}

/** Microseconds since midnight of the 'HH:MM:SS[.ffffff]' at text[start..end). */
export function timeOfDayAt(text: string, start: number, end: number, typeName: string): number {
  const h = digitsAt(text, start, start + 2);
  const m = digitsAt(text, start + 3, start + 5);
  const s = digitsAt(text, start + 6, start + 8);
  const fraction = end === start + 8 ? 0 : fractionMicros(text, start + 9, end);
  if (
    text.charCodeAt(start + 2) !== 58 ||
    text.charCodeAt(start + 5) !== 58 ||
    h < 0 ||
    m < 0 ||
    m > 59 ||
    s < 0 ||
    s > 59 ||
    fraction < 0 ||
    (h > 23 && (h > 24 || m !== 0 || s !== 0 || fraction !== 0))
  ) {
    throw decodeError(typeName, text);
  }
  return h * 3_600_000_000 + m * 60_000_000 + s * 1_000_000 + fraction;
}

/** Seconds east of Greenwich of the '±HH[:MM[:SS]]' at text[start..end). */
export function offsetAt(text: string, start: number, end: number, typeName: string): number {
  const sign = text.charCodeAt(start);
  const width = end - start;
  const h = digitsAt(text, start + 1, start + 3);
  const m = width >= 6 ? digitsAt(text, start + 4, start + 6) : 0;
  const s = width === 9 ? digitsAt(text, start + 7, start + 9) : 0;
  if (
    (sign !== 43 && sign !== 45) ||
    (width !== 3 && width !== 6 && width !== 9) ||
    (width >= 6 && text.charCodeAt(start + 3) !== 58) ||
    (width === 9 && text.charCodeAt(start + 6) !== 58) ||
    h < 0 ||
    m < 0 ||
    m > 59 ||
    s < 0 ||
    s > 59
  ) {
    throw decodeError(typeName, text, 'bad UTC offset');
  }
  const seconds = h * 3600 + m * 60 + s;
  return sign === 45 ? 0 - seconds : seconds;
}

export function decodeTime(text: string): PgTime {
  const end = timeOfDayEnd(text, 0);
  if (end !== text.length) throw decodeError('time', text);
  return new PgTime(BigInt(timeOfDayAt(text, 0, end, 'time')));
}

export function decodeTimeTz(text: string): PgTimeTz {
  const end = timeOfDayEnd(text, 0);
  if (end >= text.length) throw decodeError('time with time zone', text);
  const micros = timeOfDayAt(text, 0, end, 'time with time zone');
  return new PgTimeTz(BigInt(micros), offsetAt(text, end, text.length, 'time with time zone'));
}
