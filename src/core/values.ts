/**
 * The values a change event carries. Each keeps full fidelity with what Postgres holds:
 *
 * | Postgres                         | here                                                   |
 * |----------------------------------|--------------------------------------------------------|
 * | smallint, integer, oid           | `number`                                               |
 * | bigint                           | `bigint`                                               |
 * | real, double precision           | `number` (NaN, ±Infinity kept)                          |
 * | numeric                          | `Decimal` (exact text; NaN, ±Infinity kept)            |
 * | boolean                          | `boolean`                                              |
 * | bytea                            | `Uint8Array`                                           |
 * | date                             | `PgDate` (days since 1970-01-01; ±infinity)            |
 * | time / timetz                    | `PgTime` / `PgTimeTz` (microseconds, offset)           |
 * | timestamp / timestamptz          | `PgTimestamp` / `PgTimestampTz` (µs since 1970 UTC)    |
 * | interval                         | `PgInterval` (months, days, microseconds)              |
 * | json, jsonb                      | `PgJson` (the exact text Postgres sent)                |
 * | arrays                           | nested JS arrays (multi-dimensional, null elements)    |
 * | everything else (text, uuid, enums, inet, money, extension types, ...) | `string` (exact text) |
 *
 * Domains are decoded as their base type. Timestamp micros are bigints counted from 1970;
 * ±infinity are Postgres' own sentinels moved to that epoch (`INFINITY_MICROS`), beyond every
 * finite value. Postgres' last ~30 years of finite timestamps (≥ 294247-01-10 04:00:54.775807
 * UTC) exceed int64 micros from 1970: exact here, but a sink that cannot hold them (DuckDB
 * cannot) must reject them, not clamp them.
 */

/** The int64 extremes, as Postgres uses them for infinite intervals (PG 17+). */
export const INT64_MAX = 0x7fff_ffff_ffff_ffffn;
export const INT64_MIN = -0x8000_0000_0000_0000n;
const INT32_MAX = 2_147_483_647;
const INT32_MIN = -2_147_483_648;
/** Microseconds between 1970-01-01 and 2000-01-01, where Postgres counts from. */
export const PG_EPOCH_MICROS = 946_684_800_000_000n;
/**
 * ±infinity for timestamps: Postgres' own sentinels (int64 extremes counted from 2000) moved
 * to our 1970 epoch, so they lie beyond every finite timestamp Postgres can hold.
 */
export const INFINITY_MICROS = INT64_MAX + PG_EPOCH_MICROS;
export const NEG_INFINITY_MICROS = INT64_MIN + PG_EPOCH_MICROS;

/** An exact decimal: the canonical text Postgres printed, e.g. `-12.3400`, `NaN`, `Infinity`. */
export class Decimal {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  isFinite(): boolean {
    return this.text !== 'NaN' && this.text !== 'Infinity' && this.text !== '-Infinity';
  }
  toString(): string {
    return this.text;
  }
  toJSON(): string {
    return this.text;
  }
}

/** A calendar date: days since 1970-01-01 (negative before; ±Infinity for ±infinity). */
export class PgDate {
  readonly days: number;
  constructor(days: number) {
    this.days = days;
  }
  toJSON(): string {
    return formatDate(this.days);
  }
  toString(): string {
    return formatDate(this.days);
  }
}

/** A time of day without zone, in microseconds since midnight (0 .. 86_400_000_000 inclusive). */
export class PgTime {
  readonly micros: bigint;
  constructor(micros: bigint) {
    this.micros = micros;
  }
  toJSON(): string {
    return formatTimeOfDay(this.micros);
  }
  toString(): string {
    return formatTimeOfDay(this.micros);
  }
}

/** A time of day with a UTC offset in seconds east of Greenwich, as Postgres keeps it. */
export class PgTimeTz {
  readonly micros: bigint;
  readonly offsetSeconds: number;
  constructor(micros: bigint, offsetSeconds: number) {
    this.micros = micros;
    this.offsetSeconds = offsetSeconds;
  }
  toJSON(): string {
    return `${formatTimeOfDay(this.micros)}${formatOffset(this.offsetSeconds)}`;
  }
  toString(): string {
    return this.toJSON();
  }
}

