/**
 * Snapshots and backfills: copying the rows a table already holds, exactly, while (or before)
 * the stream carries its changes. The warehouse's rule is in src/warehouse/snapshot.ts; this is
 * the design around it.
 *
 * Why exported snapshots and not only watermarks: a snapshot exported by CREATE_REPLICATION_SLOT
 * is paired with the slot's consistent point `C` by Postgres itself: it shows every transaction
 * that committed before `C` and none after. A watermark alone (a SELECT between two logical
 * messages) cannot tell which transactions the SELECT saw: a transaction can have written its
 * commit record before the low watermark yet still be invisible to the SELECT (it has not left
 * the proc array, e.g. waiting for a synchronous standby), and its change would then be
 * overwritten by the stale row. With `C` known, the rule is by position and has no such window.
 * The watermark still matters: a transactional logical message written after the slot exists
 * commits after `C`, so even an idle stream moves past `C`, where the copy may be applied.
 *
 * - First run (the slot is created now, nothing applied yet): the slot itself exports the
 *   snapshot, every published table is copied at `C` = where the stream starts, then the stream
 *   starts: snapshot-then-stream, exact for tables with and without a primary key.
 * - Everything else — a restart after a crash mid-snapshot, a table newly published, a
 *   `tributary backfill` — runs while the stream flows: a temporary slot exports a snapshot at a
 *   fresh `C`, the rows are applied once the stream is acknowledged past `C` (rule 1), by the rule
 *   (rule 2); keys the stream parked are read again at a later snapshot until none is left.
 * - Chunks are heap page ranges, read by up to `workers` connections at once, each a
 *   `COPY (SELECT ...) TO STDOUT` under a statement timeout, written to the warehouse in batches
 *   between the stream's batches (Loader.exclusive: one writer). A fresh table (the first run,
 *   the table empty when the attempt began: no row can meet another) goes faster: each chunk is
 *   written by Postgres as CSV to a temporary file, and the warehouse reads the file itself in
 *   one transaction (`SnapshotStore.applySnapshotFile`; the DuckDB warehouse converts in SQL only
 *   what it proves exact, for tables whose every column it converts, and defers the table's key
 *   to the end of the copy). Should the warehouse fail to read a file, that chunk is read as
 *   rows. Each chunk is recorded as done in the warehouse with its last rows, so a restart reads
 *   only the chunks not done. Rows of a half-read chunk that were written stay: re-read at a
 *   later snapshot, the rule overwrites them.
 * - A table without a primary key is a multiset: its rows carry no key to mark, so it is copied
 *   only at the first run, before the stream touches it. Interrupted, the first run starts over
 *   (slot re-created, copies cleared) while nothing has been applied; later, such a table cannot
 *   be snapshotted online and the job fails saying so.
 */

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { hasPrimaryKey, type Row } from '../core/change-event.js';
import { TributaryError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { formatLsn, type Lsn } from '../core/lsn.js';
import { isRunning } from '../core/process.js';
import { displayName, sameTable, type TableRef } from '../core/table-ref.js';
import { isConnectionFailure } from '../source/postgres/postgres-source.js';
import { connectClient } from '../source/postgres/setup/connect.js';
import type { SourceConfig } from '../source/postgres/setup/connection-config.js';
import { publishedTables } from '../source/postgres/setup/publication-catalog.js';
import { predicateProblem } from '../source/postgres/snapshot/predicate.js';
import {
  type ExportedSnapshot,
  exportSnapshot,
  rowDecoder,
  SnapshotWorker,
} from '../source/postgres/snapshot/snapshot-reader.js';
import { describeForSnapshot, type SnapshotTable } from '../source/postgres/snapshot/snapshot-table.js';
import type { TypeRegistry } from '../source/postgres/values/type-registry.js';
import type { ChunkPlan, ChunkState, SnapshotJob, SnapshotStore } from '../warehouse/snapshot.js';

export const WATERMARK_PREFIX = 'tributary.watermark';

export interface SnapshotSettings {
  /** `initial`: copy every published table that was never copied; `never`: only jobs asked for. */
  readonly mode: 'initial' | 'never';
  /** Connections reading chunks at once. Default 2. */
  readonly workers: number;
  /** Rows per chunk, by the planner's estimate. Default 250,000. */
  readonly chunkRows: number;
  /** Rows per warehouse write. Default 50,000. */
  readonly batchRows: number;
  /** Per chunk read. Default 10 minutes. */
  readonly statementTimeoutMs: number;
  /**
   * The first run's chunks go to the warehouse as Postgres' CSV in a temporary file, for it to
   * read itself (`SnapshotStore.applySnapshotFile`), when it can. Default true; false reads every
   * chunk as rows.
   */
  readonly csv: boolean;
}

export const DEFAULT_SNAPSHOT_SETTINGS: SnapshotSettings = Object.freeze({
  mode: 'initial',
  workers: 2,
  chunkRows: 250_000,
  batchRows: 50_000,
  statementTimeoutMs: 10 * 60_000,
  csv: true,
});

/** How far a job has got, for status and the progress bar. */
export interface JobProgress {
  readonly id: string;
  readonly table: string;
  readonly reason: string;
  readonly rowsDone: number;
  readonly rowsEstimated: number | null;
  readonly rowsPerSecond: number;
  readonly etaSeconds: number | null;
  readonly chunksDone: number;
  readonly chunks: number;
}

export interface SnapshotRunnerOptions {
  readonly connection: SourceConfig;
  readonly slot: string;
  readonly publication: string;
  readonly warehouse: SnapshotStore;
  readonly types: TypeRegistry;
  readonly logger: Logger;
  readonly settings?: Partial<SnapshotSettings>;
  /** Runs a warehouse write between the stream's batches (Loader.exclusive). */
  readonly serialize: <T>(work: () => Promise<T>) => Promise<T>;
  /** The stream's acknowledged position (PostgresSource.acknowledgedLsn), and a way to move it when idle. */
  readonly acknowledged: () => Lsn;
  readonly nudge?: () => void;
  readonly onProgress?: (progress: readonly JobProgress[]) => void;
}

interface Running {
  readonly job: SnapshotJob;
  readonly started: number;
  rowsDone: number;
  rowsAtStart: number;
  rowsEstimated: number | null;
  chunks: number;
  chunksDone: number;
}

export class SnapshotRunner {
  readonly #o: SnapshotRunnerOptions;
  readonly #settings: SnapshotSettings;
  readonly #log: Logger;
  readonly #running = new Map<string, Running>();
  #wake: (() => void) | null = null;

  constructor(options: SnapshotRunnerOptions) {
    this.#o = options;
    this.#settings = { ...DEFAULT_SNAPSHOT_SETTINGS, ...options.settings };
    this.#log = options.logger;
  }

  get settings(): SnapshotSettings {
    return this.#settings;
  }

  progress(): JobProgress[] {
    const now = Date.now();
    return [...this.#running.values()].map((r) => {
      const seconds = Math.max(0.001, (now - r.started) / 1000);
      const rate = (r.rowsDone - r.rowsAtStart) / seconds;
      const left = r.rowsEstimated === null ? null : Math.max(0, r.rowsEstimated - r.rowsDone);
      return {
        id: r.job.id,
        table: displayName(r.job.table),
        reason: r.job.reason,
        rowsDone: r.rowsDone,
        rowsEstimated: r.rowsEstimated,
        rowsPerSecond: rate,
        etaSeconds: left === null || rate <= 0 ? null : left / rate,
        chunksDone: r.chunksDone,
        chunks: r.chunks,
      };
    });
  }

  /**
   * Queues a backfill of `table` (tributary backfill), after checking it can run: the table is
   * published, has a primary key, and the predicate is valid SQL over its columns.
   */
  async request(table: TableRef, predicate: string | null, reason: string | null): Promise<SnapshotJob> {
    const client = await connectClient(this.#o.connection, { applicationName: 'tributary snapshot' });
    try {
      const published = await publishedTables(client, this.#o.publication);
      if (!published.some((t) => sameTable(t, table))) {
        throw new TributaryError('USAGE', `${displayName(table)} is not replicated by this pipeline`, {
          hint: `published tables: ${published.map(displayName).join(', ') || '(none)'}`,
        });
      }
      const described = await describeForSnapshot(client, table, this.#o.publication, this.#o.types);
      if (!hasPrimaryKey(described.schema)) {
        throw new TributaryError(
          'USAGE',
          `${displayName(table)} has no primary key: it cannot be backfilled while the stream runs`,
          {
            hint: 'add a primary key to the table; rows without a key can only be copied at the first start',
          },
        );
      }
      if (predicate) await checkPredicate(client, described, predicate, false);
    } finally {
      await client.end().catch(() => {});
    }
    const job = await this.#o.serialize(() =>
      this.#o.warehouse.createSnapshotJob({ table, predicate, reason: reason ?? 'backfill', keyless: false }),
    );
    this.#log.info(
      { table: displayName(table), job: job.id, predicate, reason: job.reason },
      'backfill queued',
    );
    this.poke();
    return job;
  }

  /** A job was asked for (tributary backfill): look at the queue now rather than at the next poll. */
  poke(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /**
   * The first run's copy: every published table at the slot's exported snapshot, before the
   * stream starts. Resolves once every job is done.
   */
  async initial(snapshot: ExportedSnapshot, signal: AbortSignal, startOver = false): Promise<void> {
    const jobs: SnapshotJob[] = [];
    const active = await this.#jobs();
    for (const table of await this.#published()) {
      const existing = active.find(
        (j) => sameTable(j.table, table) && (j.state === 'pending' || j.state === 'running'),
      );
      jobs.push(
        existing ??
          (await this.#o.serialize(() =>
            this.#o.warehouse.createSnapshotJob({
              table,
              predicate: null,
              reason: 'initial',
              keyless: false,
            }),
          )),
      );
    }
    if (jobs.length === 0) {
      await snapshot.release();
      return;
    }
    this.#log.info(
      { tables: jobs.length, consistentPoint: formatLsn(snapshot.consistentPoint) },
      'initial snapshot: copying the rows the tables hold before streaming',
    );
    await this.#copy(snapshot, jobs, signal, { waitForStream: false, startOver });
  }

  /** Runs queued jobs, and creates jobs for newly published tables, until `signal` aborts. */
  async background(signal: AbortSignal, pollMs = 2000): Promise<void> {
    await sweepStaleCsvDirectories();
    const onAbort = () => this.poke();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (!signal.aborted) {
        try {
          if (this.#settings.mode === 'initial') await this.#enqueueNewTables();
          const next = (await this.#jobs()).find((j) => j.state === 'pending' || j.state === 'running');
          if (next) {
            await this.#runOnline(next, signal);
            continue;
          }
        } catch (error) {
          if (signal.aborted) return;
          if (!isTransient(error)) throw error;
          // the source went away (restart, failover, network): the job resumes from its chunks
          this.#log.warn({ err: (error as Error).message }, 'snapshot interrupted; retrying');
        }
        if (signal.aborted) return; // its poke may have come while no wait was armed
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pollMs);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** The warehouse's jobs, read between the stream's batches (one DuckDB connection). */
  #jobs(): Promise<SnapshotJob[]> {
    return this.#o.serialize(() => this.#o.warehouse.snapshotJobs());
  }

  /** Published tables that never had a job (new in the publication, or never copied). */
  async #enqueueNewTables(): Promise<void> {
    const jobs = await this.#jobs();
    for (const table of await this.#published()) {
      // any job at all, done, failed or cancelled: a failed one is for a user to retry
      if (jobs.some((j) => sameTable(j.table, table))) continue;
      const job = await this.#o.serialize(() =>
        this.#o.warehouse.createSnapshotJob({ table, predicate: null, reason: 'new table', keyless: false }),
      );
      this.#log.info(
        { table: displayName(table), job: job.id },
        'snapshot queued for a newly published table',
      );
    }
  }

  async #published(): Promise<TableRef[]> {
    const client = await connectClient(this.#o.connection, { applicationName: 'tributary snapshot' });
    try {
      return await publishedTables(client, this.#o.publication);
    } finally {
      await client.end().catch(() => {});
    }
  }

  /** One job while the stream flows: a temporary slot's snapshot, rule 1 and 2, parked keys. */
  async #runOnline(job: SnapshotJob, signal: AbortSignal): Promise<void> {
    const snapshot = await exportSnapshot(this.#o.connection, { name: temporarySlotName(), temporary: true });
    try {
      await this.#copy(snapshot, [job], signal, { waitForStream: true, startOver: false });
    } catch (error) {
      if (signal.aborted || isTransient(error)) throw error;
      // the job cannot succeed as asked (the table is gone, has no key, a chunk outlasts the
      // statement timeout, a value cannot be stored): it fails, the stream goes on
      const message = describeFailure(error);
      await this.#o.serialize(() => this.#o.warehouse.finishSnapshotJob(job.id, 'failed', message));
      this.#log.error({ table: displayName(job.table), job: job.id, err: message }, 'snapshot job failed');
    }
  }

  async #copy(
    snapshot: ExportedSnapshot,
    jobs: readonly SnapshotJob[],
    signal: AbortSignal,
    mode: { readonly waitForStream: boolean; readonly startOver: boolean },
  ): Promise<void> {
    const s = this.#settings;
    const c = snapshot.consistentPoint;
    const workers: SnapshotWorker[] = [];
    try {
      for (let i = 0; i < Math.max(1, s.workers); i++) {
        workers.push(
          await SnapshotWorker.open(this.#o.connection, snapshot.name, {
            statementTimeoutMs: s.statementTimeoutMs,
          }),
        );
      }
    } catch (error) {
      await Promise.all(workers.map((w) => w.close()));
      await snapshot.release();
      throw error;
    }
    // every worker holds the snapshot now; the exporting session may go (and its temporary slot)
    await snapshot.release();
    // fresh tables whose chunks go to the warehouse as CSV files, written in `csvDir`
    const csvJobs = new Set<string>();
    let csvDir: string | null = null;
    try {
      const queue: { job: SnapshotJob; table: SnapshotTable; chunk: ChunkState }[] = [];
      const tables = new Map<string, SnapshotTable>();
      for (const job of jobs) {
        const table = await describeForSnapshot(
          workers[0]!.client,
          job.table,
          this.#o.publication,
          this.#o.types,
        );
        if (mode.waitForStream && !hasPrimaryKey(table.schema)) {
          throw new TributaryError(
            'USAGE',
            `${displayName(job.table)} has no primary key: its rows can only be copied at the first start, before the stream touches it`,
            {
              hint: 'add a primary key to the table, or start over with a new warehouse and slot (tributary teardown)',
            },
          );
        }
        if (job.predicate) await checkPredicate(workers[0]!.client, table, job.predicate, true);
        tables.set(job.id, table);
        const plan = planChunks(table.pages, table.rowsEstimate, s.chunkRows);
        const files = !mode.waitForStream && s.csv && this.#o.warehouse.applySnapshotFile !== undefined;
        const attempt = await this.#o.serialize(() =>
          this.#o.warehouse.startSnapshotAttempt(
            job.id,
            c,
            table.schema,
            plan,
            job.predicate ? null : table.rowsEstimate,
            { startOver: mode.startOver, files },
          ),
        );
        const all = attempt.chunks;
        const chunks = all.filter((c) => !c.done);
        if (attempt.files) {
          csvJobs.add(job.id);
          csvDir ??= await csvDirectory();
        }
        const current = (await this.#jobs()).find((j) => j.id === job.id) ?? job;
        this.#running.set(job.id, {
          job: current,
          started: Date.now(),
          rowsDone: current.rowsDone,
          rowsAtStart: current.rowsDone,
          rowsEstimated: current.rowsEstimated,
          chunks: all.length,
          chunksDone: all.length - chunks.length,
        });
        for (const chunk of chunks) queue.push({ job: current, table, chunk });
        this.#log.info(
          {
            table: displayName(job.table),
            job: job.id,
            attempt: current.attempt,
            snapshotLsn: formatLsn(c),
            chunks: `${chunks.length} of ${all.length} to read`,
            rowsEstimated: table.rowsEstimate,
          },
          job.reason === 'initial' ? 'copying table' : `copying table (${job.reason})`,
        );
      }
      if (mode.waitForStream) await this.#waitForStream(c, signal);
      // tables without a key first: an interrupted first run starts over while one is unfinished
      const keyless = new Set(
        [...tables].filter(([, table]) => !hasPrimaryKey(table.schema)).map(([id]) => id),
      );
      queue.sort((a, b) => Number(keyless.has(b.job.id)) - Number(keyless.has(a.job.id)));
      let next = 0;
      const report = () => this.#o.onProgress?.(this.progress());
      const finish = async (job: SnapshotJob) => {
        await this.#o.serialize(() => this.#o.warehouse.finishSnapshotJob(job.id, 'done'));
        this.#log.info(
          { table: displayName(job.table), job: job.id, rows: this.#running.get(job.id)?.rowsDone },
          'table copied',
        );
        this.#running.delete(job.id);
      };
      // a worker that fails stops the others before the next chunk, and #copy returns only once
      // every worker is idle: nothing of this attempt may still write while the caller goes on
      // (a pipeline started again after the source went away would meet it in the warehouse)
      let failure: { readonly error: unknown } | null = null;
      await Promise.all(
        workers
          .map(async (worker) => {
            for (;;) {
              if (signal.aborted || failure !== null) return;
              const item = queue[next++];
              if (!item) return;
              const running = this.#running.get(item.job.id)!;
              const write = (rows: Row[], last: boolean) =>
                this.#o.serialize(() =>
                  this.#o.warehouse.applySnapshotRows({
                    job: item.job.id,
                    schema: item.table.schema,
                    snapshotLsn: c,
                    snapshotTime: snapshot.takenAt,
                    rows,
                    chunk: item.chunk.chunk,
                    last,
                  }),
                );
              const loaded =
                csvDir !== null && csvJobs.has(item.job.id)
                  ? await this.#loadCsv(worker, item, c, snapshot.takenAt, csvDir)
                  : null;
              if (signal.aborted) return;
              if (loaded !== null) running.rowsDone += loaded;
              else {
                await worker.readChunk(
                  item.table,
                  item.chunk,
                  item.job.predicate,
                  s.batchRows,
                  async (rows) => {
                    await write(rows, false);
                    running.rowsDone += rows.length;
                    report();
                  },
                );
                if (signal.aborted) return;
                await write([], true);
              }
              running.chunksDone++;
              this.#log.debug(
                { table: displayName(item.job.table), job: item.job.id, chunk: item.chunk.chunk },
                'chunk copied',
              );
              report();
              // a job whose last chunk is in is done at once (online jobs still re-read parked keys)
              if (running.chunksDone === running.chunks && !mode.waitForStream) await finish(item.job);
            }
          })
          .map((working) =>
            working.catch((error: unknown) => {
              failure ??= { error };
            }),
          ),
      );
      if (failure !== null) throw (failure as { readonly error: unknown }).error;
      if (signal.aborted) return;
      for (const job of jobs) {
        if (!this.#running.has(job.id)) continue; // finished with its last chunk
        if (mode.waitForStream) await this.#rereadParked(job, tables.get(job.id)!, signal);
        if (signal.aborted) return;
        await finish(job);
      }
    } finally {
      for (const job of jobs) this.#running.delete(job.id);
      await Promise.all(workers.map((w) => w.close()));
      if (csvDir !== null) await rm(csvDir, { recursive: true, force: true });
    }
  }

  /**
   * A fresh table's chunk through a CSV file the warehouse reads itself; the rows it loaded, or
   * null when it could not read the file (the chunk is then read as rows: nothing of it was written).
   */
  async #loadCsv(
    worker: SnapshotWorker,
    item: { readonly job: SnapshotJob; readonly table: SnapshotTable; readonly chunk: ChunkState },
    c: Lsn,
    snapshotTime: Date,
    dir: string,
  ): Promise<number | null> {
    const path = join(dir, `${item.job.id}-${item.chunk.chunk}.csv`);
    try {
      const rows = await worker.copyCsv(item.table, item.chunk, item.job.predicate, path);
      const decode = rowDecoder(item.table);
      const loaded = await this.#o.serialize(() =>
        this.#o.warehouse.applySnapshotFile!({
          job: item.job.id,
          schema: item.table.schema,
          snapshotLsn: c,
          snapshotTime,
          chunk: item.chunk.chunk,
          path,
          rows,
          decode,
        }),
      );
      this.#log.debug(
        { table: displayName(item.job.table), chunk: item.chunk.chunk, ...loaded },
        'chunk loaded from CSV',
      );
      return loaded.rows;
    } catch (error) {
      if (!(error instanceof TributaryError && error.code === 'SINK')) throw error;
      this.#log.warn(
        { table: displayName(item.job.table), chunk: item.chunk.chunk, err: error.message },
        'the warehouse could not load the chunk from CSV; reading it as rows',
      );
      return null;
    } finally {
      await rm(path, { force: true });
    }
  }

  /** Rule 1: the stream has applied (or passed, idle) everything that committed before `c`. */
  async #waitForStream(c: Lsn, signal: AbortSignal): Promise<void> {
    await this.#watermark();
    for (let i = 0; this.#o.acknowledged() < c; i++) {
      if (signal.aborted) return;
      if (i % 10 === 0) this.#o.nudge?.();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** A transactional logical message: it commits after `C`, so the stream reaches `C` even when idle. */
  async #watermark(): Promise<void> {
    try {
      const client = await connectClient(this.#o.connection, { applicationName: 'tributary snapshot' });
      try {
        await client.query('SELECT pg_logical_emit_message(true, $1, $2)', [
          WATERMARK_PREFIX,
          String(Date.now()),
        ]);
      } finally {
        await client.end().catch(() => {});
      }
    } catch (error) {
      // without the privilege, the stream still gets past C with the server's next keepalive
      this.#log.debug({ err: (error as Error).message }, 'could not write a watermark message');
    }
  }

  /** Rule 2's parked keys: read them again at a later snapshot until none is left. */
  async #rereadParked(job: SnapshotJob, table: SnapshotTable, signal: AbortSignal): Promise<void> {
    for (let round = 1; !signal.aborted; round++) {
      const keys = await this.#o.serialize(() => this.#o.warehouse.parkedKeys(job.id, 10_000));
      if (keys.length === 0) return;
      if (round > 50) {
        throw new TributaryError(
          'SINK',
          `${displayName(job.table)}: ${keys.length} key(s) kept changing while they were read again (50 rounds)`,
          { hint: `run tributary backfill ${displayName(job.table)} when the table is quieter` },
        );
      }
      const snapshot = await exportSnapshot(this.#o.connection, {
        name: temporarySlotName(),
        temporary: true,
      });
      let worker: SnapshotWorker;
      try {
        worker = await SnapshotWorker.open(this.#o.connection, snapshot.name, {
          statementTimeoutMs: this.#settings.statementTimeoutMs,
        });
      } finally {
        await snapshot.release();
      }
      try {
        const rows = await worker.readKeys(table, keys);
        await this.#waitForStream(snapshot.consistentPoint, signal);
        if (signal.aborted) return;
        await this.#o.serialize(() =>
          this.#o.warehouse.applySnapshotRows({
            job: job.id,
            schema: table.schema,
            snapshotLsn: snapshot.consistentPoint,
            snapshotTime: snapshot.takenAt,
            rows,
            chunk: null,
            last: false,
            reread: keys,
          }),
        );
        this.#log.info({ table: displayName(job.table), keys: keys.length, round }, 'parked keys read again');
      } finally {
        await worker.close();
      }
    }
  }
}

