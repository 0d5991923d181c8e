/**
 * `tributary verify`: proves the warehouse holds exactly the source's rows, comparing both at
 * ONE point of the stream, so replication lag never raises a false alarm.
 *
 * The point: a temporary replication slot exports a snapshot of the source; it shows exactly
 * the transactions that committed before the slot's consistent point L. The loader is asked to
 * stop between the last change that committed before L and the first at or after it
 * (Loader.pinAt) and to open a read transaction on the warehouse there (DuckDB's MVCC keeps that
 * view while the loader goes on). Creating the slot waits for the transactions running then, so
 * L is learnt late; it is never below the WAL insert position read just before, which the loader
 * may apply up to meanwhile. A logical message written after the slot exists makes the stream
 * reach L even on an idle source. When the warehouse passed that bound before the request
 * reached the loader (PointPassed), verification starts over with a new slot.
 *
 * Then per table (table-compare.ts): bucket counts and hash sums on both sides, bisection of the
 * buckets that differ, differing keys row by row. The source is read by `concurrency`
 * connections importing the snapshot (REPEATABLE READ, READ ONLY), each statement under the
 * statement timeout; one table at a time.
 *
 * With `replica`, the snapshot is exported on a hot standby of the source at its replay position
 * instead, and the rows are read there (replica.ts says how the point is placed).
 *
 * Tables a snapshot or backfill job is still copying at the point are skipped (said so); columns
 * no canonical form compares exactly are listed as not compared.
 */
