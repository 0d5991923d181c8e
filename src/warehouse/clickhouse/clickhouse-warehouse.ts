/**
 * The ClickHouse warehouse (issue 10; the contract at the top of ../warehouse.ts, the layout in
 * layout.ts, the DDL in tables.ts, the rows in merge.ts, the state in state.ts).
 *
 * ClickHouse has no transactions, so the contract's "one transaction per batch" is met by
 * order and idempotence instead:
 *
 * 1. A batch is cut into parts at the schema items that ALTER an existing table (a table's
 *    first shape is created with the part that uses it). Each part is first PLANNED — every
 *    read (stored rows for TOAST values, live copies of a multiset) and every check that can
 *    fail the batch (a copy not held, a row not held) — and only then WRITTEN: tables it
 *    creates, truncation watermarks, each table's rows (one insert per table, with an insert
 *    deduplication token derived from the table, its shape and the part's first..last
 *    position), and LAST the checkpoint. A batch refused while planning writes nothing.
 * 2. A crash (or an error) between the writes and the checkpoint leaves rows without their
 *    checkpoint: the batch is delivered again, skipped up to the checkpoint, planned again
 *    against the state as of its first position (merge.ts), so it produces the same rows with
 *    the same versions and the same tokens — the repeated insert is dropped by the server, and
 *    where it is not (another split of the batch, a token out of the window) the versions make
 *    the view show the same thing. What readers lose against DuckDB: atomic visibility — a
 *    query may see one table of a part written and another not yet, or rows ahead of the
 *    checkpoint; never a duplicate, a tombstone, or a key half-applied (a key's row is one insert).
 * 3. A part before an ALTER is checkpointed on its own (as the DuckDB warehouse does before an
 *    ALTER); the ALTERs are idempotent (IF [NOT] EXISTS), and the shape is recorded after them,
 *    so an ALTER interrupted is done again on redelivery; a key rebuild that already swapped the
 *    tables is recognised by the storage's sorting key (tables.ts `evolution`).
 * 4. Truncate at position P: a per-table watermark (state.ts) that the view filters on (rows
 *    with a version ≤ the watermark are hidden): O(1) at the truncate, and it also hides a
 *    snapshot copy inserted later with a version below P (snapshot rule 3). The rows stay in
 *    storage until a later cleanup (not done here: the storage of a table truncated often grows).
 * 5. A value a column's type cannot hold (an `UnfitValue` while planning a part, or in a
 *    snapshot chunk): the column is widened to its String widening (widen.ts) — storage
 *    rewritten, view created again, the widening recorded with the table's shape — and the part
 *    planned again, before any of its writes. Redelivered, the part meets the same value and the
 *    widening, finished or not, is completed and recorded (its steps read system.columns).
 *
 * Lanes and checkpoints: lane-book.ts. Snapshots (../snapshot.ts): `ensureTable`,
 * `insertVersioned` and the CSV chunks' load (snapshot-csv.ts) are the snapshot store's writes (`snapshotTarget()` hands them over), and
 * `useSnapshots` makes batches park partial updates and mark truncates for running jobs.
 * Failpoints (`options.failpoint`) stop a batch where a crash would, for tests.
 */
