/**
 * Shared by the every-type tests: the table of every-type.columns.ts, the facts Postgres
 * computes about each stored value independently of the text it prints (epoch arithmetic for
 * times, date differences, extract() fields for intervals, send-function bytes for floats,
 * encode() for bytea, array_dims/cardinality/unnest for arrays, whether the value is NULL), and
 * `expectValue`, the one comparison of a decoded `Value` with those facts. Array elements get
 * the facts of their element check, recursively, so an array of floats is checked bit by bit
 * like a float column.
 */
import type pg from 'pg';
import { expect } from 'vitest';
import type {
  Decimal,
  PgDate,
  PgInterval,
  PgTime,
  PgTimestamp,
  PgTimeTz,
  Value,
} from '../../src/core/values.js';
import { INFINITY_MICROS, INT64_MAX, INT64_MIN, NEG_INFINITY_MICROS, PgJson } from '../../src/core/values.js';
import { SESSION_SETTINGS } from '../../src/source/postgres/session-settings.js';
import { type Check, type Column, setupSql } from './every-type.columns.js';

/** Every column comes back as the text the type's output function printed. */
const RAW = { getTypeParser: () => (text: string) => text } as unknown as pg.CustomTypesConfig;

export type RawRow = Record<string, string | null>;

export async function rawQuery(client: pg.Client, text: string, values: unknown[] = []): Promise<RawRow[]> {
  return (await client.query<RawRow>({ text, values, types: RAW })).rows;
}

/**
 * Gives this session the settings Tributary's own sessions have (UTC, ISO dates, ...), and no
 * JIT: the fact queries look expensive to the planner, and compiling them takes far longer than
 * running them.
 */
export async function applySessionSettings(client: pg.Client): Promise<void> {
  for (const [name, value] of Object.entries({ ...SESSION_SETTINGS, jit: 'off' })) {
    await client.query('SELECT set_config($1, $2, false)', [name, value]);
  }
}

export const TABLE = 'every_type';

/** Creates the user types and `every_type (id int PRIMARY KEY, <one column per type>)`. */
export async function createEveryTypeTable(client: pg.Client, columns: readonly Column[]): Promise<void> {
  for (const sql of setupSql) await client.query(sql);
  const ddl = columns.map((c) => `${c.name} ${c.type}`).join(', ');
  await client.query(`CREATE TABLE ${TABLE} (id int PRIMARY KEY, ${ddl})`);
}

/** Rows 0..n-1: row r holds each column's r-th value (NULL past its list); the last is all NULLs. */
export function rowCount(columns: readonly Column[]): number {
  return Math.max(...columns.map((c) => c.values.length)) + 1;
}

export async function insertEveryTypeRows(client: pg.Client, columns: readonly Column[]): Promise<void> {
  const names = columns.map((c) => c.name).join(', ');
  const params = columns.map((_, i) => `$${i + 2}`).join(', ');
  const rows = rowCount(columns);
  for (let r = 0; r < rows; r++) {
    const values = columns.map((c) => c.values[r] ?? null);
    await client.query(`INSERT INTO ${TABLE} (id, ${names}) VALUES ($1, ${params})`, [r, ...values]);
  }
}

// ---------------------------------------------------------------------------------------------
// Facts

/** What Postgres says about one stored value: whether it is NULL, and the facts its check uses. */
export interface Facts {
  readonly isNull: boolean;
  readonly values: readonly (string | null)[];
}

/**
 * The SQL expressions (text-valued) whose values are the facts `check` compares with; `c` is the
 * value's expression. Arrays: dims, cardinality, a JSON list of each element's
 * `[isNull, ...facts]` in storage order, and the array's own text (for non-default bounds).
 */