import type pg from 'pg';
import { hasPrimaryKey } from '../../core/change-event.js';
import { TributaryError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { formatLsn, type Lsn, parseLsn } from '../../core/lsn.js';
import { formatPosition } from '../../core/position.js';
import { displayName, quoteIdentifier as q, type TableRef } from '../../core/table-ref.js';
import { type PinPoint, PointPassed } from '../../pipeline/loader.js';
import { connectClient } from '../../source/postgres/setup/connect.js';
import { describeTarget, type SourceConfig } from '../../source/postgres/setup/connection-config.js';
import {
  type ExportedSnapshot,
  exportSnapshot,
  SnapshotWorker,
} from '../../source/postgres/snapshot/snapshot-reader.js';
import { describeForSnapshot } from '../../source/postgres/snapshot/snapshot-table.js';
import type { TypeRegistry } from '../../source/postgres/values/type-registry.js';
import type { PinnedReader } from '../../warehouse/duckdb/duckdb-warehouse.js';
import { CURRENT_TABLES_SQL, duckSchemaOf, tableSql } from '../../warehouse/duckdb/tables.js';
import { type ColumnCanon, canonicalColumn, readSourceColumns } from './canonical.js';
import { exportOnReplica } from './replica.js';
import {
  type ComparedTable,
  type CompareSettings,
  compareTable,
  type KeyDifference,
  type QueryLog,
  type SourceSide,
} from './table-compare.js';

export interface VerifySettings extends CompareSettings {
  /** Source connections reading at once. */
  readonly concurrency: number;
  /** Per source statement; 0 for none. */
  readonly statementTimeoutMs: number;
  /**
   * Longest wait for the source's snapshot: creating its slot waits for every transaction
   * running then, and meanwhile the loader holds what it receives past the bound.
   */
  readonly pointTimeoutMs: number;
}

export const DEFAULT_VERIFY_SETTINGS: VerifySettings = Object.freeze({
  concurrency: 2,
  statementTimeoutMs: 5 * 60_000,
  pointTimeoutMs: 60_000,
  bucketRows: 100_000,
  leafRows: 1_000,
  fanout: 16,
  maxReported: 1_000,
});

/** Opens the warehouse's view at the point: `point` resolves to L once the slot exists. */
export type PinWarehouse = (bound: Lsn, point: Promise<PinPoint>) => Promise<PinnedReader>;

export interface VerifyOptions {
  readonly connection: SourceConfig;
  readonly publication: string;
  readonly types: TypeRegistry;
  /** The tables to compare; null: every table the warehouse holds. */
  readonly tables: readonly TableRef[] | null;
  readonly settings?: Partial<VerifySettings>;
  readonly pin: PinWarehouse;
  readonly logger: Logger;
  /** Aggregates that must be equal on both sides at the point, to the last digit. */
  readonly ledgers?: readonly Ledger[];
  /**
   * Read the source's rows on this hot standby of it (replica.ts): production then serves a WAL
   * position read and a logical message per attempt, nothing more.
   */
  readonly replica?: SourceConfig;
}

/**
 * A ledger reconciliation: the same aggregate on both sides (daily revenue, say), compared
 * exactly, row for row, as text. `sql` runs on both unless `warehouseSql` gives DuckDB its own.
 */
export interface Ledger {
  readonly name: string;
  readonly sql: string;
  readonly warehouseSql?: string;
}

export interface LedgerVerdict {
  readonly name: string;
  readonly status: 'match' | 'differs';
  readonly rows: number;
  /** Rows one side has and the other has not (as tab-joined text), at most 100 each. */
  readonly onlySource: readonly string[];
  readonly onlyWarehouse: readonly string[];
}

export interface TableVerdict {
  readonly table: string;
  readonly status: 'match' | 'differs' | 'skipped';
  /** Why a table was skipped, or what differs beyond rows (a missing table, columns). */
  readonly reason?: string;
  readonly mode?: 'range' | 'hash' | 'multiset';
  readonly sourceRows?: number;
  readonly warehouseRows?: number;
  readonly buckets?: number;
  readonly differingBuckets?: readonly string[];
  readonly differences?: readonly KeyDifference[];
  /** Differences not listed (beyond the report's limit, or in a table without a key). */
  readonly unlisted?: number;
  /** Source columns the warehouse lacks, and warehouse columns the source lacks. */
  readonly missingColumns?: readonly string[];
  readonly extraColumns?: readonly string[];
  /**
   * Time spent: wall clock for the table, and the sum of its source statements' times (several
   * run at once) and of its warehouse queries' times.
   */
  readonly seconds?: { readonly total: number; readonly source: number; readonly warehouse: number };
  /** Columns present on both sides that could not be compared exactly, with why. */
  readonly uncompared?: readonly { readonly column: string; readonly reason: string }[];
}

export interface VerifyReport {
  /** The point both sides were compared at: the slot's consistent point. */
  readonly point: string;
  /** The server the source's rows were read on, without secrets. */
  readonly readFrom: string;
  /** The source snapshot read, as Postgres shows it (`xmin:xmax:xip`). */
  readonly snapshot: string;
  /** The warehouse's checkpoint at the point. */
  readonly checkpoint: string | null;
  /** True when every compared table matches. */
  readonly ok: boolean;
  readonly tables: readonly TableVerdict[];
  readonly ledgers: readonly LedgerVerdict[];
  readonly queries: readonly QueryLog[];
  /** Attempts at pinning the point (more than one when the warehouse raced past it). */
  readonly attempts: number;
}

const MAX_ATTEMPTS = 5;

const MESSAGE_PREFIX = 'tributary.verify';

export async function verify(options: VerifyOptions): Promise<VerifyReport> {
  const settings = { ...DEFAULT_VERIFY_SETTINGS, ...options.settings };
  for (let attempt = 1; ; attempt++) {
    const pinned = await pinBoth(options, settings);
    if (pinned === null) {
      if (attempt >= MAX_ATTEMPTS) {
        throw new TributaryError(
          'SINK',
          `the warehouse kept moving past the verification point (${attempt} attempts)`,
          { hint: 'try again; the loader applies changes faster than a slot can be created' },
        );
      }
      continue;
    }
    try {
      const report = await compareAll(options, settings, pinned);
      if (pinned.exporter && !(await pinned.exporter.alive())) {
        throw new TributaryError(
          'SINK',
          'the replica cancelled the session holding the snapshot (a conflict with recovery): the rows read there cannot be trusted',
          {
            hint: 'set hot_standby_feedback = on on the standby (or raise max_standby_streaming_delay), then try again',
          },
        );
      }
      return { ...report, attempts: attempt };
    } finally {
      await pinned.reader.close();
      await Promise.all(pinned.workers.map((w) => w.close()));
      await pinned.exporter?.release();
    }
  }
}

interface Pinned {
  readonly point: Lsn;
  /** The source snapshot, `xmin:xmax:xip` (pg_current_snapshot). */
  readonly snapshot: string;
  readonly reader: PinnedReader;
  readonly workers: readonly SnapshotWorker[];
  /** A standby's exporting session, held to the end (replica.ts says why). */
  readonly exporter: Exported | null;
}

/** The source snapshot and the warehouse view at the same point; null when the warehouse raced past it. */
async function pinBoth(options: VerifyOptions, settings: VerifySettings): Promise<Pinned | null> {
  const client = await connectClient(options.connection, { applicationName: 'tributary verify' });
  try {
    const bound = parseLsn(
      (await client.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows[0]!.lsn,
    );
    const held: { snapshot: Exported | null } = { snapshot: null };
    const slot = `tributary_verify_${process.pid}_${Date.now().toString(36)}`;
    const replica = options.replica;
    const reading = replica ?? options.connection;
    const exporting: Promise<Exported> = replica
      ? exportOnReplica(replica, client, bound, Date.now() + settings.pointTimeoutMs, MESSAGE_PREFIX)
      : exportSnapshot(options.connection, { name: slot, temporary: true }).then(fromSlot);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new TributaryError(
            'SINK',
            `the source gave no snapshot within ${settings.pointTimeoutMs / 1000} s: creating a slot waits for every transaction running on it`,
            {
              hint: 'look for long-running or idle-in-transaction sessions on the source (pg_stat_activity), then try again',
            },
          ),
        );
      }, settings.pointTimeoutMs);
    });
    // the point is known once the workers hold the snapshot: its LSN, and which transactions
    // it does not see (Loader's PinPoint checks the two agree)
    const workers: SnapshotWorker[] = [];
    let seen = '';
    const point = (async (): Promise<PinPoint> => {
      const snapshot = await Promise.race([exporting, late]);
      held.snapshot = snapshot;
      for (let i = 0; i < Math.max(1, settings.concurrency); i++) {
        workers.push(
          await SnapshotWorker.open(reading, snapshot.name, {
            statementTimeoutMs: settings.statementTimeoutMs,
          }),
        );
      }
      const view = await workers[0]!.client.query<{ s: string }>('SELECT pg_current_snapshot()::text AS s');
      seen = view.rows[0]!.s;
      // on a standby the snapshot does not list its running transactions: the position places it
      return snapshot.unsureThrough === undefined
        ? { lsn: snapshot.point, invisible: invisibleIn(seen) }
        : { lsn: snapshot.point, unsureThrough: snapshot.unsureThrough };
    })();
    const reader = options.pin(bound, point);
    // whatever happens to the pin, the exported snapshot must not leak
    try {
      await point;
    } catch (error) {
      reader.then((r) => r.close()).catch(() => {});
      await Promise.all(workers.map((w) => w.close()));
      // a snapshot that comes after the timeout is let go when it comes
      exporting.then((s) => s.release()).catch(() => {});
      throw error;
    } finally {
      clearTimeout(timer);
      if (!held.snapshot?.holdToEnd) await held.snapshot?.release();
    }
    // the stream reaches the point even when nothing else is written
    await client.query('SELECT pg_logical_emit_message(true, $1, $2)', [MESSAGE_PREFIX, slot]);
    try {
      const pinned = await reader;
      const exporter = held.snapshot?.holdToEnd ? held.snapshot : null;
      return { point: (await point).lsn, snapshot: seen, reader: pinned, workers, exporter };
    } catch (error) {
      await Promise.all(workers.map((w) => w.close()));
      if (held.snapshot?.holdToEnd) await held.snapshot.release();
      if (error instanceof PointPassed) {
        options.logger.debug({ err: error.message }, 'the warehouse passed the verification point; again');
        return null;
      }
      throw error;
    }
  } finally {
    await client.end().catch(() => {});
  }
}