/** A timestamp without time zone: microseconds since 1970-01-01 00:00:00 (a wall-clock reading). */
export class PgTimestamp {
  readonly micros: bigint;
  constructor(micros: bigint) {
    this.micros = micros;
  }
  toJSON(): string {
    return formatTimestamp(this.micros, false);
  }
  toString(): string {
    return this.toJSON();
  }
}

/** An instant: microseconds since 1970-01-01 00:00:00 UTC. */
export class PgTimestampTz {
  readonly micros: bigint;
  constructor(micros: bigint) {
    this.micros = micros;
  }
  toJSON(): string {
    return formatTimestamp(this.micros, true);
  }
  toString(): string {
    return this.toJSON();
  }
}

/** An interval as Postgres stores it: months, days and microseconds, each with its own sign. */
export class PgInterval {
  readonly months: number;
  readonly days: number;
  readonly micros: bigint;
  constructor(months: number, days: number, micros: bigint) {
    this.months = months;
    this.days = days;
    this.micros = micros;
  }
  toJSON(): string {
    if (this.months === INT32_MAX && this.days === INT32_MAX && this.micros === INT64_MAX) return 'infinity';
    if (this.months === INT32_MIN && this.days === INT32_MIN && this.micros === INT64_MIN) return '-infinity';
    return `P${this.months}M${this.days}DT${formatMicrosAsSeconds(this.micros)}S`;
  }
  toString(): string {
    return this.toJSON();
  }
}

/** json or jsonb: the text Postgres sent, unparsed, so big numbers and key order survive. */
export class PgJson {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  parse(): unknown {
    return JSON.parse(this.text);
  }
  toString(): string {
    return this.text;
  }
}

export type Value =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | Decimal
  | PgDate
  | PgTime
  | PgTimeTz
  | PgTimestamp
  | PgTimestampTz
  | PgInterval
  | PgJson
  | readonly Value[];

// ---------------------------------------------------------------------------------------------
// Formatting helpers (ISO 8601, proleptic Gregorian, years before 1 as negative astronomical years)

const MICROS_PER_DAY = 86_400_000_000n;

function pad(n: number | bigint, width: number): string {
  return n.toString().padStart(width, '0');
}

/** Civil date from days since 1970-01-01 (Howard Hinnant's algorithm), exact for any int. */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return { year, month, day };
}

/** Days since 1970-01-01 from a proleptic Gregorian civil date (astronomical year numbering). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = month > 2 ? month - 3 : month + 9;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

function formatYear(year: number): string {
  return year < 0 ? `-${pad(-year, 4)}` : year > 9999 ? `+${year}` : pad(year, 4);
}

export function formatDate(days: number): string {
  if (days === Number.POSITIVE_INFINITY) return 'infinity';
  if (days === Number.NEGATIVE_INFINITY) return '-infinity';
  const { year, month, day } = civilFromDays(days);
  return `${formatYear(year)}-${pad(month, 2)}-${pad(day, 2)}`;
}

export function formatTimeOfDay(micros: bigint): string {
  const totalSeconds = micros / 1_000_000n;
  const fraction = micros % 1_000_000n;
  const h = totalSeconds / 3600n;
  const m = (totalSeconds / 60n) % 60n;
  const s = totalSeconds % 60n;
  return `${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}.${pad(fraction, 6)}`;
}

export function formatOffset(offsetSeconds: number): string {
  const sign = offsetSeconds < 0 ? '-' : '+';
  const abs = Math.abs(offsetSeconds);
  const h = Math.floor(abs / 3600);
  const m = Math.floor((abs % 3600) / 60);
  const s = abs % 60;
  return `${sign}${pad(h, 2)}:${pad(m, 2)}${s ? `:${pad(s, 2)}` : ''}`;
}

function formatTimestamp(micros: bigint, utc: boolean): string {
  if (micros === INFINITY_MICROS) return 'infinity';
  if (micros === NEG_INFINITY_MICROS) return '-infinity';
  let days = micros / MICROS_PER_DAY;
  let rest = micros % MICROS_PER_DAY;
  if (rest < 0n) {
    rest += MICROS_PER_DAY;
    days -= 1n;
  }
  return `${formatDate(Number(days))}T${formatTimeOfDay(rest)}${utc ? 'Z' : ''}`;
}

function formatMicrosAsSeconds(micros: bigint): string {
  const sign = micros < 0n ? '-' : '';
  const abs = micros < 0n ? -micros : micros;
  return `${sign}${abs / 1_000_000n}.${pad(abs % 1_000_000n, 6)}`;
}
