import { describe, expect, it } from 'vitest';
import { valueToJson } from './event-json.js';
import {
  Decimal,
  INFINITY_MICROS,
  INT64_MAX,
  INT64_MIN,
  NEG_INFINITY_MICROS,
  PgDate,
  PgInterval,
  PgJson,
  PgTimestamp,
  PgTimestampTz,
} from './values.js';

describe('valueToJson', () => {
  it('writes what JSON numbers cannot carry as strings', () => {
    expect(valueToJson(-0)).toBe('-0');
    expect(valueToJson(0)).toBe(0);
    expect(valueToJson(Number.NaN)).toBe('NaN');
    expect(valueToJson(Number.NEGATIVE_INFINITY)).toBe('-Infinity');
    expect(valueToJson(2n ** 63n - 1n)).toBe('9223372036854775807');
    expect(valueToJson(new Decimal('-0.000100'))).toBe('-0.000100');
  });

  it('writes infinities of every temporal type as infinity', () => {
    expect(valueToJson(new PgTimestamp(INFINITY_MICROS))).toBe('infinity');
    expect(valueToJson(new PgTimestampTz(NEG_INFINITY_MICROS))).toBe('-infinity');
    expect(valueToJson(new PgDate(Number.POSITIVE_INFINITY))).toBe('infinity');
    expect(valueToJson(new PgInterval(2_147_483_647, 2_147_483_647, INT64_MAX))).toBe('infinity');
    expect(valueToJson(new PgInterval(-2_147_483_648, -2_147_483_648, INT64_MIN))).toBe('-infinity');
    expect(valueToJson(new PgTimestamp(INT64_MAX))).toBe('+294247-01-10T04:00:54.775807');
  });

  it('keeps bytes, json text and nested arrays', () => {
    expect(valueToJson(Uint8Array.from([0, 255]))).toBe('\\x00ff');
    expect(valueToJson(new PgJson('{"a": 1.0}'))).toBe('{"a": 1.0}');
    expect(
      valueToJson([
        [1, null],
        [-0, 2],
      ]),
    ).toEqual([
      [1, null],
      ['-0', 2],
    ]);
  });
});