import { createHash } from 'node:crypto';
import {
  type ChangeEvent,
  itemPosition,
  newestCommitMicros,
  type Row,
  type StreamItem,
  type TableSchema,
} from '../../core/change-event.js';
import { TributaryError } from '../../core/errors.js';
import type { Lsn } from '../../core/lsn.js';
import { comparePositions, formatPosition, type Position } from '../../core/position.js';
import { displayName, type TableRef } from '../../core/table-ref.js';
import type { LaneClaim } from '../../feed/feed.js';
import type { WarehouseStatus } from '../../pipeline/status-report.js';
import type {
  ChunkPlan,
  NewJob,
  SnapshotAttempt,
  SnapshotFile,
  SnapshotFileResult,
  SnapshotJob,
  SnapshotRows,
  SnapshotStore,
} from '../snapshot.js';
import type { LaneStore, QueryResult, Warehouse } from '../warehouse.js';
import {
  type ClickHouseConnection,
  type ClickHouseTarget,
  checkReachable,
  connectClickHouse,
  parseClickHouseUrl,
  quoteName,
} from './connect.js';
import { planRepairs, repairToken } from './fill-parks.js';
import { LaneBook } from './lane-book.js';
import { viewName } from './layout.js';
import {
  type Parking,
  type ParkState,
  type ParkUpdate,
  planTable,
  readLatest,
  type TablePlan,
} from './merge.js';
import { readClickHouseQuery } from './read-only.js';
import { type CsvChunk, csvReadable, loadCsvChunk } from './snapshot-csv.js';
import {
  bootstrapSnapshots,
  ClickHouseSnapshots,
  type ParkFill,
  parkingId,
  type SnapshotTarget,
} from './snapshot-store.js';
import { bootstrapSql, readSchemas, recordSchema, recordTruncate } from './state.js';
import { type StatusJob, type StatusTable, statusJobs, statusTables } from './status.js';
import { type Reader, type StorageRow, snapshotRows } from './storage-rows.js';
import {
  asStored,
  type ChTable,
  chTable,
  createStorageSql,
  createViewSql,
  type Ddl,
  type DdlContext,
  type Evolution,
  evolution,
  liveRows,
  onCluster,
  qualified,
  quoteString,
  type Retype,
  rebuildName,
  sortingKey,
} from './tables.js';
import type { TypeLookup } from './type-mapping.js';
import { carriedWidenings, widenableColumn, widenedTable, wideningDdl } from './widen.js';

export interface ClickHouseWarehouseOptions {
  /** Domains → base types (src/source/postgres/values/type-registry.ts). */
  readonly typeInfo?: TypeLookup;
  /** Names the source, without secrets. */
  readonly source?: string;
  /** ON CLUSTER name: Replicated engine + Distributed table (tables.ts; cannot be run on chdb). */
  readonly cluster?: string;
  /**
   * Failpoints for tests (supabase/etl's habit): called at each named point of a batch's writes;
   * what it throws stops the batch there, as a crash would.
   */
  readonly failpoint?: (point: Failpoint) => void | Promise<void>;
}

/**
 * What the stream owes a running snapshot job (snapshot-store.ts `ClickHouseSnapshots` has
 * these): a partial update of a row not held yet is written and its key parked, and a truncate
 * is marked on the table's active jobs. Attached with `useSnapshots`.
 */
export interface StreamSnapshotHooks {
  /** Tables whose changes keep parks up to date, by `parkingId`. */
  parkingTables(): Promise<Set<string>>;
  parkStates(schema: TableSchema, keys: readonly Row[]): Promise<(ParkState | null)[]>;
  writeParks(schema: TableSchema, updates: readonly ParkUpdate[]): Promise<void>;
  markTruncate(table: TableRef, lsn: bigint): Promise<void>;
}

/**
 * Where a batch can be stopped by a failpoint: after a table's rows, before the checkpoint, after
 * a retype's hidden versions were made convertible (before its DDL), after an ALTER's DDL, after
 * a widening's DDL and view (before it is recorded).
 */
export type Failpoint =
  | 'after-table-rows'
  | 'before-checkpoint'
  | 'after-hidden-versions-converted'
  | 'before-schema-record'
  | 'before-widening-record';

function tableId(table: TableRef): string {
  return `${table.schema}\u0000${table.name}`;
}

export class ClickHouseWarehouse implements Warehouse, LaneStore, SnapshotStore, WarehouseStatus {
  readonly target: ClickHouseTarget;
  readonly connection: ClickHouseConnection;
  readonly source: string | null;
  readonly #context: DdlContext;
  readonly #tables = new Map<string, ChTable>();
  /** Per table id, the commit LSN from which the source had the current shape (state.ts). */
  readonly #since = new Map<string, bigint>();
  readonly #lanes: LaneBook;
  #tail: Promise<unknown> = Promise.resolve();
  readonly #failpoint: (point: Failpoint) => void | Promise<void>;
  #snapshots: StreamSnapshotHooks | null = null;
  #snapshotStore: ClickHouseSnapshots | null = null;

