/**
 * Runs the real pipeline (PostgresSource → Loader → DuckDBWarehouse on a temp file) inside the
 * test process, for tests that need to see batches or the warehouse while it runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StreamItem } from '../../src/core/change-event.js';
import { silentLogger } from '../../src/core/logger.js';
import type { TableRef } from '../../src/core/table-ref.js';
import type { LaneClaim } from '../../src/feed/feed.js';
import type { BatchLimits } from '../../src/pipeline/loader.js';
import { runPipeline } from '../../src/pipeline/pipeline.js';
import { PipelineStats } from '../../src/pipeline/pipeline-stats.js';
import type { SnapshotRunner, SnapshotSettings } from '../../src/pipeline/snapshot-runner.js';
import { parseSourceUrl } from '../../src/source/postgres/setup/connection-config.js';
import { TypeRegistry } from '../../src/source/postgres/values/type-registry.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { isSnapshotStore, type SnapshotStore } from '../../src/warehouse/snapshot.js';
import { isLaneStore, type Warehouse } from '../../src/warehouse/warehouse.js';
import type { PostgresCluster } from '../harness/postgres.js';
import { waitFor } from '../helpers/events.js';
import { waitForWarehouse } from '../helpers/warehouse.js';

/** What a test's pipeline writes to: DuckDB by default, or what `PipelineSettings.open` opens. */
export type TestWarehouse = Warehouse & Partial<SnapshotStore> & { close(): Promise<void> };

export interface InProcessPipeline<W extends TestWarehouse = DuckDBWarehouse> {
  readonly warehouse: W;
  readonly stats: PipelineStats;
  /** Every batch handed to `warehouse.apply` (one transaction each), in order. */
  readonly batches: StreamItem[][];
  /** Every snapshot chunk loaded from a CSV file: its table, rows, and rows DuckDB converted itself. */
  readonly files: { table: string; rows: number; converted: number }[];
  /** Settles when the run ends (by `stop`, or by its first failure). */
  readonly done: Promise<{ error: unknown } | { error: null }>;
  /** The snapshot runner (with `snapshot` settings), once the pipeline made it. */
  runner(): SnapshotRunner;
  /** Waits until every snapshot job is done (and there are `count`), failing on a failed one. */
  jobsDone(count: number, timeoutMs?: number): Promise<void>;
  /** Waits until the slot is acknowledged past the current WAL (so the warehouse holds it all). */
  caughtUp(): Promise<void>;
  /** Warehouse rows as text (NULL stays null). */
  rows(sql: string): Promise<(string | null)[][]>;
  /** Aborts the run, waits for it, closes the warehouse; rethrows the run's failure. */
  stop(): Promise<void>;
}

export interface PipelineSettings {
  readonly slot?: string;
  readonly tables?: readonly TableRef[] | 'all';
  readonly batch?: Partial<BatchLimits>;
  readonly tableWatchIntervalMs?: number;
  /** Keep the raw landing zone (default true). */
  readonly raw?: boolean;
  /** Snapshots and backfills (off unless given: most tests look at the stream alone). */
  readonly snapshot?: Partial<SnapshotSettings>;
}

