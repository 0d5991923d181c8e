/**
 * A pass over a MessagePack document's headers before @msgpack/msgpack decodes it, so that no
 * length in a malformed message makes the decoder allocate for data that is not there.
 *
 * The library checks a string's, bin's or extension's length against the bytes present before it
 * reads them, but it allocates an array's slots (`new Array(size)`) as soon as it reads the array's
 * header, whatever the rest holds: 90 kB of nested `array 16` headers, each claiming 65,535
 * elements, ran a Node process with an 8 GB heap out of memory. Its `maxArrayLength` cannot help
 * (each of those arrays is small; there are just very many of them). Here every element an array
 * still owes must have at least one byte left to come from, so whatever passes allocates at most
 * one array slot per byte of the message.
 *
 * The pass also rejects what the feed format never uses: maps, the byte 0xc1 (never used by
 * MessagePack), and extension types the format does not define; and a document that is
 * truncated or followed by more bytes. Each step consumes at least one byte, so it ends.
 */
import { TributaryError } from '../core/errors.js';

/**
 * What each head byte from 0xc0 up is followed by: a payload of fixed size (>= 0), a length of
 * 1, 2 or 4 bytes then that many bytes of payload (STR), an element count (ARRAY), an extension
 * (EXT, FIXEXT), or nothing the format allows (REJECT). Fixints, fixstr and fixarray come first.
 */
const STR = -1;
const ARRAY = -2;
const EXT = -3;
const FIXEXT = -4;
const REJECT = -5;
// biome-ignore format: a table, sixteen head bytes a line
const HEADS: readonly number[] = [
  // 0xc0: nil, (never used), false, true, bin 8/16/32, ext 8/16/32, float 32/64, uint 8/16/32/64
  0, REJECT, 0, 0, STR, STR, STR, EXT, EXT, EXT, 4, 8, 1, 2, 4, 8,
  // 0xd0: int 8/16/32/64, fixext 1/2/4/8/16, str 8/16/32, array 16/32, map 16/32
  1, 2, 4, 8, FIXEXT, FIXEXT, FIXEXT, FIXEXT, FIXEXT, STR, STR, STR, ARRAY, ARRAY, REJECT, REJECT,
];
/** The size of the length (or count) field of STR, ARRAY and EXT heads, in the same layout. */
// biome-ignore format: a table, sixteen head bytes a line
const LENGTH_BYTES: readonly number[] = [
  0, 0, 0, 0, 1, 2, 4, 1, 2, 4, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 4, 2, 4, 0, 0,
];

function rejected(problem: string, offset: number): TributaryError {
  return new TributaryError('PROTOCOL', `feed message: ${problem} at byte offset ${offset}`);
}

/**
 * Checks that `bytes[start..]` holds exactly one MessagePack document within the limits above;
 * throws `TributaryError('PROTOCOL')` naming the problem and its byte offset otherwise.
 */
export function checkBounds(
  bytes: Uint8Array,
  start: number,
  isKnownExtension: (type: number) => boolean,
): void {
  const end = bytes.length;
  let pos = start;
  /** Objects still to read: the document itself, then every element announced and not yet read. */
  let owed = 1;
  while (owed > 0) {
    if (pos >= end) throw rejected(`truncated: ${owed} more object(s) expected`, pos);
    const at = pos;
    const head = bytes[pos++]!;
    owed--;
    if (head < 0x80 || head >= 0xe0) continue; // positive or negative fixint
    if (head < 0x90) throw rejected('a map, which the feed format never uses', at);
    let skip = 0; // payload bytes to step over
    let kind: number;
    if (head < 0xa0) {
      kind = ARRAY;
      skip = head - 0x90; // fixarray: the count
    } else if (head < 0xc0) {
      kind = 0;
      skip = head - 0xa0; // fixstr
    } else {
      kind = HEADS[head - 0xc0]!;
      if (kind >= 0) {
        skip = kind;
      } else if (kind === FIXEXT) {
        skip = 1 + (1 << (head - 0xd4)); // type, then 1, 2, 4, 8 or 16 bytes
      } else if (kind === REJECT) {
        throw rejected(
          head === 0xc1
            ? 'the byte 0xc1, which MessagePack never uses'
            : 'a map, which the feed format never uses',
          at,
        );
      } else {
        const size = LENGTH_BYTES[head - 0xc0]!;
        if (end - pos < size) throw rejected(`truncated header of ${hex(head)}`, at);
        for (let i = 0; i < size; i++) skip = skip * 256 + bytes[pos++]!;
        if (kind === EXT) skip += 1; // the type
      }
    }
    if (kind === ARRAY) {
      owed += skip;
    } else {
      if (skip > end - pos) throw rejected(`truncated ${hex(head)} (${skip} bytes announced)`, at);
      if (kind === EXT || kind === FIXEXT) {
        const type = (bytes[pos]! << 24) >> 24; // int 8
        if (!isKnownExtension(type))
          throw rejected(`extension type ${type}, which the feed format lacks`, at);
      }
      pos += skip;
    }
    if (owed > end - pos) {
      throw rejected(`${owed} more object(s) announced but only ${end - pos} byte(s) left`, at);
    }
  }
  if (pos !== end) throw rejected(`${end - pos} byte(s) after the end of the message`, pos);
}

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0')}`;
}
