/**
 * Snapshots and backfills, the warehouse's side. A job copies a table's rows (or the rows a
 * predicate selects) as they were at one point of the stream, the job's *snapshot LSN* `C`:
 * the consistent point of a replication slot whose exported snapshot the rows were read in, so
 * the rows show every transaction that committed before `C` and none that committed at or
 * after it (Postgres guarantees this pairing; it is what its own table sync relies on).
 *
 * The rule that makes a copy exact while the stream keeps flowing (src/pipeline/snapshot-runner.ts
 * argues the rest of the design):
 *
 * 1. Rows read at `C` are applied only once the stream has applied everything before `C` (the
 *    checkpoint's commit LSN ≥ `C`, or the stream starts at `C`), so an older change never
 *    lands on top of them.
 * 2. A row read at `C` is applied unless the stream already holds something newer for its key:
 *    a stored row whose `_tributary_lsn` ≥ `C`, or a *mark* at ≥ `C` — a delete (the key is
 *    gone; its stale copy must not come back), or a *parked* update: one that left TOASTed
 *    columns unchanged for a row the warehouse did not hold yet, so their values are unknown.
 *    Parked keys are read again, at a later snapshot, before the job ends.
 * 3. A truncate at ≥ `C` discards every row read at `C`.
 *
 * While a table has an active job the loader writes marks (a table per source table in
 * `_tributary`, dropped when its last job ends) in the same transaction as the changes, so
 * marks, rows and checkpoint always agree, also after a crash. A table without a primary key
 * has no key to mark: its rows are copied only where nothing else has been applied to it (the
 * first run, before the stream starts), see the runner.
 */
import type { Row, TableSchema } from '../core/change-event.js';
import type { Lsn } from '../core/lsn.js';
import type { TableRef } from '../core/table-ref.js';

export type JobState = 'pending' | 'running' | 'done' | 'failed' | 'cancelled';

export interface SnapshotJob {
  readonly id: string;
  readonly table: TableRef;
  /** A Postgres predicate over the table's columns (backfill `--where`), or null for every row. */
  readonly predicate: string | null;
  /** Why the job exists: `initial`, `new table`, `backfill`, or what the user said. */
  readonly reason: string;
  readonly keyless: boolean;
  readonly state: JobState;
  readonly requestedAt: Date;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  /** Rows applied (read at some snapshot and written, or found newer in the warehouse). */
  readonly rowsDone: number;
  /** The planner's estimate of the rows to copy (pg_class.reltuples), or null. */
  readonly rowsEstimated: number | null;
  /** Each attempt reads at a snapshot of its own; 0 before the first. */
  readonly attempt: number;
  readonly snapshotLsn: Lsn | null;
  /** The latest truncate of the table the stream applied while the job was active (rule 3). */
  readonly truncatedLsn: Lsn | null;
  readonly error: string | null;
}

/** A slice of a table by physical position: heap pages `[fromPage, toPage)`, `toPage` null for the rest. */
export interface ChunkPlan {
  readonly chunk: number;
  readonly fromPage: number;
  readonly toPage: number | null;
}

export interface ChunkState extends ChunkPlan {
  readonly done: boolean;
  readonly rows: number;
  /** The snapshot LSN it was read at, once done. */
  readonly snapshotLsn: Lsn | null;
}

/** Rows of one job read at `snapshotLsn`, with the table's shape then. */
export interface SnapshotRows {
  readonly job: string;
  readonly schema: TableSchema;
  readonly snapshotLsn: Lsn;
  /** When the snapshot was taken, by the source's clock (the event time of its rows in the raw zone). */
  readonly snapshotTime: Date;
  readonly rows: readonly Row[];
  /** The chunk these rows belong to, marked done with them when `last`; null for re-read keys. */
  readonly chunk: number | null;
  readonly last: boolean;
  /** For a re-read of parked keys: the keys asked for; their parks before `snapshotLsn` are resolved. */
  readonly reread?: readonly Row[];
}

/**
 * One whole chunk of a fresh table (`SnapshotAttempt.files`) as Postgres wrote it with
 * `COPY (...) TO STDOUT (FORMAT csv)` under Tributary's session settings: the warehouse may read
 * the file itself, provided every value lands exactly as `decode` and the column writers would
 * land it; whatever it does not convert itself goes through `decode` (fields as the output
 * functions printed them, null for NULL). The chunk is marked done with its rows.
 */
export interface SnapshotFile {
  readonly job: string;
  readonly schema: TableSchema;
  readonly snapshotLsn: Lsn;
  /** When the snapshot was taken, by the source's clock. */
  readonly snapshotTime: Date;
  readonly chunk: number;
  readonly path: string;
  /** Rows Postgres wrote to the file (COPY's count). */
  readonly rows: number;
  readonly decode: (fields: (string | null)[]) => Row;
}

/** A chunk loaded from a file: its rows, and how many of them the warehouse converted itself (not through `decode`). */
export interface SnapshotFileResult {
  readonly rows: number;
  readonly converted: number;
}

/** An attempt begun: the chunks still to read, and whether they are to come as files. */
export interface SnapshotAttempt {
  readonly chunks: ChunkState[];
  /**
   * The warehouse takes this attempt's chunks as files (`applySnapshotFile`): they were asked for
   * (`files`: the first run, the stream not started), the table held no row when the attempt
   * began (no row of this job can meet another: the table is fresh), and the warehouse reads
   * the text of every one of its columns itself.
   */
  readonly files: boolean;
}

export interface NewJob {
  readonly table: TableRef;
  readonly predicate: string | null;
  readonly reason: string;
  readonly keyless: boolean;
}

export interface SnapshotStore {
  snapshotJobs(): Promise<SnapshotJob[]>;
  createSnapshotJob(job: NewJob): Promise<SnapshotJob>;
  /**
   * Starts an attempt of `job` at `snapshotLsn` with the table's shape then: creates the table
   * if the warehouse has none, records the chunk plan on the first attempt (later attempts keep
   * it), and returns the job's chunks, done or not. A keyless job's rows from an earlier attempt are removed (only a
   * whole copy at one snapshot is exact for a multiset), and so are every job's with
   * `startOver` (a first run begun again at a new snapshot). Records whether the table is keyless.
   */
  startSnapshotAttempt(
    job: string,
    snapshotLsn: Lsn,
    schema: TableSchema,
    plan: readonly ChunkPlan[],
    rowsEstimated: number | null,
    options?: { readonly startOver?: boolean; readonly files?: boolean },
  ): Promise<SnapshotAttempt>;
  /** Applies rows by the rule above, in one transaction; returns how many were written. */
  applySnapshotRows(rows: SnapshotRows): Promise<number>;
  /**
   * Loads a fresh table's chunk from a file (see `SnapshotFile`), in one transaction; optional.
   * Throws when the file cannot be read as a whole (the caller then reads the chunk as rows).
   */
  applySnapshotFile?(file: SnapshotFile): Promise<SnapshotFileResult>;
  /** Keys of the job's table the stream parked (rule 2) and no re-read has resolved yet; at most `limit`. */
  parkedKeys(job: string, limit: number): Promise<Row[]>;
  finishSnapshotJob(job: string, state: 'done' | 'failed' | 'cancelled', error?: string): Promise<void>;
}

export function isSnapshotStore(warehouse: object): warehouse is SnapshotStore {
  return 'startSnapshotAttempt' in warehouse && 'applySnapshotRows' in warehouse;
}
