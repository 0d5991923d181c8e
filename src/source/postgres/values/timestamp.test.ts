import { describe, expect, it } from 'vitest';
import { INFINITY_MICROS, NEG_INFINITY_MICROS, PgTimestamp, PgTimestampTz } from '../../../core/values.js';
import { decodeTimestamp, decodeTimestampTz } from './timestamp.js';

/** Postgres' own timestamp limit (294277-01-01, its END_TIMESTAMP) in µs since 2000, rebased on 1970. */
const LAST_TIMESTAMP = 9_223_371_331_200_000_000n - 1n + 946_684_800_000_000n;

// µs since 1970 as Postgres computes them (extract(epoch ...) * 1e6).
const TIMESTAMPS: readonly (readonly [string, bigint])[] = [
  ['1970-01-01 00:00:00', 0n],
  ['1970-01-01 00:00:00.000001', 1n],
  ['1969-12-31 23:59:59.999999', -1n],
  ['2024-02-29 12:34:56.5', 1_709_210_096_500_000n],
  ['2000-01-01 00:00:00.12', 946_684_800_120_000n],
  ['0044-03-15 12:00:00 BC', -63_517_780_800_000_000n],
  ['4713-11-24 00:00:00 BC', -210_835_180_800_000_000n],
  ['10000-01-01 00:00:00', 253_402_300_800_000_000n],
  ['294276-12-31 23:59:59.999999', LAST_TIMESTAMP],
];

describe('decodeTimestamp', () => {
  it.each(TIMESTAMPS)('%s', (text, micros) => {
    const value = decodeTimestamp(text);
    expect(value).toBeInstanceOf(PgTimestamp);
    expect(value.micros).toBe(micros);
  });

  it('decodes ±infinity to the int64 sentinels', () => {
    expect(decodeTimestamp('infinity').micros).toBe(INFINITY_MICROS);
    expect(decodeTimestamp('-infinity').micros).toBe(NEG_INFINITY_MICROS);
  });

  it('agrees with the calendar over a range of instants, at every fraction width', () => {
    for (let i = 0; i < 2000; i++) {
      const ms = Math.round((i / 2000 - 0.5) * 2 * 8.64e15 * 0.9);
      const micros = BigInt(ms) * 1000n + BigInt(i % 1000);
      const iso = new Date(ms).toISOString(); // ±YYYYYY-MM-DDTHH:MM:SS.sssZ or YYYY-...
      const year = new Date(ms).getUTCFullYear();
      const fraction = `${iso.slice(-4, -1)}${String(i % 1000).padStart(3, '0')}`.replace(/0+$/, '');
      const body = `${iso.slice(iso.indexOf('-', 1) + 1, iso.indexOf('T'))} ${iso.slice(iso.indexOf('T') + 1, iso.indexOf('T') + 9)}`;
      const yearText = String(year > 0 ? year : 1 - year).padStart(4, '0');
      const text = `${yearText}-${body}${fraction ? `.${fraction}` : ''}${year > 0 ? '' : ' BC'}`;
      expect(decodeTimestamp(text).micros, text).toBe(micros);
      expect(decodeTimestampTz(`${text.replace(' BC', '')}+00${year > 0 ? '' : ' BC'}`).micros, text).toBe(
        micros,
      );
    }
  });

  it('rejects malformed text', () => {
    for (const bad of [
      '',
      'Infinity',
      '2024-01-01',
      '2024-01-01T00:00:00',
      '2024-01-01 00:00:00+00',
      '2024-01-01 00:00',
      '2024-01-01 00:00:00.1234567',
      '2024-02-30 00:00:00',
      '2024-01-01 00:00:00 AD',
      '2024-01-01  00:00:00',
    ]) {
      expect(() => decodeTimestamp(bad), bad).toThrow(
        expect.objectContaining({ code: 'DECODE', message: expect.stringContaining('timestamp') }),
      );
    }
  });
});

describe('decodeTimestampTz', () => {
  it.each([
    ['1970-01-01 00:00:00+00', 0n],
    ['2024-03-10 08:23:28+00', 1_710_059_008_000_000n],
    ['2024-03-10 02:30:00-05:53:28', 1_710_059_008_000_000n],
    ['1970-01-01 05:30:00+05:30', 0n],
    ['1970-01-01 00:00:00.000001+00', 1n],
    ['0044-03-15 15:00:00+00 BC', -63_517_770_000_000_000n],
    ['0044-03-15 12:00:00-03 BC', -63_517_770_000_000_000n],
    ['4713-11-24 00:00:00+00 BC', -210_835_180_800_000_000n],
    ['294276-12-31 23:59:59.999999+00', LAST_TIMESTAMP],
    ['2000-01-01 00:00:00+15:59:59', 946_684_800_000_000n - 57_599_000_000n],
  ] as const)('%s', (text, micros) => {
    const value = decodeTimestampTz(text);
    expect(value).toBeInstanceOf(PgTimestampTz);
    expect(value.micros).toBe(micros);
  });

  it('decodes ±infinity to the int64 sentinels', () => {
    expect(decodeTimestampTz('infinity').micros).toBe(INFINITY_MICROS);
    expect(decodeTimestampTz('-infinity').micros).toBe(NEG_INFINITY_MICROS);
  });

  it('formats back as UTC', () => {
    expect(decodeTimestampTz('2024-03-10 02:30:00.25-05:53:28').toString()).toBe(
      '2024-03-10T08:23:28.250000Z',
    );
  });

  it('rejects malformed text', () => {
    for (const bad of [
      '2024-01-01 00:00:00',
      '2024-01-01 00:00:00 BC',
      '2024-01-01 00:00:00+0',
      '2024-01-01 00:00:00+00 AD',
      '2024-01-01 00:00:00 +00',
      '2024-01-01 00:00:00Z',
    ]) {
      expect(() => decodeTimestampTz(bad), bad).toThrow(
        expect.objectContaining({
          code: 'DECODE',
          message: expect.stringContaining('timestamp with time zone'),
        }),
      );
    }
  });
});

describe('the int64 edge of µs since 1970', () => {
  it('decodes finite instants past int64 µs exactly, and keeps them apart from infinity', () => {
    const edge = decodeTimestamp('294247-01-10 04:00:54.775807').micros;
    expect(edge).toBe(2n ** 63n - 1n);
    expect(decodeTimestamp('294247-01-10 04:00:54.775808').micros).toBe(2n ** 63n);
    const last = decodeTimestampTz('294276-12-31 23:59:59.999999+00').micros;
    expect(last).toBeLessThan(INFINITY_MICROS);
    expect(new PgTimestamp(edge).toJSON()).not.toBe('infinity');
    expect(decodeTimestamp('4714-11-24 00:00:00 BC').micros).toBeGreaterThan(NEG_INFINITY_MICROS);
  });
});
