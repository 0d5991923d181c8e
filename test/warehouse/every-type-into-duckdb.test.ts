/**
 * Every type round-trips Postgres → DuckDB exactly: for each available Postgres major, the
 * every-type table (test/values/every-type.columns.ts, edge rows included) streams through the
 * real `PostgresSource` into a MemoryTarget, its items are applied to a `DuckDBWarehouse` on a
 * temp file, and every column of every row is compared with the facts Postgres computes for it
 * (every-type.facts.ts) through a canonical form that is exact on both sides: integers and
 * decimals as text, floats by their bits, dates as day numbers, times and timestamps as
 * microseconds (infinities by name), timetz with its offset, intervals as months/days/micros,
 * bytea as hex, lists element by element, and every VARCHAR-mapped type as Postgres's text.
 * Then an update (edge values, a NULL, an unchanged out-of-line value) and a delete, and again;
 * and once more after closing (a checkpoint) and reopening the warehouse. Assertions that fail
 * because of a warehouse bug are `it.fails`, named after the bug (`knownBug`).
 *
 * Values a column's first DuckDB type cannot hold (type-mapping.ts, widen.ts) are left out of
 * that table, so its columns keep their types: multi-dimensional array values and arrays with
 * lower bounds other than 1 (their LIST column widens to JSON), NaN in numeric(p,s) (DECIMAL
 * widens to VARCHAR), finite timestamps beyond DuckDB's range (a timestamp[] widens to JSON; a
 * timestamp column cannot, and the batch is refused). The last tests check each of those on a
 * table of its own: the widening converts the stored values and records itself, the refusal
 * names the table and column and applies nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamItem } from '../../src/core/change-event.js';
import { TributaryError } from '../../src/core/errors.js';
import { TypeRegistry } from '../../src/source/postgres/values/type-registry.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { EACH_MAJOR, useCluster } from '../harness/use-cluster.js';
import { waitFor } from '../helpers/events.js';
import { type RunningSource, startSource } from '../helpers/in-process-source.js';
import { acceptedColumns } from '../values/every-type.accepted.js';
import {
  BIG_TEXT,
  type Check,
  type Column,
  DELETED_ROW,
  EDGE_UPDATE,
  UPDATED_ROW,
} from '../values/every-type.columns.js';
import {
  applySessionSettings,
  createEveryTypeTable,
  type Facts,
  insertEveryTypeRows,
  readFacts,
  rowCount,
  shownFacts,
  TABLE,
} from '../values/every-type.facts.js';

/** The DuckDB type each column lands as (type-mapping.ts); a new column needs its line here. */
const DUCK_TYPES: Readonly<Record<string, string>> = {
  c_int2: 'SMALLINT',
  c_int4: 'INTEGER',
  c_int8: 'BIGINT',
  c_oid: 'UINTEGER',
  c_xid: 'UINTEGER',
  c_xid8: 'UBIGINT',
  c_float4: 'FLOAT',
  c_float8: 'DOUBLE',
  c_numeric: 'VARCHAR',
  c_numeric_scaled: 'DECIMAL(12,4)',
  c_bool: 'BOOLEAN',
  c_bytea: 'BLOB',
  c_uuid: 'UUID',
  c_text: 'VARCHAR',
  c_varchar: 'VARCHAR',
  c_bpchar: 'VARCHAR',
  c_name: 'VARCHAR',
  c_char: 'VARCHAR',
  c_inet: 'VARCHAR',
  c_cidr: 'VARCHAR',
  c_macaddr: 'VARCHAR',
  c_macaddr8: 'VARCHAR',
  c_money: 'VARCHAR',
  c_xml: 'VARCHAR',
  c_bit: 'VARCHAR',
  c_varbit: 'VARCHAR',
  c_tsvector: 'VARCHAR',
  c_tsquery: 'VARCHAR',
  c_pg_lsn: 'VARCHAR',
  c_point: 'VARCHAR',
  c_box: 'VARCHAR',
  c_path: 'VARCHAR',
  c_circle: 'VARCHAR',
  c_int4range: 'VARCHAR',
  c_int4multirange: 'VARCHAR',
  c_floatrange: 'VARCHAR',
  c_pair: 'VARCHAR',
  c_enum: 'VARCHAR',
  c_json: 'JSON',
  c_jsonb: 'JSON',
  c_date: 'DATE',
  c_time: 'TIME',
  c_timetz: 'TIME WITH TIME ZONE',
  c_timestamp: 'TIMESTAMP',
  c_timestamptz: 'TIMESTAMP WITH TIME ZONE',
  c_interval: 'INTERVAL',
  c_price: 'VARCHAR',
  c_cheap: 'VARCHAR',
  a_int4: 'INTEGER[]',
  a_int2: 'SMALLINT[]',
  a_int8: 'BIGINT[]',
  a_numeric: 'VARCHAR[]',
  a_float4: 'FLOAT[]',
  a_float8: 'DOUBLE[]',
  a_bool: 'BOOLEAN[]',
  a_bytea: 'BLOB[]',
  a_text: 'VARCHAR[]',
  a_bpchar: 'VARCHAR[]',
  a_varchar: 'VARCHAR[]',
  a_char: 'VARCHAR[]',
  a_uuid: 'UUID[]',
  a_json: 'JSON[]',
  a_jsonb: 'JSON[]',
  a_date: 'DATE[]',
  a_time: 'TIME[]',
  a_timetz: 'TIME WITH TIME ZONE[]',
  a_timestamp: 'TIMESTAMP[]',
  a_timestamptz: 'TIMESTAMP WITH TIME ZONE[]',
  a_interval: 'INTERVAL[]',
  a_oid: 'UINTEGER[]',
  a_xid8: 'UBIGINT[]',
  a_money: 'VARCHAR[]',
  a_pg_lsn: 'VARCHAR[]',
  a_xml: 'VARCHAR[]',
  a_tsvector: 'VARCHAR[]',
  a_inet: 'VARCHAR[]',
  a_box: 'VARCHAR[]',
  a_int4range: 'VARCHAR[]',
  a_pair: 'VARCHAR[]',
  a_enum: 'VARCHAR[]',
  a_price: 'VARCHAR[]',
  a_frame: 'VARCHAR[]',
  c_int_list: 'INTEGER[]',
  a_int_list: 'INTEGER[][]',
};