  private constructor(connection: ClickHouseConnection, options: ClickHouseWarehouseOptions) {
    this.#failpoint = options.failpoint ?? (() => {});
    this.connection = connection;
    this.target = connection.target;
    this.source = options.source ?? null;
    this.#context = {
      database: connection.target.database,
      cluster: options.cluster ?? connection.target.cluster,
      lookup: options.typeInfo,
    };
    this.#lanes = new LaneBook({ client: connection.client, context: this.#context });
  }

  /** Parses `url`, connects, checks the server (creating the database) and creates the state tables. */
  static async open(url: string, options: ClickHouseWarehouseOptions = {}): Promise<ClickHouseWarehouse> {
    const connection = await connectClickHouse(parseClickHouseUrl(url));
    const warehouse = new ClickHouseWarehouse(connection, options);
    try {
      await checkReachable(connection, true);
      for (const sql of bootstrapSql(warehouse.#context)) await warehouse.#run({ sql });
      await warehouse.#reload();
      await bootstrapSnapshots(connection.client);
      warehouse.#snapshotStore = new ClickHouseSnapshots(warehouse.snapshotTarget());
      warehouse.useSnapshots(warehouse.#snapshotStore);
    } catch (error) {
      await connection.close();
      throw error;
    }
    return warehouse;
  }

  /** From now on, batches honour `hooks`' snapshot jobs (see StreamSnapshotHooks). */
  useSnapshots(hooks: StreamSnapshotHooks): void {
    this.#snapshots = hooks;
  }

  /** The source tables this warehouse holds (their views are `layout.ts` viewName). */
  tables(): TableRef[] {
    return [...this.#tables.values()].map((t) => t.schema.table);
  }

  /** The client on the warehouse's database (what the snapshot store writes its state with). */
  get client() {
    return this.connection.client;
  }

  /** What the snapshot store (snapshot-store.ts) writes through: this warehouse's client, tables and rows. */
  snapshotTarget(): SnapshotTarget {
    const lookup = this.#context.lookup;
    return {
      client: this.connection.client,
      ...(lookup ? { typeInfo: lookup } : {}),
      ensureTable: (schema, snapshotLsn) => this.ensureTable(schema, snapshotLsn),
      insertVersioned: (schema, rows, version, token) => this.insertVersioned(schema, rows, version, token),
      readsCsv: (schema) => this.#readsCsv(schema),
      loadCsv: (schema, chunk) => this.#loadCsv(schema, chunk),
      fillParks: (schema, fills, c) => this.#fillParks(schema, fills, c),
    };
  }

  get #client() {
    return this.connection.client;
  }

  get #reader(): Reader {
    return { client: this.#client, context: this.#context };
  }

  async #reload(): Promise<void> {
    this.#tables.clear();
    this.#since.clear();
    for (const { schema, sinceLsn, widened } of await readSchemas(this.#client, this.#context)) {
      this.#tables.set(tableId(schema.table), chTable(schema, this.#context, widened));
      this.#since.set(tableId(schema.table), sinceLsn);
    }
    await this.#lanes.reload();
  }

  async #run(ddl: Ddl): Promise<void> {
    await this.#client.command({
      query: ddl.sql,
      ...(ddl.params ? { query_params: ddl.params } : {}),
      clickhouse_settings: { mutations_sync: '2', alter_sync: '2' },
    });
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(work);
    this.#tail = run.catch(() => {});
    return run;
  }

  // -- checkpoints and lanes (lane-book.ts) ---------------------------------------------------

  async checkpoint(): Promise<Position | null> {
    return this.#lanes.checkpoint();
  }

  async laneCheckpoints(): Promise<ReadonlyMap<number, Position | null>> {
    return this.#lanes.laneCheckpoints();
  }

  claimLane(claim: LaneClaim): Promise<Position | null> {
    return this.#serial(async () => {
      // the lane's tables may have been created or evolved by its previous holder, elsewhere
      await this.#reload();
      return this.#lanes.claim(claim);
    });
  }

  // -- apply ------------------------------------------------------------------------------------

  apply(items: readonly StreamItem[], lane?: LaneClaim): Promise<Position | null> {
    return this.#serial(async () => {
      try {
        return await this.#apply(items, lane);
      } catch (error) {
        // what is in memory may be ahead of what was written: read it back
        await this.#reload().catch(() => {});
        throw error;
      }
    });
  }

  async #apply(items: readonly StreamItem[], lane: LaneClaim | undefined): Promise<Position | null> {
    const start = await this.#lanes.startOf(lane);
    // each position once: a feed that restarted can hand the loader one change twice in a batch
    const seen = new Set<string>();
    const fresh = items.filter((item, i) => {
      if (item.kind === 'schema') {
        // a shape belongs where its next change is: one before the checkpoint is a replay, and
        // applying an older shape again would drop what a newer one added
        const next = nextPosition(items, i);
        return !(start && next && comparePositions(next, start) <= 0);
      }
      const p = itemPosition(item);
      if (!p) return true;
      if (start && comparePositions(p, start) <= 0) return false;
      const key = formatPosition(p);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    if (fresh.length === 0) return start;
    const last = await this.#applyItems(fresh, lane, newestCommitMicros(fresh));
    return last ?? start;
  }

  async #applyItems(
    items: readonly StreamItem[],
    lane: LaneClaim | undefined,
    commitMicros: bigint | null,
  ): Promise<Position | null> {
    const pending = new Map<string, ChangeEvent[]>();
    /** Tables whose first shape came in this part: created with its writes. */
    const creating = new Set<string>();
    let last: Position | null = null;
    let recorded: Position | null = null;
    const flush = async (): Promise<void> => {
      const plans: TablePlan[] = [];
      const hooks = this.#snapshots;
      let parkingTables: Promise<Set<string>> | undefined;
      for (const [id, events] of pending) {
        let table = this.#tables.get(id);
        if (!table) {
          throw new TributaryError(
            'SINK',
            `changes for ${displayName((events[0] as ChangeEvent).table)} arrived before its schema`,
          );
        }
        const schema = table.schema;
        const parking: Parking = {
          active: async () => {
            if (!hooks) return false;
            parkingTables ??= hooks.parkingTables();
            return (await parkingTables).has(parkingId(schema.table.schema, schema.table.name));
          },
          states: async (keys) => (hooks ? hooks.parkStates(schema, keys) : keys.map(() => null)),
        };
        // a value a column cannot hold: the column is widened (widen.ts) and the part planned again
        for (;;) {
          try {
            plans.push(await planTable(this.#reader, table, events, !creating.has(id), parking));
            break;
          } catch (error) {
            const column = widenableColumn(error, table);
            if (column === null) throw error;
            table = await this.#widen(table, column, !creating.has(id));
          }
        }
      }
      // everything read and checked: now the writes, the checkpoint last
      for (const id of creating) await this.#create(this.#tables.get(id) as ChTable);
      creating.clear();
      for (const plan of plans) {
        if (plan.truncatedAt) {
          await recordTruncate(this.#client, this.#context, plan.table.view, plan.truncatedAt);
          await this.#snapshots?.markTruncate(plan.table.schema.table, plan.truncatedAt.commitLsn);
        }
        await this.#insert(plan.table, plan.rows, partToken(plan));
        if (plan.parks.length > 0) await hooks?.writeParks(plan.table.schema, plan.parks);
        await this.#failpoint('after-table-rows');
      }
      pending.clear();
      if (last && last !== recorded) {
        await this.#failpoint('before-checkpoint');
        await this.#lanes.record(last, lane, commitMicros);
        recorded = last;
      }
    };
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as StreamItem;
      if (item.kind === 'schema') {
        const id = tableId(item.schema.table);
        const current = this.#tables.get(id);
        if (current?.schema.version === item.schema.version) continue;
        const since = nextPosition(items, i)?.commitLsn ?? 0n;
        if (pending.has(id)) await flush();
        if (!current || creating.has(id)) {
          this.#tables.set(id, chTable(item.schema, this.#context));
          this.#since.set(id, since);
          creating.add(id);
        } else {
          await flush();
          await this.#evolve(current, item.schema, since);
        }
        continue;
      }
      if (item.kind === 'change') {
        const id = tableId(item.event.table);
        const list = pending.get(id) ?? [];
        if (list.length === 0) pending.set(id, list);
        list.push(item.event);
      }
      last = itemPosition(item) ?? last;
    }
    await flush();
    return last;
  }

  async #create(table: ChTable): Promise<void> {
    for (const sql of createStorageSql(table, this.#context)) await this.#run({ sql });
    await this.#run({ sql: createViewSql(table, this.#context) });
    const since = this.#since.get(tableId(table.schema.table)) ?? 0n;
    await recordSchema(this.#client, this.#context, table.view, table.schema, since, table.widened);
  }

  async #evolve(recorded: ChTable, schema: TableSchema, since: bigint): Promise<void> {
    // the names the storage's columns have now: renames interrupted by a crash are finished, not redone
    const current = asStored(recorded, schema, await this.#storageColumns(recorded), this.#context);
    let widened = carriedWidenings(current, schema, this.#context);
    let plan: Evolution;
    for (;;) {
      try {
        plan = evolution(current, schema, this.#context, widened);
        break;
      } catch (error) {
        // an added column whose constant default its type cannot hold (`DEFAULT 'infinity'`):
        // the column is added widened (widen.ts), the default as its exact text
        const column = widenableColumn(error, chTable(schema, this.#context, widened));
        if (column === null) throw error;
        widened = new Set([...widened, column]);
      }
    }
    const next = chTable(schema, this.#context, widened);
    const { ddl, rebuild, retyped } = plan;
    const done = rebuild && (await this.#hasSortingKey(next));
    if (!done) for (const retype of retyped) await this.#checkConverts(current, retype);
    if (done) {
      // rebuilt already (the loader died before it recorded the shape): only the leftover goes
      await this.#run({ sql: `DROP TABLE IF EXISTS ${qualified(this.#context, rebuildName(next))}` });
    } else for (const statement of ddl) await this.#run(statement);
    await this.#failpoint('before-schema-record');
    await this.#run({ sql: createViewSql(next, this.#context) });
    await recordSchema(this.#client, this.#context, next.view, schema, since, widened);
    this.#tables.set(tableId(schema.table), next);
    this.#since.set(tableId(schema.table), since);
  }

  /**
   * `table` with `column` widened (widen.ts): its storage rewritten (`stored`: a table this part
   * creates has none yet and is created widened), its view created again, the widening recorded
   * with the table's shape last. Returns the widened table, also kept in memory.
   */
  async #widen(table: ChTable, column: string, stored: boolean): Promise<ChTable> {
    const id = tableId(table.schema.table);
    const widened = widenedTable(table, column, this.#context);
    if (stored) {
      for (const statement of await wideningDdl(this.#client, this.#context, table, widened, column)) {
        await this.#run(statement);
      }
      await this.#run({ sql: createViewSql(widened, this.#context) });
      await this.#failpoint('before-widening-record');
      const since = this.#since.get(id) ?? 0n;
      await recordSchema(this.#client, this.#context, widened.view, widened.schema, since, widened.widened);
    }
    this.#tables.set(id, widened);
    return widened;
  }

  /**
   * Refuses a retype that would change a stored value (a narrower decimal, text that is no
   * number): ClickHouse would fail the conversion as a mutation that stays queued, or change
   * the value. Checked by a round trip through the new type, as the DuckDB warehouse does, on
   * the rows a reader sees. The others — versions a later change superseded, a deleted row's
   * versions, rows below a truncation — stay in the storage until ClickHouse merges them, and
   * MODIFY COLUMN converts them too: one holding a value that does not convert (the source
   * deleted or updated the bad values, then retyped the column: the usual clean-up) is first set
   * to one that does, by a mutation (a sorting-key column cannot be: refused as before).
   */
  async #checkConverts(table: ChTable, { column, from, to }: Retype): Promise<void> {
    const storage = qualified(this.#context, table.storage);
    const col = quoteName(column);
    const inexact = `${col} IS NOT NULL AND ${inexactSql(col, from, to)}`;
    const count = async (query: string): Promise<number> => {
      const result = await this.#client.query({ query, format: 'JSONEachRow' });
      // (an alias is visible in ClickHouse's WHERE: one no column has)
      return Number((await result.json<{ _tributary_inexact: string }>())[0]?._tributary_inexact ?? 0);
    };
    const refuse = (n: number): TributaryError =>
      new TributaryError(
        'SINK',
        `${displayName(table.schema.table)}.${column}: its type changed from ${from} to ${to}, but ${n} stored value(s) do not convert exactly`,
        {
          hint: `drop the view ${table.view} and the table ${table.storage} in ClickHouse and backfill the table`,
        },
      );
    const live = await count(
      `SELECT count() AS _tributary_inexact FROM ${storage} AS _tributary_s FINAL
        WHERE ${liveRows(table, this.#context, '_tributary_s')} AND ${inexact}`,
    );
    if (live > 0) throw refuse(live);
    const hidden = await count(`SELECT count() AS _tributary_inexact FROM ${storage} WHERE ${inexact}`);
    if (hidden === 0) return;
    if (sortingKey(table).some((k) => k.name === column)) throw refuse(hidden);
    await this.#run({
      sql: `ALTER TABLE ${storage}${onCluster(this.#context)} UPDATE ${col} = CAST(defaultValueOfTypeName(${quoteString(to)}) AS ${from}) WHERE ${inexact}`,
    });
    await this.#failpoint('after-hidden-versions-converted');
  }

  async #storageColumns(table: ChTable): Promise<{ name: string; comment: string }[]> {
    const result = await this.#client.query({
      query: 'SELECT name, comment FROM system.columns WHERE database = {db:String} AND table = {t:String}',
      query_params: { db: this.#context.database, t: table.storage },
      format: 'JSONEachRow',
    });
    return result.json<{ name: string; comment: string }>();
  }

  /** Whether `table`'s storage is sorted by its key already (names and types). */
  async #hasSortingKey(table: ChTable): Promise<boolean> {
    const result = await this.#client.query({
      query:
        'SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {t:String} AND is_in_sorting_key ORDER BY position',
      query_params: { db: this.#context.database, t: table.storage },
      format: 'JSONEachRow',
    });
    const held = await result.json<{ name: string; type: string }>();
    const byName = (a: { name: string }, b: { name: string }) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    return JSON.stringify(held.sort(byName)) === JSON.stringify(sortingKey(table).sort(byName));
  }

  async #insert(table: ChTable, rows: readonly StorageRow[], token: string): Promise<void> {
    if (rows.length === 0) return;
    await this.#client.insert({
      table: qualified(this.#context, table.target),
      values: rows as StorageRow[],
      format: 'JSONEachRow',
      clickhouse_settings: { insert_deduplicate: 1, insert_deduplication_token: token },
    });
  }

  // -- the snapshot store's writes (../snapshot.ts) --------------------------------------------

  /**
   * Creates the table (storage + view) or evolves it to `schema`; records the schema version.
   * The snapshot store calls this. With `snapshotLsn` (the LSN the snapshot read the shape at),
   * a shape the stream brought from that LSN or later is newer than the snapshot's and is kept:
   * a snapshot never takes a table back to an older shape (its rows fill the columns they share).
   */
  ensureTable(schema: TableSchema, snapshotLsn?: Lsn): Promise<void> {
    return this.#serial(async () => {
      const id = tableId(schema.table);
      const current = this.#tables.get(id);
      try {
        if (!current) {
          const table = chTable(schema, this.#context);
          this.#since.set(id, snapshotLsn ?? 0n);
          await this.#create(table);
          this.#tables.set(id, table);
        } else if (current.schema.version !== schema.version) {
          const since = this.#since.get(id) ?? 0n;
          if (snapshotLsn !== undefined && since >= snapshotLsn) return;
          await this.#evolve(current, schema, snapshotLsn ?? 0n);
        }
      } catch (error) {
        await this.#reload().catch(() => {});
        throw error;
      }
    });
  }

  /**
   * Inserts rows into a table's storage with the given version (a snapshot's, layout.ts
   * `snapshotVersion`), not deleted — the snapshot store calls this. `dedupToken` makes a
   * repeated insert a no-op (the same chunk must come with the same token and the same rows).
   */
  insertVersioned(
    schema: TableSchema,
    rows: readonly Row[],
    version: string,
    dedupToken: string,
  ): Promise<void> {
    return this.#serial(async () => {
      let table = this.#tables.get(tableId(schema.table));
      if (!table) {
        throw new TributaryError(
          'INTERNAL',
          `${displayName(schema.table)}: insertVersioned before ensureTable`,
        );
      }
      // a value a column cannot hold: the column is widened (widen.ts) and the rows encoded again
      for (;;) {
        try {
          await this.#insert(table, snapshotRows(table, rows, version, dedupToken), `snapshot:${dedupToken}`);
          return;
        } catch (error) {
          const column = widenableColumn(error, table);
          if (column === null) throw error;
          table = await this.#widen(table, column, true);
        }
      }
    });
  }

  /** snapshot-store.ts `SnapshotTarget.readsCsv`: the table, as held, has the snapshot's shape and is read from CSV whole. */
  #readsCsv(schema: TableSchema): boolean {
    const table = this.#tables.get(tableId(schema.table));
    return (
      table !== undefined && sameColumns(table.schema, schema) && csvReadable(table, this.#context.lookup)
    );
  }

  /** snapshot-store.ts `SnapshotTarget.loadCsv` (snapshot-csv.ts). */
  #loadCsv(schema: TableSchema, chunk: CsvChunk): Promise<void> {
    return this.#serial(async () => {
      const table = this.#tables.get(tableId(schema.table));
      if (!table || !sameColumns(table.schema, schema))
        throw new TributaryError(
          'SINK',
          `${displayName(schema.table)}: the table's shape is not the chunk's`,
        );
      await loadCsvChunk(this.#client, table, qualified(this.#context, table.target), chunk, {
        inProcess: this.target.kind === 'chdb',
        lookup: this.#context.lookup,
      });
    });
  }

  /** snapshot-store.ts `SnapshotTarget.fillParks`: the repairs (fill-parks.ts), written with a dedup token. */
  #fillParks(schema: TableSchema, fills: readonly ParkFill[], c: Lsn): Promise<(readonly string[] | null)[]> {
    return this.#serial(async () => {
      let table = this.#tables.get(tableId(schema.table));
      if (!table)
        throw new TributaryError('INTERNAL', `${displayName(schema.table)}: fillParks before ensureTable`);
      const latest = await readLatest(
        this.#reader,
        table,
        fills.map((f) => f.key),
      );
      for (;;) {
        try {
          const { rows, left } = planRepairs(table, fills, latest, c);
          await this.#insert(table, rows, repairToken(table, rows, c));
          return left;
        } catch (error) {
          const column = widenableColumn(error, table);
          if (column === null) throw error;
          table = await this.#widen(table, column, true);
        }
      }
    });
  }

  // -- reads --------------------------------------------------------------------------------------

  /** Runs an analyst's query (read-only.ts: reads only). */
  query(sql: string): Promise<QueryResult> {
    return readClickHouseQuery(this.#client, sql);
  }

  async close(): Promise<void> {
    await this.#tail.catch(() => {});
    await this.connection.close();
  }

  // --- snapshots and backfills (../snapshot.ts), kept by snapshot-store.ts in this database ---

  #store(): ClickHouseSnapshots {
    if (!this.#snapshotStore) throw new TributaryError('INTERNAL', 'the snapshot store is not open');
    return this.#snapshotStore;
  }

  snapshotJobs(): Promise<SnapshotJob[]> {
    return this.#store().snapshotJobs();
  }

  createSnapshotJob(job: NewJob): Promise<SnapshotJob> {
    return this.#store().createSnapshotJob(job);
  }

  startSnapshotAttempt(
    job: string,
    snapshotLsn: Lsn,
    schema: TableSchema,
    plan: readonly ChunkPlan[],
    rowsEstimated: number | null,
    options?: { readonly startOver?: boolean; readonly files?: boolean },
  ): Promise<SnapshotAttempt> {
    return this.#store().startSnapshotAttempt(job, snapshotLsn, schema, plan, rowsEstimated, options);
  }

  applySnapshotRows(rows: SnapshotRows): Promise<number> {
    return this.#store().applySnapshotRows(rows);
  }

  applySnapshotFile(file: SnapshotFile): Promise<SnapshotFileResult> {
    return this.#store().applySnapshotFile(file);
  }

  parkedKeys(job: string, limit: number): Promise<Row[]> {
    return this.#store().parkedKeys(job, limit);
  }

  finishSnapshotJob(job: string, state: 'done' | 'failed' | 'cancelled', error?: string): Promise<void> {
    return this.#store().finishSnapshotJob(job, state, error);
  }

  // --- what `status` reads (status.ts) ---

  statusTables(): Promise<StatusTable[]> {
    const tables = [...this.#tables.values()].map((t) => t.schema.table);
    return statusTables(this.#client, tables, viewName);
  }

  statusJobs(): Promise<StatusJob[]> {
    return statusJobs(this.#client);
  }
}

/** The insert deduplication token of a table's part of a batch (see the header). */
export function partToken(plan: TablePlan): string {
  const text = [
    plan.table.storage,
    plan.table.schema.version,
    formatPosition(plan.first),
    formatPosition(plan.last),
    plan.rows.length,
  ].join('\u0000');
  return `part:${createHash('sha256').update(text).digest('hex')}`;
}

/** Same columns in the same order, names and types: a CSV chunk of `b` reads as `a`'s columns. */
function sameColumns(a: TableSchema, b: TableSchema): boolean {
  return (
    a.columns.length === b.columns.length &&
    a.columns.every((c, i) => {
      const d = b.columns[i];
      return (
        d !== undefined && c.name === d.name && c.typeOid === d.typeOid && c.typeModifier === d.typeModifier
      );
    })
  );
}

function nextPosition(items: readonly StreamItem[], from: number): Position | null {
  for (let j = from + 1; j < items.length; j++) {
    const p = itemPosition(items[j] as StreamItem);
    if (p) return p;
  }
  return null;
}

/**
 * A ClickHouse expression, true where `value` (of type `from`) does not survive a round trip
 * through `to`: not castable, or cast back to another value. Arrays element by element
 * (ClickHouse casts no array with accurateCastOrNull); a NULL converts exactly.
 */
function inexactSql(value: string, from: string, to: string, depth = 0): string {
  const inner = (type: string, wrapper: string): string | null =>
    type.startsWith(`${wrapper}(`) && type.endsWith(')') ? type.slice(wrapper.length + 1, -1) : null;
  const fromNullable = inner(from, 'Nullable');
  const toNullable = inner(to, 'Nullable');
  if (fromNullable !== null || toNullable !== null) {
    const body = inexactSql(`assumeNotNull(${value})`, fromNullable ?? from, toNullable ?? to, depth);
    return `(${value} IS NOT NULL AND ${body})`;
  }
  const fromElement = inner(from, 'Array');
  const toElement = inner(to, 'Array');
  if (fromElement !== null && toElement !== null) {
    const e = `_tributary_e${depth}`;
    return `arrayExists(${e} -> ${inexactSql(e, fromElement, toElement, depth + 1)}, ${value})`;
  }
  if (fromElement !== null || toElement !== null) return '1';
  const cast = `accurateCastOrNull(${value}, ${quoteString(to)})`;
  return `(${cast} IS NULL OR accurateCastOrNull(${cast}, ${quoteString(from)}) != ${value})`;
}