export function startPipeline(
  cluster: PostgresCluster,
  settings?: PipelineSettings,
): Promise<InProcessPipeline>;
export function startPipeline<W extends TestWarehouse>(
  cluster: PostgresCluster,
  settings: PipelineSettings,
  open: (types: TypeRegistry) => Promise<W>,
): Promise<InProcessPipeline<W>>;
export async function startPipeline(
  cluster: PostgresCluster,
  settings: PipelineSettings = {},
  open?: (types: TypeRegistry) => Promise<TestWarehouse>,
): Promise<InProcessPipeline<TestWarehouse>> {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-pipeline-'));
  const slot = settings.slot ?? 'tributary';
  const types = new TypeRegistry();
  const warehouse: TestWarehouse = open
    ? await open(types)
    : await DuckDBWarehouse.open(join(dir, 'warehouse.duckdb'), {
        typeInfo: (oid) => types.info(oid),
        raw: settings.raw ?? true,
      });
  const stats = new PipelineStats();
  const batches: StreamItem[][] = [];
  const files: { table: string; rows: number; converted: number }[] = [];
  const controller = new AbortController();
  let runner: SnapshotRunner | null = null;
  const running = runPipeline(
    {
      source: {
        connection: parseSourceUrl(cluster.url()),
        slot,
        publication: slot,
        tables: settings.tables ?? 'all',
        types,
        statusIntervalMs: 200,
        ...(settings.tableWatchIntervalMs !== undefined
          ? { tableWatchIntervalMs: settings.tableWatchIntervalMs }
          : {}),
      },
      warehouse: {
        checkpoint: () => warehouse.checkpoint(),
        apply: (items) => {
          batches.push([...items]);
          return warehouse.apply(items);
        },
        query: (sql) => warehouse.query(sql),
        close: () => warehouse.close(),
        ...(settings.snapshot ? snapshotStore(warehouse, files) : {}),
        ...(isLaneStore(warehouse)
          ? {
              claimLane: (c: LaneClaim) => warehouse.claimLane(c),
              laneCheckpoints: () => warehouse.laneCheckpoints(),
            }
          : {}),
      },
      ...(settings.snapshot ? { snapshot: settings.snapshot } : {}),
      onSnapshots: (r) => {
        runner = r;
      },
      logger: silentLogger(),
      batch: { maxDelayMs: 20, ...settings.batch },
      stats,
    },
    controller.signal,
  );
  const done = running.then(
    () => ({ error: null }),
    (error: unknown) => ({ error }),
  );
  try {
    // changes made before the slot exists are not streamed: wait for the walsender to attach
    await Promise.race([
      waitFor(
        'the replication slot',
        async () => {
          const rows = await cluster.sql<{ active: boolean }>(
            'SELECT active FROM pg_replication_slots WHERE slot_name = $1',
            [slot],
          );
          return rows[0]?.active === true || undefined;
        },
        // with snapshots on, the first run copies the tables before the stream starts
        180_000,
      ),
      done.then((r) => {
        throw r.error ?? new Error('the pipeline stopped before its slot was active');
      }),
    ]);
    // the slot is active before the pipeline hands over its snapshot runner: wait for that too
    if (settings.snapshot) await waitFor('the snapshot runner', () => runner ?? undefined, 60_000);
  } catch (error) {
    // a start that failed leaves nothing running: the next test gets the slot
    controller.abort();
    await done;
    await warehouse.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await warehouse.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    warehouse,
    runner: () => {
      if (!runner) throw new Error('no snapshot runner: give startPipeline snapshot settings');
      return runner;
    },
    jobsDone: (count, timeoutMs = 180_000) =>
      waitFor(
        `${count} snapshot jobs done`,
        async () => {
          const jobs = (await warehouse.snapshotJobs?.()) ?? [];
          const failed = jobs.find((j) => j.state === 'failed');
          if (failed) throw new Error(`snapshot job of ${failed.table.name} failed: ${failed.error}`);
          return (jobs.length === count && jobs.every((j) => j.state === 'done')) || undefined;
        },
        timeoutMs,
      ).then(() => undefined),
    stats,
    batches,
    files,
    done,
    caughtUp: async () => {
      // fail fast if the run stopped instead of waiting for the timeout
      const stopped = Promise.race([done, new Promise<null>((r) => setTimeout(() => r(null), 0))]);
      const early = await stopped;
      if (early?.error) throw early.error;
      await Promise.race([
        waitForWarehouse(cluster, { slot }),
        done.then((r) => {
          throw r.error ?? new Error('the pipeline stopped before catching up');
        }),
      ]);
    },
    rows: async (sql) => {
      const result = await warehouse.query(sql);
      return result.rows.map((r) => r.map((v) => (v === null ? null : String(v))));
    },
    stop: async () => {
      controller.abort();
      const result = await done;
      await close();
      if (result.error) throw result.error;
    },
  };
}

function snapshotStore(
  warehouse: TestWarehouse,
  files: { table: string; rows: number; converted: number }[],
): Partial<SnapshotStore> {
  if (!isSnapshotStore(warehouse)) return {};
  const store = warehouse as TestWarehouse & SnapshotStore;
  const load = store.applySnapshotFile?.bind(store);
  return {
    snapshotJobs: () => store.snapshotJobs(),
    createSnapshotJob: (job) => store.createSnapshotJob(job),
    startSnapshotAttempt: (...args) => store.startSnapshotAttempt(...args),
    applySnapshotRows: (rows) => store.applySnapshotRows(rows),
    ...(load
      ? {
          applySnapshotFile: async (file) => {
            const result = await load(file);
            files.push({ table: file.schema.table.name, ...result });
            return result;
          },
        }
      : {}),
    parkedKeys: (job, limit) => store.parkedKeys(job, limit),
    finishSnapshotJob: (job, state, error) => store.finishSnapshotJob(job, state, error),
  };
}

/** Source rows as text (NULL stays null), in column order. */
export async function sourceRows(cluster: PostgresCluster, sql: string): Promise<(string | null)[][]> {
  const client = await cluster.connect();
  try {
    const result = await client.query({ text: sql, rowMode: 'array' });
    return (result.rows as unknown[][]).map((r) => r.map((v) => (v === null ? null : String(v))));
  } finally {
    await client.end();
  }
}

/** Runs `statements`, each in its own transaction, on one connection. */
export async function runEach(cluster: PostgresCluster, statements: readonly string[]): Promise<void> {
  const client = await cluster.connect();
  try {
    for (const s of statements) await client.query(s);
  } finally {
    await client.end();
  }
}
