/**
 * date decodes to `PgDate` (days since 1970-01-01, proleptic Gregorian; ±Infinity for
 * 'infinity' / '-infinity'). Under DateStyle=ISO Postgres prints 'YYYY-MM-DD', with more year
 * digits after 9999 ('5874897-12-31') and ' BC' appended before year 1 ('4714-11-24 BC' is
 * astronomical year -4713). The date part is read by index arithmetic; `daysAt` is shared with
 * the timestamp decoders, whose text starts with the same date part.
 */
import { daysFromCivil, PgDate } from '../../../core/values.js';
import { decodeError } from './decode-error.js';
import { digitsAt, endOfDigits } from './scan.js';

const MONTH_DAYS = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeap(year: number): boolean {
  return (year & 3) === 0 && (year % 100 !== 0 || year % 400 === 0);
}

/** Whether text ends with ' BC' (Postgres' marker for years before 1). */
export function endsWithBc(text: string): boolean {
  const n = text.length;
  return (
    n > 3 && text.charCodeAt(n - 1) === 67 && text.charCodeAt(n - 2) === 66 && text.charCodeAt(n - 3) === 32
  );
}

/**
 * Days since 1970-01-01 of the 'Y...Y-MM-DD' at the start of text, whose year digits end at
 * `yearEnd` (the date part then ends at yearEnd + 6). `bc` turns year y into astronomical 1 - y.
 */
export function daysAt(text: string, yearEnd: number, bc: boolean, typeName: string): number {
  if (yearEnd < 4 || yearEnd > 9) throw decodeError(typeName, text);
  const y = digitsAt(text, 0, yearEnd);
  const month = digitsAt(text, yearEnd + 1, yearEnd + 3);
  const day = digitsAt(text, yearEnd + 4, yearEnd + 6);
  if (
    text.charCodeAt(yearEnd) !== 45 ||
    text.charCodeAt(yearEnd + 3) !== 45 ||
    y < 1 ||
    month < 1 ||
    month > 12 ||
    day < 1
  ) {
    throw decodeError(typeName, text);
  }
  const year = bc ? 1 - y : y;
  if (day > MONTH_DAYS[month]! || (month === 2 && day === 29 && !isLeap(year))) {
    throw decodeError(typeName, text, 'no such day');
  }
  return daysFromCivil(year, month, day);
}

export function decodeDate(text: string): PgDate {
  const yearEnd = endOfDigits(text, 0);
  if (yearEnd === 0) {
    if (text === 'infinity') return new PgDate(Number.POSITIVE_INFINITY);
    if (text === '-infinity') return new PgDate(Number.NEGATIVE_INFINITY);
    throw decodeError('date', text);
  }
  const bc = endsWithBc(text);
  if (text.length !== yearEnd + (bc ? 9 : 6)) throw decodeError('date', text);
  return new PgDate(daysAt(text, yearEnd, bc, 'date'));
}
