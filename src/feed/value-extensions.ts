/**
 * How the feed codec (codec.ts) carries Tributary's values through MessagePack, exactly.
 * Strings, booleans, null, `Uint8Array` (bin) and arrays are MessagePack's own; `bigint` is
 * MessagePack's int 64 / uint 64 (`useBigInt64`: those two formats always decode as bigint, and a
 * `number` is never written in them, so the two types stay apart). The rest are extension types:
 *
 * | ext | value                               | payload                                          |
 * |-----|-------------------------------------|--------------------------------------------------|
 * | 0   | the number -0                       | empty (the encoder would write it as integer 0)  |
 * | 1   | bigint beyond int64 and uint64      | integer                                          |
 * | 2   | `Decimal`                           | its text, UTF-8                                  |
 * | 3   | `PgJson`                            | its text, UTF-8                                  |
 * | 4   | `PgDate`                            | days: int32 when it is one, else float64 (±∞)    |
 * | 5   | `PgTime`                            | micros: integer                                  |
 * | 6   | `PgTimeTz`                          | offsetSeconds: float64, then micros: integer     |
 * | 7   | `PgTimestamp`                       | micros: integer                                  |
 * | 8   | `PgTimestampTz`                     | micros: integer                                  |
 * | 9   | `PgInterval`                        | months, days: float64 each, then micros: integer |
 *
 * "integer" is big-endian two's complement taking the rest of the payload: 8 bytes when the value
 * fits int64, more when it does not (±infinity timestamps, `INFINITY_MICROS`, exceed int64), so no
 * bigint is ever clamped or wrapped. Numbers in payloads are float64 so NaN, ±Infinity and -0
 * survive. All multi-byte fields are big-endian, as MessagePack's own are.
 *
 * `toWire` prepares a value for the encoder (the two primitives MessagePack cannot carry exactly
 * become extension data; anything that is not a `Value` is refused); `fromWire` checks what the
 * decoder produced and copies bytes out of the message buffer.
 */
import { ExtData, type ExtensionCodecType } from '@msgpack/msgpack';
import { TributaryError } from '../core/errors.js';
import {
  Decimal,
  INT64_MAX,
  INT64_MIN,
  PgDate,
  PgInterval,
  PgJson,
  PgTime,
  PgTimestamp,
  PgTimestampTz,
  PgTimeTz,
  type Value,
} from '../core/values.js';

const EXT_NEGATIVE_ZERO = 0;
const EXT_BIG_INTEGER = 1;
const EXT_DECIMAL = 2;
const EXT_JSON = 3;
const EXT_DATE = 4;
const EXT_TIME = 5;
const EXT_TIME_TZ = 6;
const EXT_TIMESTAMP = 7;
const EXT_TIMESTAMP_TZ = 8;
const EXT_INTERVAL = 9;

const UINT64_MAX = 0xffff_ffff_ffff_ffffn;
/**
 * Arrays inside a value nest at most this deep. Postgres arrays have at most 6 dimensions
 * (MAXDIM); the bound keeps a hostile message from recursing the decoder off the stack.
 */
export const MAX_ARRAY_DEPTH = 32;

function malformed(problem: string): TributaryError {
  return new TributaryError('PROTOCOL', problem);
}

// ---------------------------------------------------------------------------------------------
// payload fields

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

function utf8Bytes(text: string): Uint8Array {
  if (text.length > 64) return utf8Encoder.encode(text);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return utf8Encoder.encode(text);
    out[i] = c;
  }
  return out;
}

function utf8Text(data: Uint8Array): string {
  if (data.length > 64) return utf8Decoder.decode(data);
  let text = '';
  for (let i = 0; i < data.length; i++) {
    const c = data[i]!;
    if (c > 0x7f) return utf8Decoder.decode(data);
    text += String.fromCharCode(c);
  }
  return text;
}

function fitsInt64(value: bigint): boolean {
  return value >= INT64_MIN && value <= INT64_MAX;
}

/**
 * Writes an int64 big-endian by hand: a DataView over a fresh buffer costs four times as much,
 * and every timestamp goes through here.
 */
function setInt64(out: Uint8Array, offset: number, value: bigint): void {
  const high = Number(value >> 32n);
  const low = Number(value & 0xffff_ffffn);
  out[offset] = high >>> 24;
  out[offset + 1] = high >>> 16;
  out[offset + 2] = high >>> 8;
  out[offset + 3] = high;
  out[offset + 4] = low >>> 24;
  out[offset + 5] = low >>> 16;
  out[offset + 6] = low >>> 8;
  out[offset + 7] = low;
}

/** An integer alone. */
function integerBytes(value: bigint): Uint8Array {
  if (!fitsInt64(value)) return bigIntegerBytes(value);
  const out = new Uint8Array(8);
  setInt64(out, 0, value);
  return out;
}