/** Connection-level failures (server restart, network): worth retrying; the job keeps its chunks. */
const isTransient = isConnectionFailure;

function describeFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if ((error as { code?: unknown }).code === '57014') {
    return `${message} (a chunk took longer than --snapshot-timeout: raise it, or lower --snapshot-chunk-rows)`;
  }
  return error instanceof TributaryError && error.hint ? `${message} (${error.hint})` : message;
}

/** Page ranges of about `chunkRows` rows each by the planner's figures; the last one open-ended. */
export function planChunks(pages: number, rowsEstimate: number | null, chunkRows: number): ChunkPlan[] {
  const rowsPerPage = rowsEstimate && pages > 0 ? Math.max(1, rowsEstimate / pages) : 100;
  const pagesPerChunk = Math.max(1, Math.floor(chunkRows / rowsPerPage));
  const plan: ChunkPlan[] = [];
  for (let from = 0; from < pages; from += pagesPerChunk) {
    const to = from + pagesPerChunk;
    plan.push({ chunk: plan.length, fromPage: from, toPage: to >= pages ? null : to });
  }
  if (plan.length === 0) plan.push({ chunk: 0, fromPage: 0, toPage: null });
  return plan;
}

/**
 * Checks the predicate is one condition (predicate.ts: no `;`, no comment, its parentheses its
 * own), then has Postgres plan it (EXPLAIN: nothing runs) with the extended protocol (one
 * statement only) in a read-only transaction — its own, or a savepoint of `client`'s.
 */
