import { describe, expect, it } from 'vitest';
import { PgTime, PgTimeTz } from '../../../core/values.js';
import { decodeTime, decodeTimeTz } from './time.js';

describe('decodeTime', () => {
  it.each([
    ['00:00:00', 0n],
    ['00:00:00.000001', 1n],
    ['12:34:56.1', 45_296_100_000n],
    ['12:34:56.12', 45_296_120_000n],
    ['12:34:56.123', 45_296_123_000n],
    ['12:34:56.1234', 45_296_123_400n],
    ['12:34:56.12345', 45_296_123_450n],
    ['12:34:56.123456', 45_296_123_456n],
    ['23:59:59.999999', 86_399_999_999n],
    ['24:00:00', 86_400_000_000n],
  ] as const)('%s is %i µs', (text, micros) => {
    const value = decodeTime(text);
    expect(value).toBeInstanceOf(PgTime);
    expect(value.micros).toBe(micros);
  });

  it('rejects malformed text', () => {
    for (const bad of [
      '',
      '1:00:00',
      '24:00:00.000001',
      '24:00:01',
      '25:00:00',
      '12:60:00',
      '12:00:60',
      '12:00:00.',
      '12:00:00.1234567',
      '12:00:00+00',
      '12-00-00',
      '12:00',
    ]) {
      expect(() => decodeTime(bad), bad).toThrow(
        expect.objectContaining({ code: 'DECODE', message: expect.stringContaining('time') }),
      );
    }
  });
});

describe('decodeTimeTz', () => {
  it.each([
    ['12:00:00+05:30', 43_200_000_000n, 19800],
    ['00:00:00-03', 0n, -10800],
    ['00:00:00+00', 0n, 0],
    ['23:59:59.999999+05:53:28', 86_399_999_999n, 21208],
    ['24:00:00-15:59:59', 86_400_000_000n, -57599],
    ['13:14:15.1+15:59', 47_655_100_000n, 57540],
    ['01:02:03.000004-00:00:01', 3_723_000_004n, -1],
  ] as const)('%s', (text, micros, offset) => {
    const value = decodeTimeTz(text);
    expect(value).toBeInstanceOf(PgTimeTz);
    expect(value.micros).toBe(micros);
    expect(value.offsetSeconds).toBe(offset);
  });

  it('rejects malformed text', () => {
    for (const bad of [
      '12:00:00',
      '12:00:00+5',
      '12:00:00+05:3',
      '12:00:00 +05',
      '12:00:00+05:60',
      '12:00:00*05',
    ]) {
      expect(() => decodeTimeTz(bad), bad).toThrow(
        expect.objectContaining({ code: 'DECODE', message: expect.stringContaining('time with time zone') }),
      );
    }
  });
});