// ---------------------------------------------------------------------------------------------
// The canonical form, DuckDB side: per value a list of text facts (null for NULL); per list
// value, a list of those per element.

function duckFactsSql(check: Check, x: string, depth = 0): string {
  if (typeof check === 'object') {
    const e = `e${depth}`;
    return `list_transform(${x}, lambda ${e}: ${duckFactsSql(check.array, e, depth + 1)})`;
  }
  const text = (expr: string) => `CAST(${expr} AS VARCHAR)`;
  const facts = (...exprs: string[]) => `CASE WHEN ${x} IS NULL THEN NULL ELSE [${exprs.join(', ')}] END`;
  const finiteOr = (expr: string) => `CASE WHEN isinf(${x}) THEN ${text(x)} ELSE ${text(expr)} END`;
  switch (check) {
    case 'int':
    case 'bigint':
    case 'text':
    case 'json':
    case 'numeric':
      return facts(text(x));
    case 'float4':
    case 'float8':
      // Shortest round-trip text of the double (a float widens exactly); JS parses it exactly.
      return facts(text(`CAST(${x} AS DOUBLE)`));
    case 'bool':
      return facts(text(`CAST(${x} AS INTEGER)`));
    case 'bytea':
      return facts(`lower(hex(${x}))`);
    case 'date':
      return facts(finiteOr(`${x} - DATE '1970-01-01'`));
    case 'time':
      return facts(text(`epoch_us(${x})`));
    case 'timetz':
      return facts(text(`epoch_us(CAST(${x} AS TIME))`), text(`datepart('timezone', ${x})`));
    case 'timestamp':
      return facts(finiteOr(`epoch_us(${x})`));
    case 'interval': {
      const part = (p: string) => `datepart('${p}', ${x})`;
      return facts(
        text(`${part('year')} * 12 + ${part('month')}`),
        text(part('day')),
        text(`${part('hour')} * 3600000000 + ${part('minute')} * 60000000 + ${part('microseconds')}`),
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The comparison with Postgres's facts

const integralText = (s: string | null | undefined) => s?.replace(/\.0+$/, '') ?? null;

function floatBits(value: number, bytes: 4 | 8): string {
  const view = new DataView(new ArrayBuffer(bytes));
  if (bytes === 4) view.setFloat32(0, value);
  else view.setFloat64(0, value);
  return Buffer.from(view.buffer).toString('hex');
}

function isNaNBits(hex: string, bytes: 4 | 8): boolean {
  const bits = BigInt(`0x${hex}`);
  const [exponentBits, mantissaBits] = bytes === 4 ? [8n, 23n] : [11n, 52n];
  const exponent = (bits >> mantissaBits) & ((1n << exponentBits) - 1n);
  return exponent === (1n << exponentBits) - 1n && (bits & ((1n << mantissaBits) - 1n)) !== 0n;
}

function parseDuckDouble(text: string): number {
  const special: Record<string, number> = {
    nan: Number.NaN,
    '-nan': Number.NaN,
    inf: Infinity,
    '-inf': -Infinity,
  };
  return special[text] ?? Number(text);
}

const INFINITE_INTERVAL = {
  infinity: ['2147483647', '2147483647', '9223372036854775807'],
  '-infinity': ['-2147483648', '-2147483648', '-9223372036854775808'],
} as const;

/** What DuckDB's facts must be for a non-NULL scalar with these Postgres facts. */
function expectedScalar(check: Exclude<Check, object>, pgFacts: readonly (string | null)[]): unknown[] {
  const [f0, f1, f2] = pgFacts;
  switch (check) {
    case 'numeric':
      return [f0]; // the text carries the scale
    case 'time':
    case 'timestamp':
      return [integralText(f0)];
    case 'interval':
      if (f0 === 'infinity' || f0 === '-infinity') return [...INFINITE_INTERVAL[f0]];
      return [integralText(f0), integralText(f1), integralText(f2)];
    default:
      return [...pgFacts];
  }
}

/** Asserts DuckDB's canonical form of one value equals what Postgres's facts say. */
function expectSame(check: Check, pg: Facts, duck: unknown): void {
  if (pg.isNull) {
    expect(duck).toBeNull();
    return;
  }
  expect(duck).not.toBeNull();
  if (typeof check === 'object') {
    const [dims, cardinality, elementsJson] = pg.values;
    expect(Array.isArray(duck), 'a list').toBe(true);
    const list = duck as unknown[];
    if (dims === null) {
      expect(list).toEqual([]);
      return;
    }
    expect(dims).toBe(`[1:${cardinality}]`); // other shapes are refused, and left out
    const elements = JSON.parse(elementsJson as string) as [boolean, ...(string | null)[]][];
    expect(list).toHaveLength(elements.length);
    elements.forEach(([isNull, ...values], i) => {
      try {
        expectSame(check.array, { isNull, values }, list[i]);
      } catch (error) {
        throw new Error(`element ${i + 1}: ${(error as Error).message}`);
      }
    });
    return;
  }
  if (check === 'float4' || check === 'float8') {
    const bytes = check === 'float4' ? 4 : 8;
    const sent = pg.values[0] as string;
    const [text] = duck as [string];
    const value = parseDuckDouble(text);
    if (isNaNBits(sent, bytes)) expect(value).toBeNaN();
    else expect(`${text} = ${floatBits(value, bytes)}`).toBe(`${text} = ${sent}`);
    return;
  }
  expect(duck).toEqual(expectedScalar(check, pg.values));
}

// ---------------------------------------------------------------------------------------------

/** Row 1 gets these (none of them refused): edge values, one set to NULL, NULLs given values. */
/**
 * The shared edge update, with arrays a DuckDB LIST can hold (one dimension: multi-dimensional
 * values are a documented refusal, tested apart) and a value for the DECIMAL column.
 */
const { a_enum: _multiDimensional, ...ONE_DIMENSIONAL_UPDATE } = EDGE_UPDATE;
const UPDATE: Readonly<Record<string, string | null>> = {
  ...ONE_DIMENSIONAL_UPDATE,
  c_numeric_scaled: '-0.0001',
  a_text: '{"a b","NULL",NULL,"{x}"}',
  a_float8: '{-0,NULL,4.9e-324,NaN}',
  a_timestamp: '{-infinity,"294246-12-31 23:59:59.999999"}',
  c_int_list: '{7,NULL}',
};

/** Columns of the `refused` table: values that do not fit widen them, or are refused. */
const REFUSED_COLUMNS = {
  a_int4: 'int4[]',
  a_text: 'text[]',
  a_int_list: 'int_list[]',
  c_numeric_scaled: 'numeric(12,4)',
  c_timestamp: 'timestamp',
  c_timestamptz: 'timestamptz',
  a_timestamp: 'timestamp[]',
  a_bounds: 'int4[]',
};
const REFUSED_DDL = Object.entries(REFUSED_COLUMNS)
  .map(([name, type]) => `${name} ${type}`)
  .join(', ');

interface Widening {
  readonly column: string;
  /** A value that fits the column's first type, stored before: converted by the widening. */
  readonly fits: string;
  readonly fitsAfter: string;
  /** The value that does not fit, and what the widened column holds for it. */
  readonly unfit: string;
  readonly unfitAfter: string;
  readonly type: string;
}

/** Values that widen their column (widen.ts), as SQL input text and the widened text. */
const WIDENINGS: readonly Widening[] = [
  {
    column: 'a_int4',
    fits: '{1,NULL,-3}',
    fitsAfter: '[1,null,-3]',
    unfit: '{{1,2},{3,4}}',
    unfitAfter: '[[1,2],[3,4]]',
    type: 'JSON',
  },
  {
    column: 'a_text',
    fits: '{"a \\"b\\"",NULL,"NULL"}',
    fitsAfter: '["a \\"b\\"",null,"NULL"]',
    unfit: '{{a,b},{c,NULL}}',
    unfitAfter: '[["a","b"],["c",null]]',
    type: 'JSON',
  },
  {
    column: 'a_int_list',
    fits: '{"{1,2}",NULL}',
    fitsAfter: '[[1,2],null]',
    unfit: '{"{1,2}","{{1},{2}}"}',
    unfitAfter: '[[1,2],[[1],[2]]]',
    type: 'JSON',
  },
  {
    column: 'c_numeric_scaled',
    fits: '-12.5',
    fitsAfter: '-12.5000',
    unfit: 'NaN',
    unfitAfter: 'NaN',
    type: 'VARCHAR',
  },
  {
    column: 'a_timestamp',
    fits: '{"2000-01-01 12:34:56.5",infinity}',
    fitsAfter: '["2000-01-01T12:34:56.500000","infinity"]',
    unfit: '{2000-01-01,"294247-01-10 04:00:54.775807"}',
    unfitAfter: '["2000-01-01T00:00:00.000000","+294247-01-10T04:00:54.775807"]',
    type: 'JSON',
  },
  {
    column: 'a_bounds',
    fits: '{5}',
    fitsAfter: '[5]',
    unfit: '[0:1]={1,2}',
    unfitAfter: '"[0:1]={1,2}"',
    type: 'JSON',
  },
];

/** Values no type of the warehouse holds exactly: the batch is refused. */
const REFUSED: readonly (readonly [string, string])[] = [
  ['c_timestamp', '294276-12-31 23:59:59.999999'],
  ['c_timestamptz', '294276-12-31 23:59:59.999999+00'],
];

const EACH_COLUMN = Object.keys(DUCK_TYPES);

const STAGES = ['after the inserts', 'after the update and delete', 'after reopening the warehouse'] as const;
type Stage = (typeof STAGES)[number];

/**
 * Warehouse bugs this suite finds (reported), by column and stage: their assertions are
 * `it.fails`, so the suite turns red when they are fixed. Root cause in DuckDB 1.x storage:
 * -0.0 compares equal to 0.0, and (a) `INSERT ... ON CONFLICT DO UPDATE`, the warehouse's upsert,
 * stores a -0.0 list element as +0.0; (b) the checkpoint on close compresses a FLOAT column's
 * -0.0 next to a 0.0 into 0.0. The mapping promises "-0 kept".
 */
const NEGATIVE_ZERO_IN_LIST = 'negative zero in a float list stored as +0';
const NEGATIVE_ZERO_AFTER_CHECKPOINT =
  'negative zero next to +0 in a float column reads +0 after a checkpoint';
function knownBug(column: string, stage: Stage): string | null {
  if (column === 'a_float4' || column === 'a_float8') return NEGATIVE_ZERO_IN_LIST;
  if (column === 'c_float4' && stage === 'after reopening the warehouse')
    return NEGATIVE_ZERO_AFTER_CHECKPOINT;
  return null;
}

type FactsById = Map<number, Map<string, Facts>>;
type DuckById = Map<number, Map<string, unknown>>;

/** A Postgres table and the warehouse's copy of it, compared. */
interface Snapshot {
  readonly pg: FactsById;
  readonly duck: DuckById;
}

describe.each(EACH_MAJOR)('every type into DuckDB on %s', (_label, binaries) => {
  const cluster = useCluster({ binaries });
  let client: pg.Client;
  let running: RunningSource | undefined;
  let dir: string;
  let warehouse: DuckDBWarehouse;
  let columns: Column[] = [];
  let bigRow = -1;
  let consumed = 0;
  let afterInserts: Snapshot;
  let afterChanges: Snapshot;
  let afterReopen: Snapshot;

  /** Waits for the next `n` transactions from the source; returns their items. */
  async function nextTransactions(n: number): Promise<StreamItem[]> {
    const end = await waitFor(`${n} more transactions`, () => {
      let seen = 0;
      for (let i = consumed; i < running!.target.items.length; i++) {
        if (running!.target.items[i]!.kind === 'commit' && ++seen === n) return i + 1;
      }
      return undefined;
    });
    const items = running!.target.items.slice(consumed, end);
    consumed = end;
    return items;
  }

  async function snapshot(): Promise<Snapshot> {
    const pgFacts = await readFacts(client, [{ name: 'id', check: 'int' }, ...columns]);
    const select = columns.map((c) => `${duckFactsSql(c.check, `"${c.name}"`)} AS "${c.name}"`).join(', ');
    const { rows } = await warehouse.query(`SELECT id, ${select} FROM main.${TABLE} ORDER BY id`);
    const duck: DuckById = new Map(
      rows.map((row) => [Number(row[0]), new Map(columns.map((c, i) => [c.name, row[i + 1]] as const))]),
    );
    return { pg: pgFacts, duck };
  }

  beforeAll(async () => {
    client = await cluster().connect();
    await applySessionSettings(client);
    columns = acceptedColumns(binaries.major);
    for (const c of columns)
      expect(
        c.values.some((v) => v !== null),
        `${c.name} keeps values`,
      ).toBe(true);
    bigRow = columns.find((c) => c.name === 'c_text')!.values.indexOf(BIG_TEXT);
    expect(bigRow).toBeGreaterThan(DELETED_ROW);
    await createEveryTypeTable(client, columns);
    await client.query(`ALTER TABLE ${TABLE} ALTER COLUMN c_text SET STORAGE EXTERNAL`);
    await client.query(`CREATE TABLE refused (id int PRIMARY KEY, ${REFUSED_DDL})`);

    const types = new TypeRegistry();
    running = await startSource(cluster(), { slot: 'every_type_duck', types });
    dir = mkdtempSync(join(tmpdir(), 'tributary-every-type-'));
    warehouse = await DuckDBWarehouse.open(join(dir, 'w.duckdb'), { typeInfo: (oid) => types.info(oid) });

    await client.query('BEGIN');
    await insertEveryTypeRows(client, columns);
    await client.query('COMMIT');
    await warehouse.apply(await nextTransactions(1));
    afterInserts = await snapshot();

    const names = Object.keys(UPDATE);
    await client.query(
      `UPDATE ${TABLE} SET ${names.map((n, i) => `${n} = $${i + 2}`).join(', ')} WHERE id = $1`,
      [UPDATED_ROW, ...Object.values(UPDATE)],
    );
    await client.query(`UPDATE ${TABLE} SET c_int4 = -7 WHERE id = $1`, [bigRow]);
    await client.query(`DELETE FROM ${TABLE} WHERE id = $1`, [DELETED_ROW]);
    await warehouse.apply(await nextTransactions(3));
    afterChanges = await snapshot();

    // Closing checkpoints the file: the values must survive DuckDB's storage compression too.
    await warehouse.close();
    warehouse = await DuckDBWarehouse.open(join(dir, 'w.duckdb'), { typeInfo: (oid) => types.info(oid) });
    afterReopen = await snapshot();
  });

  afterAll(async () => {
    await running?.stop();
    await warehouse?.close();
    await client?.end();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('creates every column with the DuckDB type the mapping documents', async () => {
    const { rows } = await warehouse.query(
      `SELECT column_name, data_type FROM information_schema.columns
        WHERE table_schema = 'main' AND table_name = '${TABLE}' AND column_name NOT LIKE '\\_tributary%' ESCAPE '\\'
        ORDER BY ordinal_position`,
    );
    expect(Object.fromEntries(rows.map(([name, type]) => [name, type]))).toEqual({
      id: 'INTEGER',
      ...DUCK_TYPES,
    });
  });

  it('holds exactly the rows Postgres holds, after the inserts and after the update and delete', () => {
    expect([...afterInserts.duck.keys()]).toEqual([...afterInserts.pg.keys()]);
    expect([...afterInserts.pg.keys()]).toEqual(Array.from({ length: rowCount(columns) }, (_, i) => i));
    expect([...afterChanges.duck.keys()]).toEqual([...afterChanges.pg.keys()]);
    expect(afterChanges.duck.has(DELETED_ROW)).toBe(false);
  });

  function expectColumn(name: string, stage: Stage): void {
    const { pg: pgFacts, duck } = {
      [STAGES[0]]: afterInserts,
      [STAGES[1]]: afterChanges,
      [STAGES[2]]: afterReopen,
    }[stage];
    const column = columns.find((c) => c.name === name)!;
    for (const [id, facts] of pgFacts) {
      const pgValue = facts.get(name)!;
      const duckValue = duck.get(id)?.get(name);
      try {
        expect(duck.has(id), 'the row is in DuckDB').toBe(true);
        expectSame(column.check, pgValue, duckValue);
      } catch (error) {
        throw new Error(
          `${name} of row ${id}: Postgres facts ${shownFacts(pgValue)}, DuckDB ${JSON.stringify(duckValue).slice(0, 300)}: ${(error as Error).message}`,
        );
      }
    }
  }

  const cases = EACH_COLUMN.flatMap((name) =>
    STAGES.map((stage) => ({ name, stage, bug: knownBug(name, stage) })),
  );
  it.each(cases.filter((c) => !c.bug))(
    '$name holds exactly what Postgres holds in every row $stage',
    ({ name, stage }) => expectColumn(name, stage),
  );
  it.fails.each(cases.filter((c) => c.bug))(
    'BUG $bug: $name holds exactly what Postgres holds in every row $stage',
    ({ name, stage }) => expectColumn(name, stage),
  );

  it('keeps the out-of-line value the update left unchanged', () => {
    expect(afterChanges.duck.get(bigRow)?.get('c_text')).toEqual([BIG_TEXT]);
    expect(afterChanges.duck.get(bigRow)?.get('c_int4')).toEqual(['-7']);
  });

  it('exports its raw zone to Parquet with every value exact (interval as its fields, timetz as text)', async () => {
    const exported = join(dir, 'export');
    await warehouse.exportRaw(exported);
    const { rows: types } = await warehouse.query(
      `SELECT column_name, data_type FROM information_schema.columns
        WHERE table_schema = '_tributary_raw' AND table_name = '${TABLE}' ORDER BY ordinal_position`,
    );
    const kept = types.filter(([name]) => name === 'id' || columns.some((c) => c.name === name));
    const order = 'ORDER BY _tributary_lsn, _tributary_ordinal';
    const { rows: raw } = await warehouse.query(
      `SELECT ${kept.map(([name]) => `CAST("${name}" AS VARCHAR)`).join(', ')} FROM _tributary_raw.${TABLE} ${order}`,
    );
    expect(raw.length).toBeGreaterThan(columns[0]?.values.length ?? 0);
    const reader = await DuckDBInstance.create(':memory:');
    try {
      const connection = await reader.connect();
      // each Parquet column read back as the raw zone's type, then compared as DuckDB's text
      const interval = (v: string) =>
        `to_months(${v}.months) + to_days(${v}.days) + to_microseconds(${v}.micros)`;
      const back = kept.map(([name, type]) => {
        const column = `"${name}"`;
        if (type === 'INTERVAL') return `CAST(${interval(column)} AS VARCHAR)`;
        if (type === 'INTERVAL[]') return `CAST(list_transform(${column}, x -> ${interval('x')}) AS VARCHAR)`;
        return `CAST(CAST(${column} AS ${type}) AS VARCHAR)`;
      });
      const files = await connection.runAndReadAll(
        `SELECT ${back.join(', ')} FROM read_parquet('${exported}/**/*.parquet', hive_partitioning = true) ${order}`,
      );
      expect(files.getRowsJS()).toEqual(raw);
    } finally {
      reader.closeSync();
    }
  });

  describe('widens a column for a value its type cannot hold, converting what it stored', () => {
    let nextId = 100;
    beforeAll(async () => {
      await client.query('INSERT INTO refused (id) VALUES (0)'); // creates the table in DuckDB
      await warehouse.apply(await nextTransactions(1));
    });

    it.each(WIDENINGS)('$column: $unfit', async (w) => {
      const typeOf = async () =>
        (
          await warehouse.query(
            `SELECT data_type FROM information_schema.columns WHERE table_schema = 'main' AND table_name = 'refused' AND column_name = '${w.column}'`,
          )
        ).rows[0]?.[0];
      const [stored, unfit, later] = [nextId++, nextId++, nextId++];
      await client.query(`INSERT INTO refused (id, ${w.column}) VALUES ($1, $2)`, [stored, w.fits]);
      await warehouse.apply(await nextTransactions(1));
      const before = await typeOf();
      expect(before).not.toBe(w.type);
      await client.query(`INSERT INTO refused (id, ${w.column}) VALUES ($1, $2)`, [unfit, w.unfit]);
      await client.query(`INSERT INTO refused (id, ${w.column}) VALUES ($1, $2)`, [later, w.fits]);
      const checkpoint = await warehouse.apply(await nextTransactions(2));
      expect(checkpoint).toEqual(await warehouse.checkpoint());
      expect(await typeOf()).toBe(w.type);
      const { rows } = await warehouse.query(
        `SELECT id, CAST(${w.column} AS VARCHAR) FROM main.refused WHERE id IN (${stored}, ${unfit}, ${later}) ORDER BY id`,
      );
      expect(rows).toEqual([
        [stored, w.fitsAfter],
        [unfit, w.unfitAfter],
        [later, w.fitsAfter],
      ]);
      const notes = await warehouse.query(
        `SELECT json_extract_string(columns, '$.widened.from'), json_extract_string(columns, '$.widened.because')
           FROM _tributary.schema_versions WHERE table_name = 'refused' AND json_extract_string(columns, '$.widened.column') = '${w.column}'`,
      );
      expect(notes.rows).toEqual([[before, expect.stringContaining(`public.refused.${w.column}:`)]]);
    });
  });

  describe('refuses a value no warehouse type holds, naming the table and column, applying nothing', () => {
    let nextId = 1;

    it.each(REFUSED)('%s: %s', async (column, value) => {
      const id = nextId++;
      const before = await warehouse.checkpoint();
      const rowsBefore = (await warehouse.query(`SELECT id FROM main.refused ORDER BY id`)).rows;
      await client.query(`INSERT INTO refused (id, ${column}) VALUES ($1, $2)`, [id, value]);
      const batch = await nextTransactions(1);
      const failure = await warehouse.apply(batch).then(
        () => null,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(TributaryError);
      expect((failure as TributaryError).message).toContain(`public.refused.${column}:`);
      expect(await warehouse.checkpoint()).toEqual(before);
      expect((await warehouse.query(`SELECT id FROM main.refused ORDER BY id`)).rows).toEqual(rowsBefore);
      // The warehouse is still usable: the same transaction without the refused value applies.
      await client.query(`DELETE FROM refused WHERE id = $1`, [id]);
      expect(await warehouse.apply(await nextTransactions(1))).not.toEqual(before);
    });
  });
});