/** A snapshot exported at a point of the stream: by a slot on the source, or on a standby. */
interface Exported {
  readonly name: string;
  readonly point: Lsn;
  readonly unsureThrough?: Lsn;
  /** Keep the exporting session until the comparison ends, and check it lived through it. */
  readonly holdToEnd?: boolean;
  alive(): Promise<boolean>;
  release(): Promise<void>;
}

function fromSlot(snapshot: ExportedSnapshot): Exported {
  return {
    name: snapshot.name,
    point: snapshot.consistentPoint,
    alive: async () => true,
    release: () => snapshot.release(),
  };
}

/**
 * Whether a transaction (by its 32-bit xid, as the stream carries it) is one the snapshot
 * `xmin:xmax:xip,...` (pg_current_snapshot, 64-bit xids) does not see: at or past xmax, or
 * running then. The xid is widened with xmax's epoch (the stream's are within 2^31 of it).
 */
export function invisibleIn(text: string): (xid: number) => boolean {
  const [, xmaxText = '0', xipText = ''] = text.split(':');
  const xmax = BigInt(xmaxText);
  const running = new Set(xipText ? xipText.split(',').map((x) => BigInt(x)) : []);
  const half = 1n << 31n;
  return (xid) => {
    let full = ((xmax >> 32n) << 32n) | BigInt(xid >>> 0);
    if (full > xmax + half) full -= 1n << 32n;
    else if (full < xmax - half) full += 1n << 32n;
    return full >= xmax || running.has(full);
  };
}

