/**
 * Integer types. smallint, integer, oid, xid and cid decode to `number`; bigint and xid8 decode
 * to `bigint`. Postgres prints them as an optional '-' and decimal digits; anything else, or a
 * value outside the type's range, is a DECODE error.
 */
import { decodeError } from './decode-error.js';

function decodeSmallInt(text: string, typeName: string, min: number, max: number): number {
  const len = text.length;
  const negative = len > 0 && text.charCodeAt(0) === 45;
  let i = negative ? 1 : 0;
  if (i === len || len - i > 10) throw decodeError(typeName, text);
  let n = 0;
  for (; i < len; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) throw decodeError(typeName, text);
    n = n * 10 + d;
  }
  if (negative) n = 0 - n;
  if (n < min || n > max) throw decodeError(typeName, text, 'out of range');
  return n;
}

export function decodeInt2(text: string): number {
  return decodeSmallInt(text, 'smallint', -32_768, 32_767);
}

export function decodeInt4(text: string): number {
  return decodeSmallInt(text, 'integer', -2_147_483_648, 2_147_483_647);
}

export function decodeOid(text: string): number {
  return decodeSmallInt(text, 'oid', 0, 4_294_967_295);
}

export function decodeXid(text: string): number {
  return decodeSmallInt(text, 'xid', 0, 4_294_967_295);
}

export function decodeCid(text: string): number {
  return decodeSmallInt(text, 'cid', 0, 4_294_967_295);
}

const INT8_MIN = -(2n ** 63n);
const INT8_MAX = 2n ** 63n - 1n;

function decodeBigInt(text: string, typeName: string, min: bigint, max: bigint): bigint {
  const len = text.length;
  const negative = len > 0 && text.charCodeAt(0) === 45;
  const start = negative ? 1 : 0;
  const digits = len - start;
  if (digits === 0 || digits > 20 || (negative && min === 0n)) throw decodeError(typeName, text);
  let n = 0;
  for (let i = start; i < len; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) throw decodeError(typeName, text);
    n = n * 10 + d;
  }
  // Up to 15 digits the double is exact, and BigInt(number) is cheaper than parsing twice.
  if (digits <= 15) return BigInt(negative ? 0 - n : n);
  const value = BigInt(text);
  if (value < min || value > max) throw decodeError(typeName, text, 'out of range');
  return value;
}

export function decodeInt8(text: string): bigint {
  return decodeBigInt(text, 'bigint', INT8_MIN, INT8_MAX);
}

export function decodeXid8(text: string): bigint {
  return decodeBigInt(text, 'xid8', 0n, 2n ** 64n - 1n);
}
