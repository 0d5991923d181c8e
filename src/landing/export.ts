/**
 * `tributary export raw --to <dir>`: the raw zone as Parquet, partitioned Hive-style by table and
 * commit date (`<dir>/table=orders/commit_date=2026-11-21/batches_41_57_0.parquet`), so any
 * engine reads it (`read_parquet('<dir>/**\/*.parquet', hive_partitioning = true)`).
 *
 * Incremental and exactly once:
 * - Each raw row carries its writing transaction's batch number (raw-zone.ts), and batches
 *   commit in order, so "new since the last export" is "batch above the last one exported".
 *   What was exported is recorded per table in `<dir>/_tributary_export.json`.
 * - Before a range of batches is written its intent is recorded, and its files are named after
 *   it: an export killed midway writes the same range again, to the same file names, before
 *   anything else — no row twice, none lost. The state file is replaced atomically (rename).
 * - One export at a time per directory (`.tributary-export.lock`, taken over from a dead process).
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { TributaryError } from '../core/errors.js';
import { isRunning } from '../core/process.js';
import { quoteIdentifier as q } from '../core/table-ref.js';
import { Db } from '../warehouse/duckdb/db.js';
import { RAW_SCHEMA, rawTableNames } from './raw-zone.js';

const STATE_FILE = '_tributary_export.json';
const LOCK_FILE = '.tributary-export.lock';

interface ExportState {
  readonly format: 1;
  /** The last batch exported, by raw table name. */
  readonly tables: Record<string, string>;
  /** A range being written: redone first when an export was interrupted. */
  readonly pending: { readonly table: string; readonly from: string; readonly to: string } | null;
}

export interface ExportedTable {
  readonly table: string;
  readonly rows: number;
  /** The batches written, `(from, to]`; equal when nothing was new. */
  readonly from: bigint;
  readonly to: bigint;
}

