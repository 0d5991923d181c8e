import { describe, expect, it } from 'vitest';
import { Decimal } from '../../../core/values.js';
import { decodeNumeric } from './numeric.js';

describe('decodeNumeric', () => {
  it('keeps the exact text, scale and trailing zeros included', () => {
    for (const text of ['0', '-12.3400', '1.50', '0.000', '0.00000000000000000001', '-0.5', '42']) {
      const value = decodeNumeric(text);
      expect(value).toBeInstanceOf(Decimal);
      expect(value.text).toBe(text);
      expect(value.isFinite()).toBe(true);
    }
  });

  it('keeps NaN and ±Infinity', () => {
    for (const text of ['NaN', 'Infinity', '-Infinity']) {
      const value = decodeNumeric(text);
      expect(value.text).toBe(text);
      expect(value.isFinite()).toBe(false);
    }
  });

  it('keeps 1000-digit values and values with a large scale exactly', () => {
    const digits = '1234567890'.repeat(100);
    expect(decodeNumeric(digits).text).toBe(digits);
    expect(decodeNumeric(`-${digits}.${digits}`).text).toBe(`-${digits}.${digits}`);
    const tiny = `0.${'0'.repeat(16382)}1`;
    expect(decodeNumeric(tiny).text).toBe(tiny);
    expect(decodeNumeric(`${'9'.repeat(131072)}`).text).toHaveLength(131072);
  });

  it('rejects text numeric_out never prints', () => {
    for (const bad of [
      '',
      '-',
      '.5',
      '5.',
      '1e5',
      '+1',
      '1.2.3',
      ' 1',
      '1 ',
      'nan',
      'inf',
      '1,5',
      '--1',
      '-NaN',
    ]) {
      expect(() => decodeNumeric(bad), bad).toThrow(
        expect.objectContaining({ code: 'DECODE', message: expect.stringContaining('numeric') }),
      );
    }
  });
});
