/**
 * real and double precision decode to `number`, with 'NaN', 'Infinity' and '-Infinity' kept and
 * '-0' staying negative zero. Under extra_float_digits=3 Postgres prints the shortest text that
 * reads back to the same binary value, so `Number(text)` recovers a double exactly. For real the
 * result is the single-precision value the text denotes, i.e. exactly the float4 Postgres holds
 * (what `col::float8` gives): '0.1' decodes to 0.10000000149011612.
 *
 * Rounding the text to double and then to single could round twice wrongly when the double lands
 * exactly halfway between two floats; that case is detected (cheaply: the other neighbour is
 * 2n - f) and settled by comparing the decimal text with the halfway point exactly, in bigints.
 */
import { decodeError } from './decode-error.js';

function decodeFloat(text: string, typeName: string): number {
  const len = text.length;
  if (len === 0) throw decodeError(typeName, text);
  // Number() also takes whitespace, hex, binary, octal and '+Infinity'; Postgres prints none.
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i);
    // digits, '+', '-', '.', 'e', 'E'
    if (!((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46 || c === 101 || c === 69)) {
      if (text === 'NaN') return Number.NaN;
      if (text === 'Infinity') return Number.POSITIVE_INFINITY;
      if (text === '-Infinity') return Number.NEGATIVE_INFINITY;
      throw decodeError(typeName, text);
    }
  }
  const n = Number(text);
  if (!Number.isFinite(n)) throw decodeError(typeName, text);
  return n;
}

export function decodeFloat8(text: string): number {
  return decodeFloat(text, 'double precision');
}

export function decodeFloat4(text: string): number {
  const n = decodeFloat(text, 'real');
  const f = Math.fround(n);
  if (f === n || Number.isNaN(f)) return f;
  // n lies between f and another float32; if that one is exactly as far away, n is a tie.
  const g = 2 * n - f;
  if (Math.fround(g) !== g || Math.abs(f) === Number.POSITIVE_INFINITY) return f;
  const side = compareDecimalWithDouble(text, n);
  if (side === 0) return f;
  const larger = Math.abs(f) > Math.abs(g) ? f : g;
  const smaller = larger === f ? g : f;
  return side > 0 ? larger : smaller;
}

/** Sign of |decimal text| - |n|, computed exactly; n is a normal, nonzero double. */
function compareDecimalWithDouble(text: string, n: number): number {
  const e = text.search(/[eE]/);
  const mantissa = e < 0 ? text : text.slice(0, e);
  const exponent = e < 0 ? 0 : Number(text.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = mantissa.replace('-', '').replace('.', '');
  const q = exponent - (dot < 0 ? 0 : mantissa.length - dot - 1);
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, n);
  const bits = view.getBigUint64(0);
  const m = (bits & 0xf_ffff_ffff_ffffn) | 0x10_0000_0000_0000n;
  const k = Number((bits >> 52n) & 0x7ffn) - 1075;
  let left = BigInt(digits);
  let right = m;
  if (q >= 0) left *= 10n ** BigInt(q);
  else right *= 10n ** BigInt(-q);
  if (k >= 0) right <<= BigInt(k);
  else left <<= BigInt(-k);
  return left > right ? 1 : left < right ? -1 : 0;
}
