/**
 * The embedded default warehouse (DESIGN.md, "Warehouse layout"; contract in warehouse.ts).
 * `apply` runs one DuckDB transaction per batch: schema items evolve tables in stream order,
 * each table's changes are folded per key (fold.ts) and merged in bulk (merge.ts), or, for a
 * table without a primary key, counted per whole row (fold-counts.ts) and merged as a multiset
 * (merge-counts.ts); the checkpoint is written before COMMIT. Items at or before the
 * checkpoint are skipped. A failed batch rolls back and the in-memory table states are
 * reloaded from the database. One exception to one-transaction-per-batch: DuckDB cannot commit
 * an ALTER of a table after updating or deleting its rows in the same transaction, so a schema
 * change that follows writes first commits them with their own checkpoint (still exactly once
 * on replay). Loaded from a feed by lanes, each lane has its checkpoint and its holder's epoch
 * in `_tributary.lanes`, written in the batch's transaction; a batch of an older epoch is
 * refused (LaneLost). One process writes a DuckDB file, so the epochs held in memory are the
 * file's.
 */
import { type DuckDBConnection, DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';
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
import { comparePositions, type Position } from '../../core/position.js';
import { displayName, quoteIdentifier as q, type TableRef } from '../../core/table-ref.js';
import type { LaneClaim } from '../../feed/feed.js';
import { queryAsOf } from '../../landing/as-of.js';
import { type ExportedTable, exportRaw } from '../../landing/export.js';
import { bootstrapHistory, createHistoryView } from '../../landing/history.js';
import {
  appendReset,
  bootstrapRaw,
  followRenames,
  loadRawTable,
  newBatch,
  type RawBatch,
  type RawTable,
  rawTableNames,
  type SnapshotOrigin,
  type SnapshotRaw,
  snapshotRaw,
  stageChanges,
  syncRawTable,
} from '../../landing/raw-zone.js';
import { type ReplayPoint, replaySql } from '../../landing/replay.js';
import { checkHorizon, pruneRaw } from '../../landing/retention.js';
import type { MetricsStore } from '../../metrics/metrics.js';
import { CheckReader } from '../../quality/check-reader.js';
import type { CheckResult } from '../../quality/check-result.js';
import { recordCheckResults } from '../../quality/check-results-store.js';
import type { CheckSpec } from '../../quality/check-spec.js';
import { runChecks } from '../../quality/run-checks.js';
import { foldTable } from '../fold.js';
import { foldCounts } from '../fold-counts.js';
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
import { LaneLost, type LaneStore, type QueryResult, type Warehouse } from '../warehouse.js';
import { Db } from './db.js';
import { addKey, dropKey, tablesWithoutKey } from './deferred-key.js';
import { mergeTable } from './merge.js';
import { mergeCounts } from './merge-counts.js';
import { readQuery } from './read-query.js';
import { convertsEveryColumn, loadCsv } from './snapshot-csv-load.js';
import {
  activeMarkedTables,
  applyRows,
  bootstrapSnapshots,
  currentVersionLsn,
  ensureMarks,
  finishJob,
  hasSnapshotState,
  insertJob,
  type MarksTable,
  marksTableOf,
  markTruncate,
  parked,
  readJob,
  readJobs,
  startAttempt,
} from './snapshot-store.js';
import {
  bootstrap,
  hasState,
  type LaneState,
  readCheckpoint,
  readLanes,
  readSchemas,
  writeCheckpoint,
  writeLane,
} from './state.js';
import {
  columnRenames,
  columnsReplaced,
  duckSchemaOf,
  evolveTable,
  fillAdded,
  LSN_COLUMN,
  loadTableState,
  recordVersion,
  SYNCED_COLUMN,
  type TableState,
  tableId,
} from './tables.js';
import type { TypeLookup } from './type-mapping.js';
import { UnfitValue } from './value-writer.js';
import { widenColumn, widenedType } from './widen.js';

/**
 * How much WAL DuckDB gathers before a commit checkpoints it into the file (DuckDB's default is
 * 16 MB). A checkpoint rewrites the last, growing row group of every table written since the
 * previous one; the raw zone appends every change and snapshot row, so at 16 MB the same row
 * groups were rewritten over and over (a backfill of 20,000 rows of 30 kB text under load: 17 s
 * of commits instead of 2–3 s, test/pipeline/backfill-under-load). Larger costs only a longer
 * WAL replay when the warehouse is opened after a crash.
 */
const CHECKPOINT_THRESHOLD = '256MB';

/**
 * The storage format a new warehouse file is written in: DuckDB 1.3's, whose string compression
 * (DICT_FSST, one method where the default format analyses dictionary and FSST apart) stores the
 * same rows with about a fifth less CPU and a tenth less space (bench/snapshot; measured alone:
 * 2M rows of its table into the table and the raw zone, 6.3–7.9 instead of 8.4–10.4 CPU-s).
 * DuckDB older than 1.3 cannot open such a file. A file written by an earlier build keeps the
 * format it was created in (DuckDB reads it from the file's header; this setting applies to new
 * files only).
 */
const STORAGE_VERSION = 'v1.3.0';

/** A table a replay rebuilt: where it went and how many rows it holds. */
export interface ReplayedTable {
  readonly table: TableRef;
  readonly target: string;
  readonly rows: number;
}

/** Types of columns to create widened (widen.ts), by table id, then column name. */
type CreateWidened = Map<string, Map<string, string>>;

export interface DuckDBWarehouseOptions {
  /** Type info for OIDs that are not built in (domains, arrays of them, enums): the source's `TypeRegistry.info`. */
  readonly typeInfo?: TypeLookup;
  /** Opens the file read-only (for queries while another process writes; `apply` then fails). */
  readonly readOnly?: boolean;
  /**
   * Keeps the raw landing zone (../../landing/raw-zone.ts): every applied change also appended
   * to its table's raw table. Default true. A warehouse that has a raw zone cannot be written
   * without it (its raw tables would miss changes).
   */
  readonly raw?: boolean;
  /** What the raw zone records as each change's source (`_tributary_source`). */
  readonly source?: string;
}

/** The warehouse at one moment, read on a transaction of its own (`pinnedReader`). */
export interface PinnedReader {
  /** The file's catalog (database) name. */
  readonly catalog: string;
  /** The checkpoint the pinned view holds. */
  readonly checkpoint: Position | null;
  rows(sql: string, values?: DuckDBValue[]): Promise<DuckDBValue[][]>;
  /** A query someone wrote (a ledger's): refused unless it only reads (read-query.ts). */
  query(sql: string): Promise<QueryResult>;
  close(): Promise<void>;
}

export class DuckDBWarehouse implements Warehouse, SnapshotStore, LaneStore {
  #queryConnection: DuckDBConnection | null = null;
  readonly #instance: DuckDBInstance;
  readonly #db: Db;
  readonly #typeInfo: TypeLookup | undefined;
  readonly #tables = new Map<string, TableState>();
  /** Tables with an active keyed snapshot job: their changes write marks (../snapshot.ts). */
  readonly #marks = new Map<string, MarksTable>();
  /** Tables whose marks table exists (in this process's view; cleared with every reload). */
  readonly #marksReady = new Set<string>();
  #checkpoint: Position | null = null;
  /** The feed's lanes loaded here (LaneStore), by lane: each has its own checkpoint. */
  #lanes = new Map<number, LaneState>();
  /** Keyed tables loaded without their primary key for now (deferred-key.ts), by table id. */
  #withoutKey = new Set<string>();
  /** Whether changes are also appended to the raw zone. */
  readonly #rawZone: boolean;
  readonly #path: string;
  readonly #readOnly: boolean;
  /** The file's catalog name (its default database), read at open. */
  #catalog = '';
  /** Raw tables by table id, as last brought in line with their table (cleared with every reload). */
  readonly #raw = new Map<string, RawTable>();
  /** The raw batch of the open transaction, once it wrote raw rows. */
  #rawBatch: RawBatch | null = null;
  readonly #source: string | null;

  private constructor(instance: DuckDBInstance, db: Db, path: string, options: DuckDBWarehouseOptions) {
    this.#instance = instance;
    this.#path = path;
    this.#readOnly = options.readOnly ?? false;
    this.#db = db;
    this.#typeInfo = options.typeInfo;
    this.#rawZone = options.raw ?? true;
    this.#source = options.source ?? null;
  }

  static async open(path: string, options: DuckDBWarehouseOptions = {}): Promise<DuckDBWarehouse> {
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(
        path,
        options.readOnly
          ? { access_mode: 'READ_ONLY' }
          : { checkpoint_threshold: CHECKPOINT_THRESHOLD, storage_compatibility_version: STORAGE_VERSION },
      );
    } catch (error) {
      throw new TributaryError(
        'CONFIG',
        `cannot open the DuckDB warehouse ${path}: ${(error as Error).message}`,
        {
          cause: error,
          hint: 'check the path, and that no other process has the file open',
        },
      );
    }
    const warehouse = new DuckDBWarehouse(instance, new Db(await instance.connect()), path, options);
    try {
      warehouse.#catalog = String((await warehouse.#db.rows('SELECT current_database()'))[0]?.[0]);
      if (!options.readOnly) {
        await bootstrap(warehouse.#db);
        await bootstrapSnapshots(warehouse.#db);
        if (warehouse.#rawZone) {
          await bootstrapRaw(warehouse.#db);
          await bootstrapHistory(warehouse.#db);
        } else if ((await rawTableNames(warehouse.#db)).length > 0) {
          throw new TributaryError(
            'CONFIG',
            `the warehouse ${path} keeps a raw landing zone; written without it, the zone would miss changes and could no longer rebuild the tables`,
            {
              hint: 'leave the raw zone on for this warehouse (drop --no-raw, or raw: { enabled: false }), or start a new warehouse',
            },
          );
        }
      }
      if (!options.readOnly || (await hasState(warehouse.#db))) await warehouse.#reload();
      // a first run's copy interrupted while a table's key was deferred
      if (!options.readOnly) await warehouse.#restoreKeys();
    } catch (error) {
      await warehouse.close();
      throw error;
    }
    return warehouse;
  }

  async #reload(): Promise<void> {
    this.#tables.clear();
    for (const schema of await readSchemas(this.#db)) {
      this.#tables.set(tableId(schema.table), await loadTableState(this.#db, schema));
    }
    this.#checkpoint = await readCheckpoint(this.#db);
    this.#lanes = await readLanes(this.#db);
    this.#withoutKey = await tablesWithoutKey(this.#db, this.#tables.values());
    this.#marks.clear();
    this.#marksReady.clear();
    this.#raw.clear();
    this.#rawBatch = null;
    if (await hasSnapshotState(this.#db)) {
      for (const table of await activeMarkedTables(this.#db))
        this.#marks.set(tableId(table), marksTableOf(table));
    }
  }

  async checkpoint(): Promise<Position | null> {
    if (this.#lanes.size === 0) return this.#checkpoint;
    // loaded by lanes: the least checkpoint of the lanes that hold one
    let least: Position | null = null;
    for (const { position } of this.#lanes.values()) {
      if (position && (least === null || comparePositions(position, least) < 0)) least = position;
    }
    return least;
  }

  async laneCheckpoints(): Promise<ReadonlyMap<number, Position | null>> {
    return new Map([...this.#lanes].map(([lane, state]) => [lane, state.position]));
  }

  async #claimLane(claim: LaneClaim): Promise<Position | null> {
    const held = this.#lanes.get(claim.lane);
    if (held && held.epoch > claim.epoch) {
      throw new LaneLost(
        claim.lane,
        `lane ${claim.lane} was claimed later by another loader (epoch ${held.epoch})`,
      );
    }
    // a lane loaded here for the first time starts at the warehouse's checkpoint (a warehouse
    // that \`tributary run\` loaded before, or nothing)
    const state: LaneState = { epoch: claim.epoch, position: held ? held.position : this.#checkpoint };
    await this.#transaction(() => writeLane(this.#db, claim.lane, state));
    this.#lanes.set(claim.lane, state);
    return state.position;
  }

  /** Where a batch starts: the lane's checkpoint, or the warehouse's. */
  #startOf(lane: LaneClaim | undefined): Position | null {
    if (lane === undefined) {
      if (this.#lanes.size > 0) {
        throw new TributaryError(
          'CONFIG',
          'this warehouse is loaded from a JetStream feed by lanes (`tributary load`); it cannot also be loaded ' +
            'straight from a slot: go on with `tributary load` (or `run --feed`), or start a new warehouse',
        );
      }
      return this.#checkpoint;
    }
    const held = this.#lanes.get(lane.lane);
    if (!held || held.epoch !== lane.epoch) {
      throw new LaneLost(
        lane.lane,
        held && held.epoch > lane.epoch
          ? `lane ${lane.lane} is held by another loader now (epoch ${held.epoch}, this batch's ${lane.epoch})`
          : `lane ${lane.lane} was never claimed with epoch ${lane.epoch}`,
      );
    }
    return held.position;
  }

  /**
   * Records `last` as applied (in the open transaction): the lane's checkpoint, or the warehouse's,
   * with `commitTime` (µs) the newest commit time applied (null: keep the recorded one).
   */
  async #record(
    last: Position,
    lane: LaneClaim | undefined,
    commitTime: bigint | null = null,
  ): Promise<void> {
    if (lane) await writeLane(this.#db, lane.lane, { epoch: lane.epoch, position: last, commitTime });
    else await writeCheckpoint(this.#db, last, commitTime);
  }

  /** After a commit that recorded `last`. */
  #recorded(last: Position, lane: LaneClaim | undefined): void {
    if (lane) this.#lanes.set(lane.lane, { epoch: lane.epoch, position: last });
    else this.#checkpoint = last;
  }

  async #apply(items: readonly StreamItem[], lane?: LaneClaim): Promise<Position | null> {
    await this.#restoreKeys();
    const widened = new Set<string>();
    // columns to create widened, by table id: found unfit in this batch, which also creates them
    // (so they were rolled back with it)
    const createWidened: CreateWidened = new Map();
    for (;;) {
      try {
        return await this.#applyOnce(items, createWidened, lane);
      } catch (error) {
        // a value its column cannot hold: widen the column (widen.ts) and apply the batch again
        if (!(error instanceof UnfitValue)) throw error;
        const id = `${tableId(error.table)}\u0000${error.column}`;
        const to = widenedType(error.type);
        if (widened.has(id) || !to) throw error;
        widened.add(id);
        const table = this.#tables.get(tableId(error.table));
        if (table && (await widenColumn(this.#db, table, error))) {
          this.#tables.set(tableId(error.table), await loadTableState(this.#db, table.schema));
        } else {
          const columns = createWidened.get(tableId(error.table)) ?? new Map<string, string>();
          columns.set(error.column, to);
          createWidened.set(tableId(error.table), columns);
        }
      }
    }
  }

  async #applyOnce(
    items: readonly StreamItem[],
    createWidened: CreateWidened,
    lane: LaneClaim | undefined,
  ): Promise<Position | null> {
    const start = this.#startOf(lane);
    // delivery is at least once, also within a batch (a feed that redelivers after its server
    // restarted can hand the loader one change twice in one batch): each position once
    const seen = new Set<string>();
    const fresh = items.filter((item, i) => {
      if (item.kind === 'schema') {
        // a shape belongs where its next change is: one before the checkpoint is replayed too (a
        // feed repeats shapes with every message), and applying an older shape again would drop
        // what a newer one added (the column, and its values, re-added empty by the next shape)
        const next = nextPosition(items, i);
        return !(start && next && comparePositions(next, start) <= 0);
      }
      const p = itemPosition(item);
      if (!p) return true;
      if (start && comparePositions(p, start) <= 0) return false;
      const key = `${p.commitLsn}#${p.ordinal}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    if (!fresh.some((item) => itemPosition(item) !== null || item.kind === 'schema')) return start;
    const last = await this.#transaction(async () => {
      const last = await this.#applyItems(fresh, createWidened, lane);
      if (last) await this.#record(last, lane, newestCommitMicros(fresh));
      return last;
    });
    if (last) this.#recorded(last, lane);
    return last ?? start;
  }

  async #applyItems(
    items: readonly StreamItem[],
    createWidened: CreateWidened,
    lane: LaneClaim | undefined,
  ): Promise<Position | null> {
    let pending = new Map<string, ChangeEvent[]>();
    let last: Position | null = null;
    let wrote = false;
    const flush = async (): Promise<void> => {
      for (const [id, events] of pending) {
        const table = this.#tables.get(id);
        const first = events[0];
        if (!table || !first) {
          throw new TributaryError(
            'SINK',
            `changes for ${first ? displayName(first.table) : id} arrived before its schema`,
          );
        }
        // without a primary key, keyColumns is every column: the whole row is what identifies it
        const marks = this.#marks.get(id) ?? null;
        if (marks) {
          // a job queued before the table existed here: its marks table comes with the first changes
          if (table.hasPrimaryKey && !this.#marksReady.has(id)) {
            await ensureMarks(this.#db, table);
            this.#marksReady.add(id);
          }
          const truncate = events.findLast((e) => e.op === 'truncate');
          if (truncate) await markTruncate(this.#db, truncate.table, truncate.position.commitLsn);
        }
        // before the merge: a raw table created now is seeded with the rows the table holds
        const raw = this.#rawZone ? await this.#rawOf(table) : null;
        const staged = raw ? await stageChanges(this.#db, raw, table, events, await this.#batch()) : null;
        try {
          if (table.hasPrimaryKey)
            await mergeTable(this.#db, table, foldTable(events, table.keyColumns), marks, staged?.images);
          else await mergeCounts(this.#db, table, foldCounts(events, table.keyColumns));
          if (staged) await staged.insert();
        } finally {
          // after a failure the transaction may refuse even this: the failure is what counts
          await staged?.drop().catch(() => {});
        }
        wrote = true;
      }
      pending = new Map();
    };
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as StreamItem;
      if (item.kind === 'schema') {
        const id = tableId(item.schema.table);
        const current = this.#tables.get(id);
        // the shape it has already (a feed repeats it with every message): nothing to do
        if (current?.schema.version === item.schema.version) continue;
        await flush();
        if (current && wrote) {
          // DuckDB cannot COMMIT a transaction that updated or deleted rows of a table and then
          // altered it ("another transaction has altered this table"): commit what came before
          // the schema change, with its checkpoint, and go on in a new transaction (a schema
          // change alone needs no checkpoint: replayed, its version is already current)
          if (last) await this.#record(last, lane);
          await this.#db.run('COMMIT');
          if (last) this.#recorded(last, lane);
          await this.#db.run('BEGIN TRANSACTION');
          this.#rawBatch = null;
          wrote = false;
        }
        if (current && this.#rawZone) await this.#followRenames(current, item.schema);
        const widened = createWidened.get(id);
        const added = await evolveTable(this.#db, current, item.schema, this.#typeInfo, widened);
        const createdWidened: Record<string, string> = {};
        for (const { name } of current ? added : item.schema.columns) {
          const type = widened?.get(name);
          if (type !== undefined) createdWidened[name] = type;
        }
        await recordVersion(
          this.#db,
          item.schema,
          nextPosition(items, i),
          Object.keys(createdWidened).length > 0 ? { createdWidened } : {},
        );
        const table = await loadTableState(this.#db, item.schema);
        this.#tables.set(id, table);
        if (await fillAdded(this.#db, table, added)) wrote = true;
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

  // -- snapshots and backfills (../snapshot.ts) ------------------------------------------------

  async #snapshotJobs(): Promise<SnapshotJob[]> {
    return (await hasSnapshotState(this.#db)) ? readJobs(this.#db) : [];
  }

  async #createSnapshotJob(job: NewJob): Promise<SnapshotJob> {
    const id = await this.#transaction(() => insertJob(this.#db, job));
    // from now on the table's changes write marks, before the job's first attempt starts
    this.#marks.set(tableId(job.table), marksTableOf(job.table));
    return readJob(this.#db, id);
  }

  async #startSnapshotAttempt(
    id: string,
    snapshotLsn: Lsn,
    schema: TableSchema,
    plan: readonly ChunkPlan[],
    rowsEstimated: number | null,
    options: { readonly startOver?: boolean; readonly files?: boolean } = {},
  ): Promise<SnapshotAttempt> {
    const job = await readJob(this.#db, id);
    const tid = tableId(job.table);
    await this.#restoreKeys(tid);
    const attempt = await this.#transaction(async () => {
      const current = this.#tables.get(tid);
      // the shape at the snapshot replaces the stored one when that is older than the snapshot
      // (a schema change the stream has not carried yet, e.g. a volatile ADD COLUMN with no DML)
      if (
        !current ||
        (current.schema.version !== schema.version &&
          ((await currentVersionLsn(this.#db, job.table)) ?? 0n) < snapshotLsn)
      ) {
        const added = await evolveTable(this.#db, current, schema, this.#typeInfo);
        await recordVersion(this.#db, schema, { commitLsn: snapshotLsn, ordinal: -1 }, { snapshot: id });
        const table = await loadTableState(this.#db, schema);
        this.#tables.set(tid, table);
        await fillAdded(this.#db, table, added);
      }
      const table = this.#tables.get(tid) as TableState;
      const keyless = !table.hasPrimaryKey;
      if (!keyless) {
        this.#marks.set(tid, await ensureMarks(this.#db, table));
        this.#marksReady.add(tid);
      } else this.#marks.delete(tid);
      // a multiset is exact only as one whole copy, and a first run started over begins empty
      if ((keyless && job.attempt > 0) || options.startOver) {
        await this.#db.run(`DELETE FROM ${table.sql}`);
        // in the raw zone, as a truncate just before the new copy's rows (nothing else has
        // written the table: the stream has not started)
        if (this.#rawZone)
          await appendReset(
            this.#db,
            await this.#rawOf(table),
            snapshotLsn,
            schema.version,
            await this.#batch(),
          );
      }
      // chunks as CSV only for a table whose every column converts in SQL: anything else would
      // go through the decoders a chunk at a time, not in batches
      const files =
        options.files && convertsEveryColumn(table)
          ? Number(
              (await this.#db.rows(`SELECT count(*) FROM (SELECT 1 FROM ${table.sql} LIMIT 1)`))[0]?.[0],
            ) === 0
          : false;
      const chunks = await startAttempt(
        this.#db,
        { ...job, keyless },
        snapshotLsn,
        plan,
        rowsEstimated,
        options.startOver ?? false,
      );
      return { chunks, files };
    });
    const table = this.#tables.get(tid);
    if (attempt.files && table?.hasPrimaryKey) {
      // nothing else writes the table until the copy is done: its key is built after the load
      await this.#transaction(() => dropKey(this.#db, table));
      this.#withoutKey.add(tid);
    }
    return attempt;
  }

  /** Gives the tables loaded without their key (all, or the one `only` names) their key back. */
  async #restoreKeys(only?: string): Promise<void> {
    for (const tid of [...this.#withoutKey]) {
      if (only !== undefined && tid !== only) continue;
      const table = this.#tables.get(tid);
      if (table) await addKey(this.#db, table, (body) => this.#transaction(body));
      this.#withoutKey.delete(tid);
    }
  }

  async #applySnapshotFile(file: SnapshotFile): Promise<SnapshotFileResult> {
    const job = await readJob(this.#db, file.job);
    // first every value cast in SQL, failing at the first that does not convert; then again,
    // with those rows' texts through the decoders
    let strict = true;
    return this.#writeWidening(job, async (table) => {
      strict &&= convertsEveryColumn(table);
      try {
        return await this.#transaction(async () =>
          loadCsv(this.#db, table, file, strict, await this.#snapshotRaw(table, originOf(file, table))),
        );
      } catch (error) {
        if (strict && error instanceof TributaryError && error.code === 'SINK') {
          strict = false;
          return this.#transaction(async () =>
            loadCsv(this.#db, table, file, false, await this.#snapshotRaw(table, originOf(file, table))),
          );
        }
        throw error;
      }
    });
  }

  async #applySnapshotRows(rows: SnapshotRows): Promise<number> {
    const job = await readJob(this.#db, rows.job);
    const tid = tableId(job.table);
    await this.#restoreKeys(tid);
    return this.#writeWidening(job, (table) =>
      this.#transaction(async () =>
        applyRows(
          this.#db,
          table,
          job,
          this.#marks.get(tid) ?? null,
          rows,
          await this.#snapshotRaw(table, originOf(rows, table)),
        ),
      ),
    );
  }

  /**
   * Runs a snapshot write of `job`'s table; a value its column cannot hold widens the column, as
   * apply() does, and the write runs again.
   */
  async #writeWidening<T>(job: SnapshotJob, write: (table: TableState) => Promise<T>): Promise<T> {
    const tid = tableId(job.table);
    const widened = new Set<string>();
    for (;;) {
      const table = this.#tables.get(tid);
      if (!table)
        throw new TributaryError(
          'INTERNAL',
          `${displayName(job.table)}: no table for snapshot job ${job.id}`,
        );
      try {
        return await write(table);
      } catch (error) {
        if (!(error instanceof UnfitValue)) throw error;
        const id = `${tid}\u0000${error.column}`;
        if (widened.has(id) || !widenedType(error.type)) throw error;
        widened.add(id);
        if (!(await widenColumn(this.#db, table, error))) throw error;
        this.#tables.set(tid, await loadTableState(this.#db, table.schema));
      }
    }
  }

  async #parkedKeys(id: string, limit: number): Promise<Row[]> {
    const job = await readJob(this.#db, id);
    const tid = tableId(job.table);
    const table = this.#tables.get(tid);
    const marks = this.#marks.get(tid);
    return table && marks ? parked(this.#db, table, marks, limit) : [];
  }

  async #finishSnapshotJob(
    id: string,
    state: 'done' | 'failed' | 'cancelled',
    error?: string,
  ): Promise<void> {
    const job = await readJob(this.#db, id);
    await this.#restoreKeys(tableId(job.table));
    const lastJob = await this.#transaction(() => finishJob(this.#db, job, state, error ?? null));
    const tid = tableId(job.table);
    if (lastJob) {
      this.#marks.delete(tid);
      this.#marksReady.delete(tid);
    }
  }

  /**
   * Columns renamed at the source (or dropped and added again under their name) before the
   * table's next shape: its raw table, when it has one, follows (raw-zone.ts followRenames).
   */
  async #followRenames(current: TableState, schema: TableSchema): Promise<void> {
    const renames = columnRenames(current.schema, schema);
    const aside = columnsReplaced(current.schema, schema, renames);
    if (renames.size === 0 && aside.length === 0) return;
    const id = tableId(current.schema.table);
    const raw = this.#raw.get(id) ?? (await loadRawTable(this.#db, current));
    if (!raw) return;
    await followRenames(this.#db, current, raw, renames, aside);
    this.#raw.delete(id);
  }

  /** `table`'s raw table, created or brought in line with the table first (in the open transaction). */
  async #rawOf(table: TableState): Promise<RawTable> {
    const id = tableId(table.schema.table);
    let raw = this.#raw.get(id) ?? null;
    if (raw?.syncedWith !== table) {
      const before = raw;
      raw = await syncRawTable(this.#db, table, raw);
      // its history view follows its columns (and key)
      if (raw.columns !== before?.columns || before.syncedWith.hasPrimaryKey !== table.hasPrimaryKey)
        await createHistoryView(this.#db, raw, table);
      this.#raw.set(id, raw);
    }
    return raw;
  }

  /** The open transaction's raw batch. */
  async #batch(): Promise<RawBatch> {
    this.#rawBatch ??= await newBatch(this.#db, this.#source);
    return this.#rawBatch;
  }

  /** How the snapshot write of `table` at `c` records its rows in the raw zone, or null without one. */
  async #snapshotRaw(table: TableState, origin: SnapshotOrigin): Promise<SnapshotRaw | null> {
    if (!this.#rawZone) return null;
    const raw = await this.#rawOf(table);
    return snapshotRaw(this.#db, raw, table, origin, await this.#batch());
  }

  /** Runs `body` in a transaction; on failure rolls back and reloads the in-memory state. */
  async #transaction<T>(body: () => Promise<T>): Promise<T> {
    await this.#db.run('BEGIN TRANSACTION');
    this.#rawBatch = null;
    try {
      const result = await body();
      await this.#db.run('COMMIT');
      return result;
    } catch (error) {
      try {
        await this.#db.run('ROLLBACK');
      } catch {
        // DuckDB already ended the transaction (a failed COMMIT does): report the first error
      }
      await this.#reload();
      throw error;
    }
  }

  // -- the public writes and reads of the writer connection, one at a time ------------------
  // Two callers interleaving statements on one DuckDB connection break each other (a query run
  // while an appender is open closes the appender's pending result: "Attempting to execute an
  // unsuccessful or closed pending query result"), and a transaction spans many awaits. So every
  // public method that uses the writer connection runs after the previous one has finished.

  #tail: Promise<unknown> = Promise.resolve();

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(work);
    this.#tail = run.catch(() => {});
    return run;
  }

  apply(items: readonly StreamItem[], lane?: LaneClaim): Promise<Position | null> {
    return this.#serial(() => this.#apply(items, lane));
  }

  claimLane(claim: LaneClaim): Promise<Position | null> {
    return this.#serial(() => this.#claimLane(claim));
  }

  snapshotJobs(): Promise<SnapshotJob[]> {
    return this.#serial(() => this.#snapshotJobs());
  }

  createSnapshotJob(job: NewJob): Promise<SnapshotJob> {
    return this.#serial(() => this.#createSnapshotJob(job));
  }

  startSnapshotAttempt(
    id: string,
    snapshotLsn: Lsn,
    schema: TableSchema,
    plan: readonly ChunkPlan[],
    rowsEstimated: number | null,
    options: { readonly startOver?: boolean; readonly files?: boolean } = {},
  ): Promise<SnapshotAttempt> {
    return this.#serial(() =>
      this.#startSnapshotAttempt(id, snapshotLsn, schema, plan, rowsEstimated, options),
    );
  }

  applySnapshotFile(file: SnapshotFile): Promise<SnapshotFileResult> {
    return this.#serial(() => this.#applySnapshotFile(file));
  }

  applySnapshotRows(rows: SnapshotRows): Promise<number> {
    return this.#serial(() => this.#applySnapshotRows(rows));
  }

  parkedKeys(id: string, limit: number): Promise<Row[]> {
    return this.#serial(() => this.#parkedKeys(id, limit));
  }

  finishSnapshotJob(id: string, state: 'done' | 'failed' | 'cancelled', error?: string): Promise<void> {
    return this.#serial(() => this.#finishSnapshotJob(id, state, error));
  }

  /**
   * Rebuilds the tables from the raw zone (../../landing/replay.ts) as of `point`: into the
   * schema `into` (tables named as their raw tables), or in place of the live tables, which is
   * only allowed to the end (the checkpoint stays theirs). One transaction.
   */
  replay(point: ReplayPoint, into: string | null): Promise<ReplayedTable[]> {
    return this.#serial(() => this.#replay(point, into));
  }

  async #replay(point: ReplayPoint, into: string | null): Promise<ReplayedTable[]> {
    if (!this.#rawZone) throw new TributaryError('USAGE', 'this warehouse was opened without its raw zone');
    if (into === null && point.kind !== 'end') {
      throw new TributaryError(
        'USAGE',
        'a replay in place goes to the end of the raw zone (the live tables stay at their checkpoint)',
        {
          hint: 'replay to a point into a schema of its own: --into <schema>',
        },
      );
    }
    if (into !== null) {
      const live = new Set([...this.#tables.values()].map((t) => duckSchemaOf(t.schema.table)));
      if (live.has(into) || into.startsWith('_tributary') || into === 'main' || into.length === 0) {
        throw new TributaryError(
          'USAGE',
          `cannot replay into ${JSON.stringify(into)}: it holds live tables or Tributary's own`,
          {
            hint: 'name a schema of its own, e.g. --into replay',
          },
        );
      }
    }
    if ((await rawTableNames(this.#db)).length === 0 && this.#tables.size > 0) {
      throw new TributaryError(
        'USAGE',
        'this warehouse keeps no raw landing zone (it was loaded with --no-raw): there is nothing to replay from',
      );
    }
    await this.#restoreKeys();
    return this.#transaction(async () => {
      const unquoted = this.#catalog;
      const catalog = q(unquoted);
      if (into !== null) await this.#db.run(`CREATE SCHEMA IF NOT EXISTS ${q(into)}`);
      const done: ReplayedTable[] = [];
      for (const table of this.#tables.values()) {
        if (point.kind === 'time') await checkHorizon(this.#db, table, point.time, unquoted);
        const raw = await this.#rawOf(table);
        const select = replaySql(raw, table, point, catalog);
        const columns = [...table.schema.columns.map((c) => q(c.name)), q(LSN_COLUMN)].join(', ');
        let target: string;
        if (into === null) {
          target = table.sql;
          await this.#db.run(`DELETE FROM ${table.sql}`);
          await this.#db.run(
            `INSERT INTO ${table.sql} (${columns}, ${q(SYNCED_COLUMN)}) SELECT *, now() FROM (${select})`,
          );
        } else {
          target = `${q(into)}.${q(raw.name)}`;
          await this.#db.run(`CREATE OR REPLACE TABLE ${target} AS SELECT * FROM (${select})`);
        }
        const count = await this.#db.rows(`SELECT count(*) FROM ${target}`);
        done.push({ table: table.schema.table, target, rows: Number(count[0]?.[0] ?? 0) });
      }
      return done;
    });
  }

  /**
   * Runs an analyst's read-only query with every table as it was at `point` (../../landing/as-of.ts),
   * on a connection of its own.
   */
  async queryAsOf(sql: string, point: ReplayPoint): Promise<QueryResult> {
    if (this.#readOnly) {
      // a read-only instance cannot attach a catalog for the views: an in-memory one reads the file
      const memory = await DuckDBInstance.create(':memory:');
      try {
        const connection = await memory.connect();
        await connection.run(`ATTACH '${this.#path.replaceAll("'", "''")}' AS warehouse (READ_ONLY)`);
        return await queryAsOf(connection, 'warehouse', sql, point, 'memory');
      } finally {
        memory.closeSync();
      }
    }
    const connection = await this.#instance.connect();
    try {
      return await queryAsOf(connection, this.#catalog, sql, point);
    } finally {
      connection.closeSync();
    }
  }

  /**
   * Removes raw rows committed before `cutoff`, keeping what the tables held then, compacted
   * (../../landing/retention.ts). One transaction per table.
   */
  pruneRaw(cutoff: Date): Promise<{ table: TableRef; removed: number; compacted: number }[]> {
    return this.#serial(async () => {
      const out: { table: TableRef; removed: number; compacted: number }[] = [];
      if (!this.#rawZone) return out;
      const named = new Set((await rawTableNames(this.#db)).map((t) => tableId(t.table)));
      for (const table of [...this.#tables.values()]) {
        if (!named.has(tableId(table.schema.table))) continue;
        const pruned = await this.#transaction(async () => {
          return pruneRaw(
            this.#db,
            await this.#rawOf(table),
            table,
            cutoff,
            await this.#batch(),
            this.#catalog,
          );
        });
        if (pruned.removed > 0) out.push({ table: table.schema.table, ...pruned });
      }
      return out;
    });
  }

  /**
   * Runs data checks (../../quality/) on a connection of their own, so they never wait on or
   * block the loader; then records their results in `_tributary.check_results` through the
   * writer, one transaction after the batch in flight (not when opened read-only).
   */
  async check(specs: readonly CheckSpec[], now?: () => Date): Promise<CheckResult[]> {
    const connection = await this.#instance.connect();
    let results: CheckResult[];
    try {
      results = await runChecks(new CheckReader(connection), specs, now);
    } finally {
      connection.closeSync();
    }
    if (!this.#readOnly && results.length > 0)
      await this.#serial(() => this.#transaction(() => recordCheckResults(this.#db, results)));
    return results;
  }

  /**
   * How the metrics layer (../../metrics/) reaches this warehouse: its queries on a connection
   * of their own (like checks, they never wait on or block the loader); the registry's writes in
   * one transaction through the writer, after the batch in flight (refused when opened read-only).
   */
  metricsStore(): MetricsStore {
    return {
      read: async (work) => {
        const connection = await this.#instance.connect();
        try {
          return await work(new Db(connection));
        } finally {
          connection.closeSync();
        }
      },
      write: (work) => {
        if (this.#readOnly)
          return Promise.reject(
            new TributaryError(
              'USAGE',
              `the warehouse ${this.#path} is open read-only: the metric registry cannot be written`,
            ),
          );
        return this.#serial(() => this.#transaction(() => work(this.#db)));
      },
    };
  }

  /** Writes what is new in the raw zone to `dir` as Parquet (../../landing/export.ts), on a connection of its own. */
  async exportRaw(dir: string): Promise<ExportedTable[]> {
    const connection = await this.#instance.connect();
    try {
      return await exportRaw(connection, this.#catalog, dir);
    } finally {
      connection.closeSync();
    }
  }

  /**
   * A read transaction on a connection of its own that sees the warehouse as it is now, and
   * keeps seeing it so while the loader goes on (DuckDB's MVCC snapshot is taken at the first
   * read, made here): tributary verify reads its pinned point through it. Close it soon: until
   * it closes, DuckDB cannot checkpoint.
   */
  async pinnedReader(): Promise<PinnedReader> {
    const connection = await this.#instance.connect();
    const db = new Db(connection);
    try {
      await db.run('BEGIN TRANSACTION');
      const checkpoint = await readCheckpoint(db);
      return {
        catalog: this.#catalog,
        checkpoint,
        rows: (sql, values) => db.rows(sql, values),
        query: (sql) => readQuery(connection, sql),
        close: async () => {
          await db.run('ROLLBACK').catch(() => {});
          connection.closeSync();
        },
      };
    } catch (error) {
      connection.closeSync();
      throw error;
    }
  }

  /**
   * A new connection of its own, for work that writes tables the loader never writes (the
   * models, ../../models/): its transactions commit beside the loader's under DuckDB's optimistic
   * concurrency, never waiting on a batch. The caller closes it, before `close()`.
   */
  connect(): Promise<DuckDBConnection> {
    return this.#instance.connect();
  }

  /** Runs an analyst's read-only query on a connection of its own (see read-query.ts). */
  async query(sql: string): Promise<QueryResult> {
    if (!this.#queryConnection) this.#queryConnection = await this.#instance.connect();
    return readQuery(this.#queryConnection, sql);
  }

  async close(): Promise<void> {
    try {
      this.#queryConnection?.closeSync();
      this.#db.connection.closeSync();
    } finally {
      this.#instance.closeSync();
    }
  }
}

function originOf(
  rows: { readonly snapshotLsn: Lsn; readonly snapshotTime: Date },
  table: TableState,
): SnapshotOrigin {
  return { lsn: rows.snapshotLsn, time: rows.snapshotTime, version: table.schema.version };
}

function nextPosition(items: readonly StreamItem[], from: number): Position | null {
  for (let j = from + 1; j < items.length; j++) {
    const p = itemPosition(items[j] as StreamItem);
    if (p) return p;
  }
  return null;
}