export function factsSql(check: Check, c: string, depth = 0): string[] {
  const finiteOr = (expr: string) => `CASE WHEN isfinite(${c}) THEN (${expr})::text ELSE ${c}::text END`;
  if (typeof check === 'object') {
    const u = `u${depth}`;
    const element = factsSql(check.array, `${u}.e`, depth + 1);
    return [
      `array_dims(${c})`,
      `cardinality(${c})::text`,
      // In the select list, unnest keeps a composite element whole; num_nulls tells a NULL
      // element from a composite whose fields are all NULL.
      `(SELECT json_agg(json_build_array(num_nulls(${u}.e) = 1, ${element.join(', ')}) ORDER BY ${u}.o)::text
          FROM (SELECT unnest(${c}) AS e, generate_series(1, cardinality(${c})) AS o) ${u})`,
      `format('%s', ${c})`,
    ];
  }
  switch (check) {
    case 'int':
    case 'bigint':
    case 'text':
    case 'json':
      return [`format('%s', ${c})`];
    case 'numeric':
      return [`format('%s', ${c})`, `scale(${c})::text`];
    case 'float4':
      return [`encode(float4send(${c}), 'hex')`];
    case 'float8':
      return [`encode(float8send(${c}), 'hex')`];
    case 'bool':
      return [`${c}::int::text`];
    case 'bytea':
      return [`encode(${c}, 'hex')`];
    case 'date':
      return [finiteOr(`${c} - date '1970-01-01'`)];
    case 'time':
      return [`(extract(epoch from ${c}) * 1000000)::bigint::text`];
    case 'timetz':
      return [
        `(extract(epoch from ${c}::time) * 1000000)::bigint::text`,
        `extract(timezone from ${c})::int::text`,
      ];
    case 'timestamp':
      // Under TimeZone=UTC, a timestamptz's ::date and ::time are its UTC date and time.
      return [
        finiteOr(
          `(${c}::date - date '1970-01-01')::numeric * 86400000000 + (extract(epoch from ${c}::time) * 1000000)::bigint`,
        ),
      ];
    case 'interval':
      return [
        finiteOr(`extract(year from ${c}) * 12 + extract(month from ${c})`),
        finiteOr(`extract(day from ${c})`),
        finiteOr(
          `extract(hour from ${c}) * 3600000000 + extract(minute from ${c}) * 60000000 + extract(microseconds from ${c})`,
        ),
      ];
  }
}

/** Select-list items for a column's facts, aliased so `factsOf` can read them back. */
export function factsSelect(column: Pick<Column, 'name' | 'check'>): string {
  const { name, check } = column;
  return [
    `(num_nulls(${name}) = 1)::text AS "${name}#null"`,
    ...factsSql(check, name).map((sql, i) => `${sql} AS "${name}#${i}"`),
  ].join(', ');
}

export function factsOf(row: RawRow, column: Pick<Column, 'name' | 'check'>): Facts {
  const count = factsSql(column.check, column.name).length;
  return {
    isNull: row[`${column.name}#null`] === 'true',
    values: Array.from({ length: count }, (_, i) => row[`${column.name}#${i}`] ?? null),
  };
}

/** The facts of every listed column of every row (or the rows `where` selects), by id and name. */
export async function readFacts(
  client: pg.Client,
  columns: readonly Pick<Column, 'name' | 'check'>[],
  where = 'true',
): Promise<Map<number, Map<string, Facts>>> {
  const rows = await rawQuery(
    client,
    `SELECT id, ${columns.map(factsSelect).join(', ')} FROM ${TABLE} WHERE ${where} ORDER BY id`,
  );
  return new Map(
    rows.map((row) => [Number(row.id), new Map(columns.map((c) => [c.name, factsOf(row, c)] as const))]),
  );
}

// ---------------------------------------------------------------------------------------------
// The comparison

/** BigInt of an integral decimal text such as '-12' or '12.000000'. */
function integral(text: string | null | undefined): bigint {
  expect(text).toMatch(/^-?\d+(\.0+)?$/);
  return BigInt((text as string).replace(/\.0+$/, ''));
}

function floatHex(value: number, bytes: 4 | 8): string {
  const view = new DataView(new ArrayBuffer(bytes));
  if (bytes === 4) view.setFloat32(0, value);
  else view.setFloat64(0, value);
  return Buffer.from(view.buffer).toString('hex');
}

function expectFloatBits(decoded: Value, sentHex: string | null | undefined, bytes: 4 | 8): void {
  expect(typeof decoded).toBe('number');
  const bits = BigInt(`0x${sentHex}`);
  const exponentBits = bytes === 4 ? 8n : 11n;
  const mantissaBits = bytes === 4 ? 23n : 52n;
  const exponent = (bits >> mantissaBits) & ((1n << exponentBits) - 1n);
  const notANumber = exponent === (1n << exponentBits) - 1n && (bits & ((1n << mantissaBits) - 1n)) !== 0n;
  if (notANumber) expect(decoded).toBeNaN();
  else expect(floatHex(decoded as number, bytes)).toBe(sentHex);
  // setFloat32 would round a double; the decoded real must already be a float32.
  if (bytes === 4 && !notANumber) expect(Math.fround(decoded as number)).toBe(decoded);
}

/**
 * Asserts that `decoded` is exactly the value the facts describe. `undefined` (a column missing
 * from a row) never matches.
 */
