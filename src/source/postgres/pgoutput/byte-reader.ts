/**
 * A bounds-checked cursor over one protocol message, big-endian as Postgres sends it.
 *
 * Contract: every read first checks that the bytes it needs are there; a read past the end, a
 * negative length or a missing NUL terminator throws `TributaryError('PROTOCOL')` naming the
 * field, the byte offset and the message (`context`, e.g. "Insert ('I')"). Nothing here throws
 * anything else, and nothing allocates more than the bytes actually present. `bytes()` returns
 * a copy, so what a decoder returns never aliases its input (replication clients reuse their
 * receive buffers); strings are decoded as UTF-8 (invalid sequences become U+FFFD, as
 * `Buffer#toString` does).
 */
import { TributaryError } from '../../../core/errors.js';

const SHORT_STRING = 8;

export class ByteReader {
  readonly buf: Buffer;
  readonly end: number;
  pos = 0;
  /** Which message is being read, for error messages; set once the tag is known. */
  context = 'message';

  constructor(bytes: Uint8Array) {
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.end = this.buf.length;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Throws the PROTOCOL error for a problem found at `offset` (default: the cursor). */
  fail(problem: string, offset: number = this.pos): never {
    throw new TributaryError('PROTOCOL', `pgoutput ${this.context}: ${problem} at byte offset ${offset}`);
  }

  #need(count: number, field: string): void {
    if (this.end - this.pos < count)
      this.fail(`truncated: ${field} needs ${count} byte(s) but only ${this.end - this.pos} remain`);
  }

  u8(field: string): number {
    this.#need(1, field);
    return this.buf[this.pos++]!;
  }

  u16(field: string): number {
    this.#need(2, field);
    const value = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return value;
  }

  u32(field: string): number {
    this.#need(4, field);
    const value = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return value;
  }

  i32(field: string): number {
    this.#need(4, field);
    const value = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return value;
  }

  /** An unsigned 64-bit value (LSNs). */
  u64(field: string): bigint {
    this.#need(8, field);
    const value = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return value;
  }

  /** A signed 64-bit value (timestamps). */
  i64(field: string): bigint {
    this.#need(8, field);
    const value = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return value;
  }

  /** An Int32 length that must be ≥ 0 and fit in the remaining bytes; the cursor moves past it. */
  length(field: string): number {
    const at = this.pos;
    const length = this.i32(`length of ${field}`);
    if (length < 0) this.fail(`negative length ${length} for ${field}`, at);
    if (length > this.end - this.pos)
      this.fail(`length ${length} of ${field} exceeds the ${this.end - this.pos} byte(s) remaining`, at);
    return length;
  }

  /** A NUL-terminated UTF-8 string. */
  cstring(field: string): string {
    const start = this.pos;
    const nul = start < this.end ? this.buf.indexOf(0, start) : -1;
    if (nul < 0) this.fail(`unterminated string for ${field}`);
    this.pos = nul + 1;
    return this.#text(start, nul);
  }

  /** `length` bytes as UTF-8 text; the caller has checked `length` (see `length()`). */
  utf8(length: number): string {
    const start = this.pos;
    this.pos = start + length;
    return this.#text(start, this.pos);
  }

  /**
   * Short ASCII strings (most numbers, dates, flags) are built in JS: several times faster than
   * a call into the native UTF-8 decoder, which everything else goes through.
   */
  #text(start: number, end: number): string {
    const buf = this.buf;
    if (end - start <= SHORT_STRING) {
      let text = '';
      for (let i = start; i < end; i++) {
        const byte = buf[i]!;
        if (byte >= 0x80) return buf.toString('utf8', start, end);
        text += String.fromCharCode(byte);
      }
      return text;
    }
    return buf.toString('utf8', start, end);
  }

  /** A copy of the next `length` bytes; the caller has checked `length`. */
  bytes(length: number): Uint8Array {
    const start = this.pos;
    this.pos = start + length;
    const copy = new Uint8Array(length);
    copy.set(this.buf.subarray(start, this.pos));
    return copy;
  }

  /** Fails unless every byte has been consumed. */
  expectEnd(): void {
    if (this.pos !== this.end) this.fail(`${this.end - this.pos} unexpected trailing byte(s)`);
  }
}