async function compareAll(
  options: VerifyOptions,
  settings: VerifySettings,
  pinned: Pinned,
): Promise<Omit<VerifyReport, 'attempts'>> {
  const { reader, workers } = pinned;
  const log = options.logger;
  const checkpoint = reader.checkpoint;
  if (checkpoint && checkpoint.commitLsn >= pinned.point) {
    throw new TributaryError(
      'INTERNAL',
      `the warehouse view is at ${formatPosition(checkpoint)}, not before ${formatLsn(pinned.point)}`,
    );
  }
  const source = sourcePool(workers);
  const tables = options.tables ?? (await everyTable(reader, source.first, options.publication));
  const copying = await tablesBeingCopied(reader);
  const queries: QueryLog[] = [];
  const verdicts: TableVerdict[] = [];
  for (const table of tables) {
    const name = displayName(table);
    if (copying.has(name)) {
      verdicts.push({ table: name, status: 'skipped', reason: 'a snapshot or backfill job is copying it' });
      continue;
    }
    log.info({ table: name }, 'verifying');
    verdicts.push(await verifyTable(table, options, settings, source, reader, queries));
  }
  const ledgers: LedgerVerdict[] = [];
  for (const ledger of options.ledgers ?? []) ledgers.push(await reconcile(ledger, source, reader));
  return {
    point: formatLsn(pinned.point),
    readFrom: describeTarget(options.replica ?? options.connection),
    snapshot: pinned.snapshot,
    checkpoint: checkpoint ? formatPosition(checkpoint) : null,
    ok: verdicts.every((v) => v.status !== 'differs') && ledgers.every((l) => l.status === 'match'),
    tables: verdicts,
    ledgers,
    queries,
  };
}

const LEDGER_SAMPLE = 100;

/** Runs a ledger's aggregate on both sides at the point and compares the rows as text. */
async function reconcile(ledger: Ledger, source: SourceSide, reader: PinnedReader): Promise<LedgerVerdict> {
  const cell = (v: unknown) =>
    v === null || v === undefined ? '\\N' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  let sourceRows: (string | null)[][];
  try {
    sourceRows = await source.query(ledger.sql);
  } catch (error) {
    throw new TributaryError(
      'CONFIG',
      `ledger ${ledger.name}: the source refused its query: ${(error as Error).message}`,
      {
        cause: error,
        hint: 'the query runs on Postgres as written (and on DuckDB unless warehouseSql is given)',
      },
    );
  }
  const warehouse = await reader.query(ledger.warehouseSql ?? ledger.sql).catch((error: unknown) => {
    throw new TributaryError(
      'CONFIG',
      `ledger ${ledger.name}: the warehouse refused its query: ${(error as Error).message}`,
      {
        cause: error,
        hint: 'give the ledger a warehouseSql in DuckDB SQL when the dialects differ',
      },
    );
  });
  const left = new Map<string, number>();
  for (const row of sourceRows) {
    const key = row.map(cell).join('\t');
    left.set(key, (left.get(key) ?? 0) + 1);
  }
  const onlyWarehouse: string[] = [];
  for (const row of warehouse.rows) {
    const key = row.map(cell).join('\t');
    const n = left.get(key) ?? 0;
    if (n > 1) left.set(key, n - 1);
    else if (n === 1) left.delete(key);
    else onlyWarehouse.push(key);
  }
  const onlySource = [...left.entries()].flatMap(([key, n]) => Array.from({ length: n }, () => key));
  return {
    name: ledger.name,
    status: onlySource.length === 0 && onlyWarehouse.length === 0 ? 'match' : 'differs',
    rows: sourceRows.length,
    onlySource: onlySource.slice(0, LEDGER_SAMPLE),
    onlyWarehouse: onlyWarehouse.slice(0, LEDGER_SAMPLE),
  };
}

