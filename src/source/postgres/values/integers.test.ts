import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../../../core/errors.js';
import {
  decodeCid,
  decodeInt2,
  decodeInt4,
  decodeInt8,
  decodeOid,
  decodeXid,
  decodeXid8,
} from './integers.js';

function expectDecodeError(fn: () => unknown, typeName: string): void {
  try {
    fn();
  } catch (error) {
    expect(isTributaryError(error, 'DECODE')).toBe(true);
    expect((error as Error).message).toContain(typeName);
    return;
  }
  expect.fail('expected a DECODE error');
}

describe('integer decoders', () => {
  it('decodes smallint over its whole range', () => {
    expect(decodeInt2('0')).toBe(0);
    expect(Object.is(decodeInt2('0'), 0)).toBe(true);
    expect(decodeInt2('-32768')).toBe(-32768);
    expect(decodeInt2('32767')).toBe(32767);
    expect(decodeInt2('-1')).toBe(-1);
  });

  it('decodes integer, oid, xid and cid at their limits', () => {
    expect(decodeInt4('-2147483648')).toBe(-2147483648);
    expect(decodeInt4('2147483647')).toBe(2147483647);
    expect(decodeOid('4294967295')).toBe(4294967295);
    expect(decodeOid('0')).toBe(0);
    expect(decodeXid('4294967295')).toBe(4294967295);
    expect(decodeXid('3')).toBe(3);
    expect(decodeCid('12')).toBe(12);
  });

  it('decodes bigint exactly, beyond 2^53', () => {
    expect(decodeInt8('-9223372036854775808')).toBe(-9223372036854775808n);
    expect(decodeInt8('9223372036854775807')).toBe(9223372036854775807n);
    expect(decodeInt8('9007199254740993')).toBe(9007199254740993n);
    expect(decodeInt8('-9007199254740993')).toBe(-9007199254740993n);
    expect(decodeInt8('999999999999999')).toBe(999999999999999n);
    expect(decodeInt8('-999999999999999')).toBe(-999999999999999n);
    expect(decodeInt8('0')).toBe(0n);
    expect(decodeInt8('-1')).toBe(-1n);
    expect(decodeXid8('18446744073709551615')).toBe(18446744073709551615n);
  });

  it('rejects malformed text and out-of-range values', () => {
    for (const bad of ['', '-', '1.0', ' 1', '1 ', '0x10', '1e3', '+-1', 'NaN', '32768', '-32769']) {
      expectDecodeError(() => decodeInt2(bad), 'smallint');
    }
    for (const bad of ['2147483648', '-2147483649', '99999999999', 'abc']) {
      expectDecodeError(() => decodeInt4(bad), 'integer');
    }
    expectDecodeError(() => decodeOid('-1'), 'oid');
    expectDecodeError(() => decodeOid('4294967296'), 'oid');
    for (const bad of ['9223372036854775808', '-9223372036854775809', '', '12a', '1.5', ' 1', '0x1f']) {
      expectDecodeError(() => decodeInt8(bad), 'bigint');
    }
    expectDecodeError(() => decodeXid8('-1'), 'xid8');
    expectDecodeError(() => decodeXid8('18446744073709551616'), 'xid8');
  });

  it('shows the offending text, truncated, in the error', () => {
    const long = `1${'x'.repeat(500)}`;
    try {
      decodeInt4(long);
      expect.fail('expected an error');
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain('integer');
      expect(message).toContain('1xxxx');
      expect(message.length).toBeLessThan(250);
    }
  });
});
