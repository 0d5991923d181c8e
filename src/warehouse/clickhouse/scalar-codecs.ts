/**
 * How one scalar Postgres value crosses into a ClickHouse column of one type and back, exactly.
 *
 * A codec has two faces:
 * - the typed face: `encode` gives the value as a JSONEachRow field for the column type `sql`,
 *   `decode` reads the field back as ClickHouse prints it with connect.ts's session settings
 *   (64-bit integers and decimals quoted, NaN/±inf quoted). `encode` throws an `UnfitValue`
 *   for a value the type cannot hold exactly (it never clamps, rounds or nulls).
 * - the text face: `text`/`fromText` turn any value, the unfit ones included, into an exact text
 *   and back, and `textSql(x)` is the ClickHouse expression that prints a stored value `x` of
 *   type `sql` as that same text. That is what a column widened to String holds (type-mapping.ts).
 *
 * Facts these rest on, checked against ClickHouse 26.7 (chdb) in type-mapping.test.ts: Date32
 * clamps out-of-range input silently (so the range is checked here); DateTime64's documented
 * range is 1900-01-01 … 2299-12-31 23:59:59.999999 (26.7 holds years 1 … 9999, older servers
 * clamp, so the documented range is enforced); Decimal is printed without trailing zeros
 * (restored from the scale); quoted `nan`, `inf`, `-inf` and `-0` are read into floats (a JSON
 * number -0 is not: JSON.stringify writes it as 0), and -0 is printed as -0.
 */
import { TributaryError } from '../../core/errors.js';
import {
  Decimal,
  daysFromCivil,
  formatDate,
  formatOffset,
  formatTimeOfDay,
  INFINITY_MICROS,
  INT64_MAX,
  INT64_MIN,
  NEG_INFINITY_MICROS,
  PgDate,
  PgInterval,
  PgJson,
  PgTime,
  PgTimestamp,
  PgTimestampTz,
  PgTimeTz,
  type Value,
} from '../../core/values.js';

/** A value the column's ClickHouse type cannot hold exactly. */
export class UnfitValue extends TributaryError {
  /** The ClickHouse type that refused it. */
  readonly sql: string;
  /** The column whose type refused it, when known (type-mapping.ts names it). */
  readonly column: string | undefined;
  constructor(sql: string, message: string, column?: string) {
    super('SINK', message, {
      hint: 'the warehouse never clamps, rounds or nulls a value; widen the column to String, or exclude the table',
    });
    this.sql = sql;
    this.column = column;
  }
}

export interface ScalarCodec {
  readonly sql: string;
  /** Whether `encode` can refuse a value (only such columns ever need widening). */
  readonly canRefuse: boolean;
  encode(value: Value): unknown;
  decode(field: unknown): Value;
  text(value: Value): string;
  fromText(text: string): Value;
  /** ClickHouse expression printing a stored non-null `x` as `text` does. */
  textSql(x: string): string;
}

function refuse(sql: string, value: Value, why = 'does not fit'): never {
  throw new UnfitValue(sql, `the value ${shown(value)} ${why} in ClickHouse type ${sql}`);
}