async function checkPredicate(
  client: pg.ClientBase,
  table: SnapshotTable,
  predicate: string,
  inTransaction: boolean,
): Promise<void> {
  const problem = predicateProblem(predicate);
  if (problem) {
    throw new TributaryError(
      'USAGE',
      `the backfill predicate ${JSON.stringify(predicate)} is refused: ${problem}`,
      {
        hint: "give --where one condition over the table's columns, in PostgreSQL syntax",
      },
    );
  }
  try {
    await client.query(inTransaction ? 'SAVEPOINT tributary_check' : 'BEGIN READ ONLY');
    // queryMode is pg's (8.11+), not yet in its type definitions
    const explain = {
      text: `EXPLAIN ${table.select} ${table.filtered ? 'AND' : 'WHERE'} (${predicate})`,
      queryMode: 'extended',
    } as pg.QueryConfig;
    await client.query(explain);
    await client.query(inTransaction ? 'RELEASE SAVEPOINT tributary_check' : 'ROLLBACK');
  } catch (error) {
    await client.query(inTransaction ? 'ROLLBACK TO SAVEPOINT tributary_check' : 'ROLLBACK').catch(() => {});
    throw new TributaryError(
      'USAGE',
      `the backfill predicate does not work on ${displayName(table.table)}: ${(error as Error).message}`,
      {
        hint: "give --where a condition over the table's columns, in PostgreSQL syntax",
      },
    );
  }
}

const CSV_DIR_PREFIX = 'tributary-snapshot-';

/**
 * A directory for this process's chunk files, named after its pid; directories a killed process
 * left (their pid no longer runs) are removed first, so kill -9 leaves no files behind for long.
 */
async function csvDirectory(): Promise<string> {
  await sweepStaleCsvDirectories();
  return mkdtemp(join(tmpdir(), `${CSV_DIR_PREFIX}${process.pid}-`));
}

async function sweepStaleCsvDirectories(): Promise<void> {
  for (const name of await readdir(tmpdir()).catch(() => [] as string[])) {
    const pid = Number(/^tributary-snapshot-(\d+)-/.exec(name)?.[1]);
    if (!pid || pid === process.pid || isRunning(pid)) continue;
    await rm(join(tmpdir(), name), { recursive: true, force: true }).catch(() => {});
  }
}

function temporarySlotName(): string {
  return `tributary_snapshot_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
}
