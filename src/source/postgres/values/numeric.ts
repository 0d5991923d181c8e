/**
 * numeric decodes to `Decimal`, which keeps the exact text Postgres printed: an optional '-',
 * digits, and for a nonzero scale '.' and exactly `scale` digits (trailing zeros are part of the
 * value's scale and are kept), or 'NaN', 'Infinity', '-Infinity'. numeric_out never uses an
 * exponent or a '+'; text with either is a DECODE error.
 */
import { Decimal } from '../../../core/values.js';
import { decodeError } from './decode-error.js';

export function decodeNumeric(text: string): Decimal {
  const len = text.length;
  let i = len > 0 && text.charCodeAt(0) === 45 ? 1 : 0;
  const intStart = i;
  while (i < len) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    i++;
  }
  if (i === intStart) {
    if (text === 'NaN' || text === 'Infinity' || text === '-Infinity') return new Decimal(text);
    throw decodeError('numeric', text);
  }
  if (i < len) {
    if (text.charCodeAt(i) !== 46 || i === len - 1) throw decodeError('numeric', text);
    for (i++; i < len; i++) {
      const d = text.charCodeAt(i) - 48;
      if (d < 0 || d > 9) throw decodeError('numeric', text);
    }
  }
  return new Decimal(text);
}