/** float64 fields, then an integer. */
function withInteger(head: readonly number[], value: bigint): Uint8Array {
  const tail = integerBytes(value);
  const out = new Uint8Array(head.length * 8 + tail.length);
  const view = new DataView(out.buffer);
  for (let i = 0; i < head.length; i++) view.setFloat64(i * 8, head[i]!);
  out.set(tail, head.length * 8);
  return out;
}

/** Two's complement, big-endian, in as few bytes as hold the value. */
function bigIntegerBytes(value: bigint): Uint8Array {
  const magnitude = value < 0n ? -value - 1n : value; // same bit length as the value's two's complement
  const length = Math.floor((magnitude === 0n ? 0 : magnitude.toString(2).length) / 8) + 1;
  const hex = BigInt.asUintN(length * 8, value)
    .toString(16)
    .padStart(length * 2, '0');
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function readInteger(data: Uint8Array, offset: number, type: string): bigint {
  const length = data.length - offset;
  if (length === 8) {
    const d = data;
    const high = (d[offset]! << 24) | (d[offset + 1]! << 16) | (d[offset + 2]! << 8) | d[offset + 3]!;
    const low =
      ((d[offset + 4]! << 24) | (d[offset + 5]! << 16) | (d[offset + 6]! << 8) | d[offset + 7]!) >>> 0;
    return (BigInt(high) << 32n) | BigInt(low);
  }
  if (length < 1) throw malformed(`a ${type} value has no integer in its payload`);
  let hex = '';
  for (let i = offset; i < data.length; i++) hex += data[i]!.toString(16).padStart(2, '0');
  return BigInt.asIntN(length * 8, BigInt(`0x${hex}`));
}

function readFloat64s(data: Uint8Array, count: number, type: string): number[] {
  if (data.length < count * 8 + 1) throw malformed(`a ${type} payload of ${data.length} bytes is too short`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(view.getFloat64(i * 8));
  return out;
}

function dateBytes(days: number): Uint8Array {
  if ((days | 0) !== days || Object.is(days, -0)) {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setFloat64(0, days); // ±Infinity
    return out;
  }
  return Uint8Array.of(days >>> 24, days >>> 16, days >>> 8, days);
}

function readDate(data: Uint8Array): PgDate {
  if (data.length === 4) return new PgDate((data[0]! << 24) | (data[1]! << 16) | (data[2]! << 8) | data[3]!);
  if (data.length === 8) return new PgDate(new DataView(data.buffer, data.byteOffset, 8).getFloat64(0));
  throw malformed(`a date payload has ${data.length} bytes (expected 4 or 8)`);
}

// ---------------------------------------------------------------------------------------------
// the codec

interface Extension {
  readonly type: number;
  /** The class it carries; null for the two primitives, which toWire turns into ExtData. */
  readonly prototype: object | null;
  readonly encode: (value: never) => Uint8Array;
  readonly decode: (data: Uint8Array) => unknown;
}

function extension<T extends object>(
  type: number,
  valueClass: { readonly prototype: T } | null,
  encode: (value: T) => Uint8Array,
  decode: (data: Uint8Array) => unknown,
): Extension {
  return { type, prototype: valueClass ? valueClass.prototype : null, encode, decode };
}

function writtenByToWire(): Uint8Array {
  throw new TributaryError('INTERNAL', 'the -0 and big integer extensions are written as ExtData by toWire');
}

/** Indexed by type. */
const EXTENSIONS: readonly Extension[] = [
  extension(EXT_NEGATIVE_ZERO, null, writtenByToWire, (data) => {
    if (data.length !== 0) throw malformed(`a -0 payload has ${data.length} bytes (expected none)`);
    return -0;
  }),
  extension(EXT_BIG_INTEGER, null, writtenByToWire, (data) => readInteger(data, 0, 'big integer')),
  extension(
    EXT_DECIMAL,
    Decimal,
    (v) => utf8Bytes(v.text),
    (data) => new Decimal(utf8Text(data)),
  ),
  extension(
    EXT_JSON,
    PgJson,
    (v) => utf8Bytes(v.text),
    (data) => new PgJson(utf8Text(data)),
  ),
  extension(EXT_DATE, PgDate, (v) => dateBytes(v.days), readDate),
  extension(
    EXT_TIME,
    PgTime,
    (v) => integerBytes(v.micros),
    (data) => new PgTime(readInteger(data, 0, 'time')),
  ),
  extension(
    EXT_TIME_TZ,
    PgTimeTz,
    (v) => withInteger([v.offsetSeconds], v.micros),
    (data) => {
      const [offsetSeconds] = readFloat64s(data, 1, 'timetz');
      return new PgTimeTz(readInteger(data, 8, 'timetz'), offsetSeconds!);
    },
  ),
  extension(
    EXT_TIMESTAMP,
    PgTimestamp,
    (v) => integerBytes(v.micros),
    (data) => new PgTimestamp(readInteger(data, 0, 'timestamp')),
  ),
  extension(
    EXT_TIMESTAMP_TZ,
    PgTimestampTz,
    (v) => integerBytes(v.micros),
    (data) => new PgTimestampTz(readInteger(data, 0, 'timestamptz')),
  ),
  extension(
    EXT_INTERVAL,
    PgInterval,
    (v) => withInteger([v.months, v.days], v.micros),
    (data) => {
      const [months, days] = readFloat64s(data, 2, 'interval');
      return new PgInterval(months!, days!, readInteger(data, 16, 'interval'));
    },
  ),
];

/** The extension of each value class, by the class's prototype. */
const BY_PROTOTYPE: ReadonlyMap<unknown, Extension> = new Map(
  EXTENSIONS.filter((e) => e.prototype !== null).map((e) => [e.prototype, e]),
);

/**
 * The extension codec the feed's Encoder and Decoder use. It implements MessagePack's
 * `ExtensionCodecType` rather than registering with an `ExtensionCodec`, which calls every
 * registered encoder in turn on every array and object it meets: here one map lookup on the
 * prototype finds the extension (the loop took a quarter of the time to encode order changes).
 */
export const valueExtensions: ExtensionCodecType<undefined> = {
  tryToEncode(object: unknown): ExtData | null {
    if (object instanceof ExtData) return object;
    const found = BY_PROTOTYPE.get(Object.getPrototypeOf(object));
    return found ? new ExtData(found.type, found.encode(object as never)) : null;
  },
  decode(data: Uint8Array, type: number): unknown {
    if (!isFeedExtension(type)) throw malformed(`unknown extension type ${type}`);
    return EXTENSIONS[type]!.decode(data);
  },
};

/** Whether the feed format defines this extension type (the bounds pass rejects the others). */
export function isFeedExtension(type: number): boolean {
  return EXTENSIONS[type]?.type === type;
}

// ---------------------------------------------------------------------------------------------
// values in and out

const NEGATIVE_ZERO = Object.freeze(new ExtData(EXT_NEGATIVE_ZERO, new Uint8Array(0)));

/** A number as the encoder must see it: -0 as its extension. */
export function wireNumber(value: number): unknown {
  return value === 0 && 1 / value < 0 ? NEGATIVE_ZERO : value;
}

/** A bigint as the encoder must see it: beyond int 64 and uint 64, as its extension. */
export function wireBigInt(value: bigint): unknown {
  return value >= INT64_MIN && value <= UINT64_MAX
    ? value
    : new ExtData(EXT_BIG_INTEGER, bigIntegerBytes(value));
}

/** A value as the encoder must see it. Throws on anything that is not a `Value`. */
export function toWire(value: Value, depth = 0): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return wireNumber(value);
    case 'bigint':
      return wireBigInt(value);
    case 'object':
      if (value === null || value instanceof Uint8Array) return value;
      if (Array.isArray(value)) return wireArray(value, depth + 1);
      if (BY_PROTOTYPE.has(Object.getPrototypeOf(value))) return value;
  }
  throw new TributaryError('INTERNAL', `the feed codec cannot encode ${describe(value)}: it is not a value`);
}

