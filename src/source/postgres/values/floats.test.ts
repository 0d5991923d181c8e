import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../../../core/errors.js';
import { decodeFloat4, decodeFloat8 } from './floats.js';

/** The float32 whose bits are these, as a number. */
function float32FromBits(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits);
  return view.getFloat32(0);
}

describe('float decoders', () => {
  it('keeps NaN, ±Infinity and negative zero', () => {
    expect(decodeFloat8('NaN')).toBeNaN();
    expect(decodeFloat8('Infinity')).toBe(Number.POSITIVE_INFINITY);
    expect(decodeFloat8('-Infinity')).toBe(Number.NEGATIVE_INFINITY);
    expect(Object.is(decodeFloat8('-0'), -0)).toBe(true);
    expect(Object.is(decodeFloat8('0'), 0)).toBe(true);
    expect(decodeFloat4('NaN')).toBeNaN();
    expect(decodeFloat4('-Infinity')).toBe(Number.NEGATIVE_INFINITY);
    expect(Object.is(decodeFloat4('-0'), -0)).toBe(true);
  });

  it('reads double precision output (shortest round-trip text) exactly', () => {
    expect(decodeFloat8('0.1')).toBe(0.1);
    expect(decodeFloat8('1.7976931348623157e+308')).toBe(Number.MAX_VALUE);
    expect(decodeFloat8('-1.7976931348623157e+308')).toBe(-Number.MAX_VALUE);
    expect(decodeFloat8('5e-324')).toBe(Number.MIN_VALUE);
    expect(decodeFloat8('2.2250738585072014e-308')).toBe(2.2250738585072014e-308);
    expect(decodeFloat8('2.225073858507201e-308')).toBe(2.225073858507201e-308); // largest subnormal
    expect(decodeFloat8('1e+22')).toBe(1e22);
    expect(decodeFloat8('1.2345678901234568e+20')).toBe(123456789012345680000);
    expect(decodeFloat8('1e-07')).toBe(1e-7);
    expect(decodeFloat8('9007199254740993')).toBe(9007199254740992);
  });

  it('decodes real to the exact single-precision value Postgres holds', () => {
    expect(decodeFloat4('0.1')).toBe(0.10000000149011612);
    expect(decodeFloat4('3.4028235e+38')).toBe(float32FromBits(0x7f7fffff));
    expect(decodeFloat4('1e-45')).toBe(float32FromBits(0x00000001));
    expect(decodeFloat4('1.1754942e-38')).toBe(float32FromBits(0x007fffff)); // largest subnormal
    expect(decodeFloat4('1.1754944e-38')).toBe(float32FromBits(0x00800000));
    expect(decodeFloat4('1.6777216e+07')).toBe(16777216);
    expect(decodeFloat4('1.2345679e+08')).toBe(123456792);
  });

  it('rejects what Postgres never prints', () => {
    for (const bad of [
      '',
      ' ',
      '0x10',
      '1e999',
      'nan',
      'inf',
      '+Infinity',
      '1 ',
      '1,5',
      '--1',
      'Infinityx',
    ]) {
      expect(() => decodeFloat8(bad), bad).toThrow(
        expect.objectContaining({ code: 'DECODE', message: expect.stringContaining('double precision') }),
      );
    }
    try {
      decodeFloat4('abc');
      expect.fail('expected an error');
    } catch (error) {
      expect(isTributaryError(error, 'DECODE')).toBe(true);
      expect((error as Error).message).toContain('real');
    }
  });
});

describe('decodeFloat4 at halfway points', () => {
  // 1 + 2^-24 is halfway between the floats 1 and 1 + 2^-23, and is itself a double.
  const below = 1;
  const above = 1 + 2 ** -23;

  it('rounds text just above or below a halfway point to the right float, not via the double', () => {
    // Both texts read as the double 1 + 2^-24; only the exact decimal tells them apart.
    expect(Number('1.00000005960464477539062501')).toBe(1 + 2 ** -24);
    expect(decodeFloat4('1.00000005960464477539062501')).toBe(above);
    expect(decodeFloat4('1.00000005960464477539062499')).toBe(below);
    expect(decodeFloat4('-1.00000005960464477539062501')).toBe(-above);
    expect(decodeFloat4('100000005960464477539062501e-26')).toBe(above);
  });

  it('breaks an exact tie to even, as Postgres does', () => {
    expect(decodeFloat4('1.000000059604644775390625')).toBe(below);
    expect(decodeFloat4('1.000000178813934326171875')).toBe(1 + 2 * 2 ** -23);
  });

  it('handles the tie between zero and the smallest subnormal', () => {
    const half = 2 ** -150;
    expect(decodeFloat4(`${half}`)).toBe(0);
    expect(
      decodeFloat4(
        '7.00649232162408535461864791644958065640130970938257885878534141944895541342930300743319094181060791015626e-46',
      ),
    ).toBe(2 ** -149);
  });
});
