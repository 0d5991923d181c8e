/**
 * bytea decodes to a `Uint8Array` (a Node Buffer, not from the shared pool). Under bytea_output=hex Postgres prints '\x'
 * followed by two hex digits per byte; that is the fast path. The escape format (printable ASCII
 * as itself, '\\' for a backslash, '\ooo' octal for any other byte) is read too, so a session
 * without the setting still decodes exactly. Odd-length or non-hex text is a DECODE error.
 */
import { decodeError } from './decode-error.js';

export function decodeBytea(text: string): Uint8Array {
  if (text.length >= 2 && text.charCodeAt(0) === 92 && text.charCodeAt(1) === 120) {
    const hexLength = text.length - 2;
    if (hexLength % 2 !== 0) throw decodeError('bytea', text, 'odd number of hex digits');
    // Unpooled, so the value owns its whole ArrayBuffer. write() stops at the first non-hex pair.
    const bytes = Buffer.allocUnsafeSlow(hexLength / 2);
    if (bytes.write(text.slice(2), 'hex') * 2 !== hexLength) throw decodeError('bytea', text, 'not hex');
    return bytes;
  }
  return decodeEscapeFormat(text);
}

function decodeEscapeFormat(text: string): Uint8Array {
  const len = text.length;
  const out = new Uint8Array(len);
  let n = 0;
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) throw decodeError('bytea', text, 'not ASCII');
    if (c !== 92) {
      out[n++] = c;
      continue;
    }
    if (text.charCodeAt(i + 1) === 92) {
      out[n++] = 92;
      i++;
      continue;
    }
    const a = text.charCodeAt(i + 1) - 48;
    const b = text.charCodeAt(i + 2) - 48;
    const d = text.charCodeAt(i + 3) - 48;
    if (!(a >= 0 && a <= 3 && b >= 0 && b <= 7 && d >= 0 && d <= 7)) {
      throw decodeError('bytea', text, 'bad escape');
    }
    out[n++] = (a << 6) | (b << 3) | d;
    i += 3;
  }
  const bytes = Buffer.allocUnsafeSlow(n);
  bytes.set(out.subarray(0, n));
  return bytes;
}