export function expectValue(check: Check, decoded: Value | undefined, facts: Facts): void {
  expect(decoded).not.toBeUndefined();
  if (facts.isNull) {
    expect(decoded).toBeNull();
    return;
  }
  expect(decoded).not.toBeNull();
  const value = decoded as Value;
  const [f0, f1, f2, f3] = facts.values;
  if (typeof check === 'object') {
    expectArray(check.array, value, f0 ?? null, Number(f1), f2 ?? null, f3 ?? null);
    return;
  }
  switch (check) {
    case 'int':
      expect(value).toBe(Number(f0));
      return;
    case 'bigint':
      expect(value).toBe(BigInt(f0 as string));
      return;
    case 'text':
      expect(value).toBe(f0);
      return;
    case 'json':
      expect(value).toBeInstanceOf(PgJson);
      expect((value as PgJson).text).toBe(f0);
      return;
    case 'numeric': {
      const text = (value as Decimal).text;
      expect(text).toBe(f0);
      const dot = text.indexOf('.');
      if (f1 !== null) expect(dot < 0 ? 0 : text.length - dot - 1).toBe(Number(f1));
      return;
    }
    case 'float4':
      expectFloatBits(value, f0, 4);
      return;
    case 'float8':
      expectFloatBits(value, f0, 8);
      return;
    case 'bool':
      expect(value).toBe(f0 === '1');
      return;
    case 'bytea':
      expect(value).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(value as Uint8Array).toString('hex')).toBe(f0);
      return;
    case 'date': {
      const days = (value as PgDate).days;
      if (f0 === 'infinity') expect(days).toBe(Number.POSITIVE_INFINITY);
      else if (f0 === '-infinity') expect(days).toBe(Number.NEGATIVE_INFINITY);
      else expect(days).toBe(Number(f0));
      return;
    }
    case 'time':
      expect((value as PgTime).micros).toBe(integral(f0));
      return;
    case 'timetz':
      expect((value as PgTimeTz).micros).toBe(integral(f0));
      expect((value as PgTimeTz).offsetSeconds).toBe(Number(f1));
      return;
    case 'timestamp': {
      const micros = (value as PgTimestamp).micros;
      if (f0 === 'infinity') expect(micros).toBe(INFINITY_MICROS);
      else if (f0 === '-infinity') expect(micros).toBe(NEG_INFINITY_MICROS);
      else expect(micros).toBe(integral(f0));
      return;
    }
    case 'interval': {
      const { months, days, micros } = value as PgInterval;
      if (f0 === 'infinity' || f0 === '-infinity') {
        expect([months, days, micros]).toEqual(
          f0 === 'infinity'
            ? [2_147_483_647, 2_147_483_647, INT64_MAX]
            : [-2_147_483_648, -2_147_483_648, INT64_MIN],
        );
        return;
      }
      expect([BigInt(months), BigInt(days), micros]).toEqual([integral(f0), integral(f1), integral(f2)]);
      return;
    }
  }
}

function expectArray(
  element: Check,
  decoded: Value,
  dims: string | null,
  cardinality: number,
  elementsJson: string | null,
  text: string | null,
): void {
  if (dims === null) {
    expect(decoded).toEqual([]);
    expect(cardinality).toBe(0);
    return;
  }
  const bounds = [...dims.matchAll(/\[(-?\d+):(-?\d+)\]/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
  if (bounds.some(([lower]) => lower !== 1)) {
    // JS arrays cannot carry lower bounds: such an array stays its exact text.
    expect(decoded).toBe(text);
    return;
  }
  // Shape: each level has the length array_dims gives.
  let level: Value[] = [decoded];
  for (const [, upper] of bounds) {
    const next: Value[] = [];
    for (const sub of level) {
      expect(Array.isArray(sub)).toBe(true);
      expect((sub as Value[]).length).toBe(upper);
      next.push(...(sub as Value[]));
    }
    level = next;
  }
  expect(level.length).toBe(cardinality);
  const elements = JSON.parse(elementsJson as string) as [boolean, ...(string | null)[]][];
  expect(level.length).toBe(elements.length);
  elements.forEach(([isNull, ...values], i) => {
    try {
      expectValue(element, level[i], { isNull, values });
    } catch (error) {
      throw new Error(`element ${i + 1}: ${(error as Error).message}`);
    }
  });
}

/** Facts for failure messages, shortened. */
export function shownFacts(facts: Facts): string {
  return JSON.stringify(facts.isNull ? null : facts.values).slice(0, 300);
}
