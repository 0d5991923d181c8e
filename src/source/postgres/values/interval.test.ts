import { describe, expect, it } from 'vitest';
import { INT64_MAX, INT64_MIN, PgInterval } from '../../../core/values.js';
import { decodeInterval } from './interval.js';

// [text as interval_out prints it, months, days, micros], the fields from Postgres' extract().
const CASES: readonly (readonly [string, number, number, bigint])[] = [
  ['00:00:00', 0, 0, 0n],
  ['1 year 2 mons -3 days +04:05:06.789', 14, -3, 14_706_789_000n],
  ['-00:00:01', 0, 0, -1_000_000n],
  ['178000000 years', 2_136_000_000, 0, 0n],
  ['-178000000 years', -2_136_000_000, 0, 0n],
  ['1 mon', 1, 0, 0n],
  ['1 day', 0, 1, 0n],
  ['1 year', 12, 0, 0n],
  ['-1 years -1 mons', -13, 0, 0n],
  ['2562047788:00:54.775807', 0, 0, 9_223_372_036_854_775_807n],
  ['-2562047788:00:54.775808', 0, 0, -9_223_372_036_854_775_808n],
  ['11 mons 1 day -00:00:00.000001', 11, 1, -1n],
  ['-1 days +01:00:00', 0, -1, 3_600_000_000n],
  ['1 year 6 mons', 18, 0, 0n],
  ['100000:00:00', 0, 0, 360_000_000_000_000n],
  ['00:00:00.000001', 0, 0, 1n],
  ['-5 days', 0, -5, 0n],
  ['-1 years +2 mons -3 days +00:00:00.5', -10, -3, 500_000n],
  ['2147483647 days', 0, 2_147_483_647, 0n],
  ['-2147483648 days', 0, -2_147_483_648, 0n],
  ['178956970 years 7 mons', 2_147_483_647, 0, 0n],
  ['-178956970 years -8 mons', -2_147_483_648, 0, 0n],
  ['1999999:59:59.999999', 0, 0, 7_199_999_999_999_999n],
  ['2000000:00:00', 0, 0, 7_200_000_000_000_000n],
  ['-12:34:56.123', 0, 0, -45_296_123_000n],
];

describe('decodeInterval', () => {
  it.each(CASES)('%s', (text, months, days, micros) => {
    const value = decodeInterval(text);
    expect(value).toBeInstanceOf(PgInterval);
    expect(value.months).toBe(months);
    expect(value.days).toBe(days);
    expect(value.micros).toBe(micros);
  });

  it('decodes PG17+ ±infinity to the extreme field values', () => {
    const inf = decodeInterval('infinity');
    expect([inf.months, inf.days, inf.micros]).toEqual([2_147_483_647, 2_147_483_647, INT64_MAX]);
    const negInf = decodeInterval('-infinity');
    expect([negInf.months, negInf.days, negInf.micros]).toEqual([-2_147_483_648, -2_147_483_648, INT64_MIN]);
  });

  it('rejects malformed text and other interval styles', () => {
    for (const bad of [
      '',
      ' ',
      '1',
      '1 years',
      '2 year',
      '1 mon ',
      '1 week',
      '1 hour',
      '@ 1 day',
      'P1Y2M',
      '1-2',
      '1:2:3',
      '01:02',
      '01:60:00',
      '01:00:60',
      '01:00:00.1234567',
      '01:00:00 1 day',
      '1 day  01:00:00',
      '2147483648 days',
      '178956971 years',
      '9999999999:00:00',
      'Infinity',
    ]) {
      expect(() => decodeInterval(bad), bad).toThrow(
        expect.objectContaining({ code: 'DECODE', message: expect.stringContaining('interval') }),
      );
    }
  });
});