/** Hive-style partition value: anything but letters, digits and `_.-` percent-encoded. */
export function partitionValue(text: string): string {
  return [...Buffer.from(text, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9_.-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
}

export async function exportRaw(
  connection: DuckDBConnection,
  catalog: string,
  dir: string,
): Promise<ExportedTable[]> {
  mkdirSync(dir, { recursive: true });
  const release = lock(dir);
  try {
    const db = new Db(connection);
    await db.run(`USE ${q(catalog)}`);
    let state = readState(dir);
    const out: ExportedTable[] = [];
    if (state.pending) {
      const { table, from, to } = state.pending;
      const rows = await writeRange(db, dir, table, BigInt(from), BigInt(to));
      state = { ...state, tables: { ...state.tables, [table]: to }, pending: null };
      writeState(dir, state);
      out.push({ table, rows, from: BigInt(from), to: BigInt(to) });
    }
    for (const { name } of await rawTableNames(db)) {
      const from = BigInt(state.tables[name] ?? '0');
      const top = await db.rows(`SELECT max(_tributary_batch) FROM ${q(RAW_SCHEMA)}.${q(name)}`);
      const to = top[0]?.[0] === null || top[0]?.[0] === undefined ? 0n : BigInt(top[0][0] as bigint);
      if (to <= from) {
        if (!out.some((t) => t.table === name)) out.push({ table: name, rows: 0, from, to: from });
        continue;
      }
      writeState(dir, { ...state, pending: { table: name, from: String(from), to: String(to) } });
      const rows = await writeRange(db, dir, name, from, to);
      state = { ...state, tables: { ...state.tables, [name]: String(to) }, pending: null };
      writeState(dir, state);
      const done = out.find((t) => t.table === name);
      if (done)
        out.splice(out.indexOf(done), 1, { table: name, rows: done.rows + rows, from: done.from, to });
      else out.push({ table: name, rows, from, to });
    }
    return out;
  } finally {
    release();
  }
}

/**
 * Parquet's INTERVAL keeps milliseconds and no sign (DuckDB refuses a negative one: an export
 * with `interval '-1 day'` failed), and DuckDB's text of an interval does not always read back
 * (`2562047788:00:54.775807`): an interval is written as its three fields, each with its sign.
 */
const intervalFields = (v: string) =>
  `{'months': (datepart('year', ${v}) * 12 + datepart('month', ${v}))::INTEGER, 'days': datepart('day', ${v})::INTEGER, 'micros': datepart('hour', ${v}) * 3600000000 + datepart('minute', ${v}) * 60000000 + datepart('microseconds', ${v})}`;

/** Parquet's TIME keeps no offset (DuckDB writes a TIMETZ converted to UTC): written as text. */
const timeTzText = (v: string) => `CAST(${v} AS VARCHAR)`;

const EXACT: Readonly<Record<string, (v: string) => string>> = {
  INTERVAL: intervalFields,
  'TIME WITH TIME ZONE': timeTzText,
};

/** The raw table's columns as written to Parquet: each as it is, or exactly (`EXACT`), lists too. */
async function exportColumns(db: Db, table: string): Promise<string> {
  const rows = await db.rows(
    `SELECT column_name, data_type FROM information_schema.columns
      WHERE table_catalog = current_database() AND table_schema = $1 AND table_name = $2
      ORDER BY ordinal_position`,
    [RAW_SCHEMA, table],
  );
  return rows
    .map(([name, type]) => {
      const column = q(String(name));
      const text = String(type);
      const scalar = EXACT[text];
      if (scalar) return `${scalar(column)} AS ${column}`;
      const element = text.endsWith('[]') ? EXACT[text.slice(0, -2)] : undefined;
      if (element) return `list_transform(${column}, x -> ${element('x')}) AS ${column}`;
      return column;
    })
    .join(', ');
}

async function writeRange(db: Db, dir: string, table: string, from: bigint, to: bigint): Promise<number> {
  const target = join(dir, `table=${partitionValue(table)}`);
  mkdirSync(target, { recursive: true });
  const columns = await exportColumns(db, table);
  const result = await db.read(
    `COPY (SELECT ${columns}, strftime(timezone('UTC', _tributary_commit_time), '%Y-%m-%d') AS commit_date
        FROM ${q(RAW_SCHEMA)}.${q(table)} WHERE _tributary_batch > $1::UBIGINT AND _tributary_batch <= $2::UBIGINT
        ORDER BY _tributary_batch, _tributary_lsn, _tributary_ordinal)
      TO '${target.replaceAll("'", "''")}'
      (FORMAT PARQUET, PARTITION_BY (commit_date), FILENAME_PATTERN 'batches_${from + 1n}_${to}_{i}', OVERWRITE_OR_IGNORE)`,
    [from, to],
  );
  return Number(result.rowsChanged);
}

function readState(dir: string): ExportState {
  const path = join(dir, STATE_FILE);
  if (!existsSync(path)) return { format: 1, tables: {}, pending: null };
  try {
    const state = JSON.parse(readFileSync(path, 'utf8')) as ExportState;
    if (state.format !== 1 || typeof state.tables !== 'object') throw new Error('unknown format');
    return state;
  } catch (error) {
    throw new TributaryError(
      'CONFIG',
      `${path} is not an export state Tributary wrote: ${(error as Error).message}`,
      {
        hint: 'export into a directory of its own (or remove the file to export everything again)',
      },
    );
  }
}

function writeState(dir: string, state: ExportState): void {
  const path = join(dir, STATE_FILE);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

function lock(dir: string): () => void {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(readFileSync(path, 'utf8'));
      if (Number.isInteger(holder) && holder > 0 && isRunning(holder)) {
        throw new TributaryError('USAGE', `another export (process ${holder}) is writing to ${dir}`, {
          hint: 'wait for it to finish',
        });
      }
      rmSync(path, { force: true });
    }
  }
  throw new TributaryError('USAGE', `cannot lock ${dir} for the export`);
}
