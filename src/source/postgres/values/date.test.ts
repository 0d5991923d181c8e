import { describe, expect, it } from 'vitest';
import { PgDate } from '../../../core/values.js';
import { decodeDate } from './date.js';

// Days since 1970-01-01 as Postgres computes them: `d - date '1970-01-01'`.
const CASES: readonly (readonly [string, number])[] = [
  ['1970-01-01', 0],
  ['1969-12-31', -1],
  ['2000-02-29', 11016],
  ['0001-01-01', -719162],
  ['0001-12-31 BC', -719163],
  ['0044-03-15 BC', -735160],
  ['4713-11-24 BC', -2440222],
  ['10000-01-01', 2932897],
  ['99999-12-31', 35804721],
  ['5874897-12-31', 2145042905],
  ['2024-12-31', 20088],
  ['1900-03-01', -25508],
];

describe('decodeDate', () => {
  it.each(CASES)('%s is day %i', (text, days) => {
    const value = decodeDate(text);
    expect(value).toBeInstanceOf(PgDate);
    expect(value.days).toBe(days);
  });

  it('round-trips through the core formatter (astronomical years)', () => {
    expect(decodeDate('0001-12-31 BC').toString()).toBe('0000-12-31');
    expect(decodeDate('0044-03-15 BC').toString()).toBe('-0043-03-15');
    expect(decodeDate('10000-01-01').toString()).toBe('+10000-01-01');
  });

  it('decodes ±infinity', () => {
    expect(decodeDate('infinity').days).toBe(Number.POSITIVE_INFINITY);
    expect(decodeDate('-infinity').days).toBe(Number.NEGATIVE_INFINITY);
  });

  it('decodes every day of a leap year and a BC leap year consistently', () => {
    let expected = decodeDate('2024-01-01').days;
    for (let m = 1; m <= 12; m++) {
      const length = new Date(Date.UTC(2024, m, 0)).getUTCDate();
      for (let d = 1; d <= length; d++) {
        const text = `2024-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
        expect(decodeDate(text).days).toBe(expected++);
      }
    }
    // 1 BC (astronomical 0) is a leap year; 5 BC (astronomical -4) too.
    expect(decodeDate('0001-03-01 BC').days - decodeDate('0001-02-28 BC').days).toBe(2);
    expect(decodeDate('0005-02-29 BC').days + 1).toBe(decodeDate('0005-03-01 BC').days);
  });

  it('rejects malformed text', () => {
    for (const bad of [
      '',
      'Infinity',
      '2024-1-01',
      '24-01-01',
      '2024-13-01',
      '2024-00-10',
      '2024-02-30',
      '2023-02-29',
      '0004-02-29 BC',
      '0000-01-01',
      '2024-01-01 ',
      '2024-01-01 AD',
      '2024/01/01',
      '2024-01-01 00:00:00',
    ]) {
      expect(() => decodeDate(bad), bad).toThrow(
        expect.objectContaining({ code: 'DECODE', message: expect.stringContaining('date') }),
      );
    }
  });
});
