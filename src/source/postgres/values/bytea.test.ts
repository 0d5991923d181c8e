import { describe, expect, it } from 'vitest';
import { decodeBytea } from './bytea.js';

describe('decodeBytea', () => {
  it('decodes every byte value from hex', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const decoded = decodeBytea(`\\x${all.toString('hex')}`);
    expect(decoded).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(decoded).equals(all)).toBe(true);
  });

  it('decodes the empty value and upper-case hex', () => {
    expect(decodeBytea('\\x')).toHaveLength(0);
    expect([...decodeBytea('\\xDEADbeef')]).toEqual([0xde, 0xad, 0xbe, 0xef]);
  });

  it('decodes a large value', () => {
    const big = Buffer.alloc(1 << 20, 0xab);
    expect(Buffer.from(decodeBytea(`\\x${big.toString('hex')}`)).equals(big)).toBe(true);
  });

  it('also reads the escape format', () => {
    expect([...decodeBytea('abc')]).toEqual([97, 98, 99]);
    expect([...decodeBytea('\\\\')]).toEqual([92]);
    expect([...decodeBytea('\\000\\377a\\\\\\001')]).toEqual([0, 255, 97, 92, 1]);
    expect(decodeBytea('')).toHaveLength(0);
  });

  it('rejects malformed text', () => {
    for (const bad of ['\\x0', '\\x0g', '\\xzz', '\\x 00', '\\', '\\9', '\\400', '\\12', 'é']) {
      expect(() => decodeBytea(bad), bad).toThrow(
        expect.objectContaining({ code: 'DECODE', message: expect.stringContaining('bytea') }),
      );
    }
  });
});

describe('decodeBytea buffers', () => {
  it('gives each value its own ArrayBuffer, not a slice of a shared pool', () => {
    for (const text of ['\\x0102', 'ab']) {
      const value = decodeBytea(text);
      expect(value.byteOffset).toBe(0);
      expect(value.buffer.byteLength).toBe(value.length);
    }
  });
});