async function verifyTable(
  table: TableRef,
  options: VerifyOptions,
  settings: VerifySettings,
  source: SourceSide & { readonly first: pg.Client; busySeconds(): number },
  reader: PinnedReader,
  queries: QueryLog[],
): Promise<TableVerdict> {
  const name = displayName(table);
  const described = await describeForSnapshot(source.first, table, options.publication, options.types).catch(
    (error: unknown) => {
      if (error instanceof TributaryError && error.code === 'TABLE_NOT_FOUND') return null;
      throw error;
    },
  );
  const warehouseColumns = await reader.rows(
    `SELECT column_name, data_type FROM duckdb_columns()
      WHERE database_name = $1 AND schema_name = $2 AND table_name = $3 AND column_name NOT LIKE '\\_tributary\\_%' ESCAPE '\\'
      ORDER BY column_index`,
    [reader.catalog, duckSchemaOf(table), table.name],
  );
  if (!described) {
    return { table: name, status: 'differs', reason: 'the table does not exist on the source' };
  }
  if (warehouseColumns.length === 0) {
    return { table: name, status: 'differs', reason: 'the table is not in the warehouse' };
  }
  const published = new Set(described.schema.columns.map((c) => c.name));
  const sourceColumns = (await readSourceColumns(source.first, table)).filter((c) => published.has(c.name));
  const warehouseType = new Map(warehouseColumns.map((row) => [String(row[0]), String(row[1])]));
  const missingColumns = sourceColumns.filter((c) => !warehouseType.has(c.name)).map((c) => c.name);
  const sourceNames = new Set(sourceColumns.map((c) => c.name));
  const extraColumns = [...warehouseType.keys()].filter((c) => !sourceNames.has(c));
  const columns: ColumnCanon[] = [];
  const uncompared: { column: string; reason: string }[] = [];
  for (const column of sourceColumns) {
    const type = warehouseType.get(column.name);
    if (type === undefined) continue;
    const canon = canonicalColumn(column, type);
    if ('uncomparable' in canon) uncompared.push({ column: column.name, reason: canon.uncomparable });
    else columns.push(canon);
  }
  const key = hasPrimaryKey(described.schema) ? described.schema.key : [];
  const unkeyed = key.filter((k) => !columns.some((c) => c.name === k));
  if (unkeyed.length > 0) {
    return {
      table: name,
      status: 'skipped',
      reason: `its key column(s) ${unkeyed.join(', ')} cannot be compared (${[...missingColumns, ...uncompared.map((u) => u.column)].includes(unkeyed[0]!) ? 'missing or not comparable' : 'unknown'})`,
      missingColumns,
      extraColumns,
      uncompared,
    };
  }
  const keyTypes = key.map((k, i) => ({ source: described.keyTypes[i]!, warehouse: warehouseType.get(k)! }));
  const compared: ComparedTable = {
    display: name,
    sourceSelect: described.select,
    sourceFiltered: described.filtered,
    sourcePages: described.pages,
    warehouseTable: tableSql(table),
    columns,
    key,
    keyTypes,
    ordered: key.length > 0 && (await orderedAlike(source.first, table, key, keyTypes)),
  };
  let warehouseSeconds = 0;
  const started = performance.now();
  const sourceBefore = source.busySeconds();
  const result = await compareTable(
    compared,
    source,
    {
      rows: async (sql, values) => {
        const start = performance.now();
        try {
          return await reader.rows(sql, values);
        } finally {
          warehouseSeconds += (performance.now() - start) / 1000;
        }
      },
    },
    settings,
    (entry) => queries.push(entry),
  );
  const round = (n: number) => Math.round(n * 100) / 100;
  const differs =
    missingColumns.length > 0 ||
    extraColumns.length > 0 ||
    result.differingBuckets.length > 0 ||
    result.differences.length > 0;
  return {
    table: name,
    status: differs ? 'differs' : 'match',
    ...(missingColumns.length || extraColumns.length ? { reason: 'the columns differ' } : {}),
    ...result,
    seconds: {
      total: round((performance.now() - started) / 1000),
      source: round(source.busySeconds() - sourceBefore),
      warehouse: round(warehouseSeconds),
    },
    missingColumns,
    extraColumns,
    uncompared,
  };
}

/**
 * Whether both engines order the key alike (then buckets are key ranges): integers, decimals,
 * uuids, and text compared bytewise (the "C"/"POSIX" collation); DuckDB orders text bytewise.
 */