/** The array itself when no element changes (the usual case), else a copy. */
function wireArray(array: readonly Value[], depth: number): unknown {
  if (depth > MAX_ARRAY_DEPTH) {
    throw new TributaryError(
      'INTERNAL',
      `the feed codec cannot encode arrays nested over ${MAX_ARRAY_DEPTH} deep`,
    );
  }
  let out: unknown[] | null = null;
  for (let i = 0; i < array.length; i++) {
    const element = array[i]!;
    const wired = toWire(element, depth);
    if (wired !== element && out === null) out = array.slice(0, i);
    if (out !== null) out.push(wired);
  }
  return out ?? array;
}

/**
 * A decoded value, checked: every element of an array too (arrays are checked in place), and
 * bytes copied out of the message buffer so a value never pins or aliases it.
 */
export function fromWire(raw: unknown, depth = 0): Value {
  switch (typeof raw) {
    case 'string':
    case 'boolean':
    case 'number':
    case 'bigint':
      return raw;
    case 'object':
      if (raw === null) return null;
      if (raw instanceof Uint8Array) return raw.slice(); // a plain Uint8Array: decodeItems sees to it
      if (Array.isArray(raw)) {
        if (depth >= MAX_ARRAY_DEPTH) throw malformed(`an array value nests over ${MAX_ARRAY_DEPTH} deep`);
        for (let i = 0; i < raw.length; i++) raw[i] = fromWire(raw[i], depth + 1);
        return raw as Value[];
      }
      if (BY_PROTOTYPE.has(Object.getPrototypeOf(raw))) return raw as Value;
  }
  throw malformed(`a value is ${describe(raw)}, which is not a Tributary value`);
}

export function describe(raw: unknown): string {
  if (raw === null || raw === undefined) return String(raw);
  if (typeof raw !== 'object') return `a ${typeof raw}`;
  if (raw instanceof ExtData) return `MessagePack extension type ${raw.type}`;
  const name = (Object.getPrototypeOf(raw) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  return typeof name === 'string' ? `a ${name}` : 'an object without prototype';
}