function shown(value: Value): string {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString('hex')}`;
  return JSON.stringify(value) ?? String(value);
}

const MICROS_PER_DAY = 86_400_000_000n;

// ---------------------------------------------------------------------------------------------
// Numbers

/** Int16, Int32, UInt32: JS numbers. */
export function smallInteger(sql: 'Int16' | 'Int32' | 'UInt32'): ScalarCodec {
  return {
    sql,
    canRefuse: false,
    encode: (v) => (typeof v === 'number' ? v : refuse(sql, v, 'is not a number')),
    decode: (f) => Number(f),
    text: (v) => String(v),
    fromText: (s) => Number(s),
    textSql: (x) => `toString(${x})`,
  };
}

/** Int64, UInt64: bigints, quoted both ways. */
export function bigInteger(sql: 'Int64' | 'UInt64'): ScalarCodec {
  return {
    sql,
    canRefuse: false,
    encode: (v) => (typeof v === 'bigint' || typeof v === 'number' ? String(v) : refuse(sql, v)),
    decode: (f) => BigInt(String(f)),
    text: (v) => String(v),
    fromText: (s) => BigInt(s),
    textSql: (x) => `toString(${x})`,
  };
}

const FLOAT_WORDS: Readonly<Record<string, number>> = {
  nan: Number.NaN,
  '-nan': Number.NaN,
  inf: Number.POSITIVE_INFINITY,
  '+inf': Number.POSITIVE_INFINITY,
  '-inf': Number.NEGATIVE_INFINITY,
};

function floatText(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Number.POSITIVE_INFINITY) return 'inf';
  if (v === Number.NEGATIVE_INFINITY) return '-inf';
  return Object.is(v, -0) ? '-0' : String(v);
}

/** Float32, Float64: NaN, ±Infinity and -0 travel as quoted words (JSON numbers cannot). */
export function float(sql: 'Float32' | 'Float64'): ScalarCodec {
  const round = sql === 'Float32' ? Math.fround : (n: number) => n;
  const fromText = (s: string): number => {
    const word = FLOAT_WORDS[s.toLowerCase()];
    return word ?? round(Number(s));
  };
  return {
    sql,
    canRefuse: false,
    encode: (v) => {
      if (typeof v !== 'number') return refuse(sql, v, 'is not a number');
      return Number.isFinite(v) && !Object.is(v, -0) ? v : floatText(v);
    },
    decode: (f) => (typeof f === 'number' ? round(f) : fromText(String(f))),
    text: (v) => floatText(v as number),
    fromText,
    textSql: (x) => `toString(${x})`,
  };
}

export const bool: ScalarCodec = {
  sql: 'Bool',
  canRefuse: false,
  encode: (v) => (typeof v === 'boolean' ? v : refuse('Bool', v)),
  decode: (f) => f === true || f === 'true' || f === 1,
  text: (v) => (v ? 'true' : 'false'),
  fromText: (s) => s === 'true',
  textSql: (x) => `if(${x}, 'true', 'false')`,
};

/** `12.5` at scale 4 → `12.5000` (ClickHouse prints decimals without trailing zeros). */
export function padScale(text: string, scale: number): string {
  if (!/^-?\d+(\.\d*)?$/.test(text) || scale <= 0) return text;
  const [whole, fraction = ''] = text.split('.');
  return `${whole}.${fraction.padEnd(scale, '0')}`;
}

/**
 * Decimal(precision, scale) for numeric(p,s). `pgScale` is the scale Postgres prints (the column
 * scale, or 0 for a negative one). NaN and ±Infinity are refused: Decimal has no such values.
 */
export function decimal(precision: number, scale: number): ScalarCodec {
  const sql = `Decimal(${precision}, ${scale})`;
  const wholeDigits = precision - scale;
  const textOf = (v: Value): string =>
    v instanceof Decimal ? v.text : typeof v === 'string' ? v : refuse(sql, v, 'is not a numeric');
  return {
    sql,
    canRefuse: true,
    encode: (v) => {
      const text = textOf(v);
      const match = /^-?(\d+)(?:\.(\d+))?$/.exec(text);
      if (!match) return refuse(sql, v, 'is not a finite number and does not fit');
      const whole = (match[1] ?? '').replace(/^0+/, '');
      const fraction = (match[2] ?? '').replace(/0+$/, '');
      if (whole.length > wholeDigits || fraction.length > scale) return refuse(sql, v);
      return text;
    },
    decode: (f) => new Decimal(padScale(String(f), scale)),
    text: textOf,
    fromText: (s) => new Decimal(padScale(s, scale)),
    textSql: (x) => `toDecimalString(${x}, ${scale})`,
  };
}

// ---------------------------------------------------------------------------------------------
// Dates and times

/** Date32's range: 1900-01-01 … 2299-12-31, as days since 1970-01-01. */
export const DATE32_MIN_DAYS = -25_567;
export const DATE32_MAX_DAYS = 120_529;

/** `2024-01-02`, `-0044-03-15`, `+10000-01-01`, `infinity` → days (±Infinity). */
export function parseDate(text: string): number {
  if (text === 'infinity') return Number.POSITIVE_INFINITY;
  if (text === '-infinity') return Number.NEGATIVE_INFINITY;
  const m = /^([+-]?\d{4,})-(\d\d)-(\d\d)/.exec(text);
  if (!m) throw new TributaryError('SINK', `not a date: ${text}`);
  return daysFromCivil(Number(m[1]), Number(m[2]), Number(m[3]));
}

export const date32: ScalarCodec = {
  sql: 'Date32',
  canRefuse: true,
  encode: (v) => {
    if (!(v instanceof PgDate)) return refuse('Date32', v, 'is not a date');
    if (!(v.days >= DATE32_MIN_DAYS && v.days <= DATE32_MAX_DAYS)) {
      return refuse('Date32', v, 'is outside Date32 (1900-01-01 … 2299-12-31) and does not fit');
    }
    return formatDate(v.days);
  },
  decode: (f) => new PgDate(parseDate(String(f))),
  text: (v) => formatDate((v as PgDate).days),
  fromText: (s) => new PgDate(parseDate(s)),
  textSql: (x) => `toString(${x})`,
};

/** DateTime64(6)'s documented range in microseconds since 1970: 1900-01-01 … 2299-12-31 23:59:59.999999. */
export const DATETIME64_MIN_MICROS = BigInt(DATE32_MIN_DAYS) * MICROS_PER_DAY;
export const DATETIME64_MAX_MICROS = BigInt(DATE32_MAX_DAYS + 1) * MICROS_PER_DAY - 1n;

/** Microseconds since 1970 → `2024-01-02 03:04:05.123456` (any year), or ±infinity. */
export function timestampText(micros: bigint): string {
  if (micros === INFINITY_MICROS) return 'infinity';
  if (micros === NEG_INFINITY_MICROS) return '-infinity';
  let days = micros / MICROS_PER_DAY;
  let rest = micros % MICROS_PER_DAY;
  if (rest < 0n) {
    rest += MICROS_PER_DAY;
    days -= 1n;
  }
  return `${formatDate(Number(days))} ${formatTimeOfDay(rest)}`;
}

/** The inverse of `timestampText` (also reads ClickHouse's DateTime64 text and a `T`). */
export function parseTimestamp(text: string): bigint {
  if (text === 'infinity') return INFINITY_MICROS;
  if (text === '-infinity') return NEG_INFINITY_MICROS;
  const m = /^([+-]?\d{4,}-\d\d-\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?$/.exec(text);
  if (!m) throw new TributaryError('SINK', `not a timestamp: ${text}`);
  const days = BigInt(parseDate(m[1] as string));
  const seconds = BigInt(Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]));
  const fraction = (m[5] ?? '').padEnd(6, '0');
  if (fraction.length > 6 && /[^0]/.test(fraction.slice(6))) {
    throw new TributaryError('SINK', `a timestamp finer than microseconds: ${text}`);
  }
  return days * MICROS_PER_DAY + seconds * 1_000_000n + BigInt(fraction.slice(0, 6));
}

/** DateTime64(6, 'UTC') for timestamptz, and for timestamp (its wall clock read as UTC). */
export function dateTime64(zoned: boolean): ScalarCodec {
  const sql = "DateTime64(6, 'UTC')";
  const make = (micros: bigint): Value => (zoned ? new PgTimestampTz(micros) : new PgTimestamp(micros));
  const microsOf = (v: Value): bigint =>
    (zoned ? v instanceof PgTimestampTz : v instanceof PgTimestamp)
      ? (v as PgTimestamp).micros
      : refuse(sql, v, `is not a timestamp${zoned ? 'tz' : ''}`);
  return {
    sql,
    canRefuse: true,
    encode: (v) => {
      const micros = microsOf(v);
      if (micros < DATETIME64_MIN_MICROS || micros > DATETIME64_MAX_MICROS) {
        return refuse(
          sql,
          v,
          'is outside DateTime64 (1900-01-01 … 2299-12-31 23:59:59.999999) and does not fit',
        );
      }
      return timestampText(micros);
    },
    decode: (f) => make(parseTimestamp(String(f))),
    text: (v) => timestampText(microsOf(v)),
    fromText: (s) => make(parseTimestamp(s)),
    textSql: (x) => `toString(${x})`,
  };
}

// ---------------------------------------------------------------------------------------------
// Everything kept as exact text in a String (and UUID, whose text is canonical)

/** A codec over String whose field is the value's exact text. */
function textual(text: (v: Value) => string, fromText: (s: string) => Value, sql = 'String'): ScalarCodec {
  return {
    sql,
    canRefuse: false,
    encode: text,
    decode: (f) => fromText(String(f)),
    text,
    fromText,
    textSql: (x) => `toString(${x})`,
  };
}

/** text, varchar, bpchar, enums, inet, money, ranges, …: the exact text Postgres printed. */
export const plainText = textual(
  (v) => (typeof v === 'string' ? v : String(v)),
  (s) => s,
);

export const uuid = textual(
  (v) => (typeof v === 'string' ? v.toLowerCase() : refuse('UUID', v, 'is not a uuid')),
  (s) => s,
  'UUID',
);

/** json, jsonb: the text Postgres sent (key order, duplicate keys, big numbers kept). */
export const jsonText = textual(
  (v) => (v instanceof PgJson ? v.text : String(v)),
  (s) => new PgJson(s),
);

/** bytea: Postgres' hex text `\x…` (JSONEachRow cannot carry bytes that are not UTF-8). */
export const byteaText = textual(
  (v) =>
    v instanceof Uint8Array ? `\\x${Buffer.from(v).toString('hex')}` : refuse('String', v, 'is not bytea'),
  (s) => {
    if (!/^\\x([0-9a-fA-F]{2})*$/.test(s))
      throw new TributaryError('SINK', `not bytea hex text: ${s.slice(0, 40)}`);
    return new Uint8Array(Buffer.from(s.slice(2), 'hex'));
  },
);

/** numeric without a fitting Decimal: the exact text, NaN and ±Infinity included. */
export const numericText = textual(
  (v) => (v instanceof Decimal ? v.text : String(v)),
  (s) => new Decimal(s),
);

/** time: `HH:MM:SS.ffffff` (fixed width, so text order is time order; 24:00:00 kept). */
export const timeText = textual(
  (v) => (v instanceof PgTime ? formatTimeOfDay(v.micros) : refuse('String', v, 'is not a time')),
  (s) => new PgTime(parseTimeOfDay(s)),
);

/** timetz: `HH:MM:SS.ffffff+hh:mm[:ss]`, the offset as Postgres keeps it. */
export const timeTzText = textual(
  (v) =>
    v instanceof PgTimeTz
      ? `${formatTimeOfDay(v.micros)}${formatOffset(v.offsetSeconds)}`
      : refuse('String', v, 'is not a timetz'),
  (s) => {
    const m = /^(\d\d:\d\d:\d\d\.\d{6})([+-])(\d\d):(\d\d)(?::(\d\d))?$/.exec(s);
    if (!m) throw new TributaryError('SINK', `not a timetz: ${s}`);
    const offset = Number(m[3]) * 3600 + Number(m[4]) * 60 + Number(m[5] ?? 0);
    return new PgTimeTz(parseTimeOfDay(m[1] as string), m[2] === '-' ? -offset : offset);
  },
);

function parseTimeOfDay(text: string): bigint {
  const m = /^(\d\d):(\d\d):(\d\d)\.(\d{6})$/.exec(text);
  if (!m) throw new TributaryError('SINK', `not a time of day: ${text}`);
  return BigInt(Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1_000_000n + BigInt(m[4] as string);
}

/**
 * interval: `P<months>M<days>DT<seconds>S` (values.ts), each part with its own sign, exact to the
 * microsecond; `infinity` / `-infinity` (Postgres 17).
 */
export const intervalText = textual(
  (v) => (v instanceof PgInterval ? v.toJSON() : refuse('String', v, 'is not an interval')),
  (s) => {
    if (s === 'infinity') return new PgInterval(2_147_483_647, 2_147_483_647, INT64_MAX);
    if (s === '-infinity') return new PgInterval(-2_147_483_648, -2_147_483_648, INT64_MIN);
    const m = /^P(-?\d+)M(-?\d+)DT(-?)(\d+)\.(\d{6})S$/.exec(s);
    if (!m) throw new TributaryError('SINK', `not an interval: ${s}`);
    const micros = BigInt(m[4] as string) * 1_000_000n + BigInt(m[5] as string);
    return new PgInterval(Number(m[1]), Number(m[2]), m[3] ? -micros : micros);
  },
);