async function orderedAlike(
  client: pg.Client,
  table: TableRef,
  key: readonly string[],
  types: readonly { readonly source: string; readonly warehouse: string }[],
): Promise<boolean> {
  const collations = await client.query<{ name: string; oid: string; collation: string | null }>(
    `SELECT a.attname AS name, a.atttypid::int8::text AS oid,
            CASE WHEN co.collname = 'default' THEN (SELECT datcollate FROM pg_database WHERE datname = current_database())
                 ELSE co.collname END AS collation
       FROM pg_attribute a LEFT JOIN pg_collation co ON co.oid = a.attcollation
      WHERE a.attrelid = $1::regclass AND a.attname = ANY($2::text[])`,
    [`${q(table.schema)}.${q(table.name)}`, key],
  );
  const byName = new Map(collations.rows.map((r) => [r.name, r]));
  return key.every((k, i) => {
    const row = byName.get(k);
    const warehouse = types[i]!.warehouse;
    if (!row) return false;
    switch (Number(row.oid)) {
      case 20:
      case 21:
      case 23:
        return ['BIGINT', 'INTEGER', 'SMALLINT'].includes(warehouse);
      case 1700:
        return warehouse.startsWith('DECIMAL');
      case 2950:
        return warehouse === 'UUID';
      case 25:
      case 1043:
        return warehouse === 'VARCHAR' && (row.collation === 'C' || row.collation === 'POSIX');
      default:
        return false;
    }
  });
}

/** The workers as one SourceSide: each statement on whichever is free. */
function sourcePool(
  workers: readonly SnapshotWorker[],
): SourceSide & { readonly first: pg.Client; busySeconds(): number } {
  let busy = 0;
  const free = [...workers];
  const waiting: ((worker: SnapshotWorker) => void)[] = [];
  const acquire = (): Promise<SnapshotWorker> => {
    const worker = free.pop();
    return worker ? Promise.resolve(worker) : new Promise((resolve) => waiting.push(resolve));
  };
  const release = (worker: SnapshotWorker) => {
    const next = waiting.shift();
    if (next) next(worker);
    else free.push(worker);
  };
  return {
    first: workers[0]!.client,
    busySeconds: () => busy,
    query: async (sql, values = []) => {
      const worker = await acquire();
      const start = performance.now();
      try {
        // the extended protocol runs one statement only: a ledger's SQL (from the config file)
        // cannot end the read-only transaction and go on with statements of its own
        const result = await worker.client.query({
          text: sql,
          values: [...values],
          rowMode: 'array',
          types: { getTypeParser: () => (text: string) => text },
          queryMode: 'extended',
        } as pg.QueryConfig);
        return result.rows as (string | null)[][];
      } catch (error) {
        if (/conflict with recovery/i.test((error as Error).message)) {
          throw new TributaryError(
            'SINK',
            `the replica cancelled a verify statement: ${(error as Error).message}`,
            {
              cause: error,
              hint: 'set hot_standby_feedback = on on the standby (or raise max_standby_streaming_delay), then try again',
            },
          );
        }
        if (!/statement timeout/i.test((error as Error).message)) throw error;
        throw new TributaryError(
          'CONFIG',
          `a verify statement on the source timed out: ${(error as Error).message}`,
          {
            cause: error,
            hint: 'raise --statement-timeout, or lower --bucket-rows so each statement reads less',
          },
        );
      } finally {
        busy += (performance.now() - start) / 1000;
        release(worker);
      }
    },
  };
}

/** The tables the warehouse holds and those the publication publishes, once each, in order. */
async function everyTable(reader: PinnedReader, client: pg.Client, publication: string): Promise<TableRef[]> {
  const published = await client.query<{ schemaname: string; tablename: string }>(
    'SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1',
    [publication],
  );
  const all = new Map<string, TableRef>();
  for (const table of [
    ...(await warehouseTables(reader)),
    ...published.rows.map((r) => ({ schema: r.schemaname, name: r.tablename })),
  ])
    all.set(displayName(table), table);
  return [...all.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, table]) => table);
}

/** The warehouse's current-state tables (those with Tributary's sync column), as source names. */
async function warehouseTables(reader: PinnedReader): Promise<TableRef[]> {
  const rows = await reader.rows(CURRENT_TABLES_SQL);

  return rows.map((row) => ({
    schema: String(row[0]) === 'main' ? 'public' : String(row[0]),
    name: String(row[1]),
  }));
}

async function tablesBeingCopied(reader: PinnedReader): Promise<Set<string>> {
  const exists = await reader.rows(
    `SELECT count(*) FROM duckdb_tables() WHERE database_name = $1 AND schema_name = '_tributary' AND table_name = 'snapshot_jobs'`,
    [reader.catalog],
  );
  if (Number(exists[0]?.[0] ?? 0) === 0) return new Set();
  const rows = await reader.rows(
    `SELECT DISTINCT table_schema, table_name FROM _tributary.snapshot_jobs WHERE state IN ('pending', 'running')`,
  );
  return new Set(rows.map((row) => displayName({ schema: String(row[0]), name: String(row[1]) })));
}
