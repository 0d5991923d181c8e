/**
 * What `tributary status` shows: the pipeline's position and rates, the slot's lag, and per
 * table the row count and the last time a change was applied — read from the warehouse.
 *
 * Slot lag is the server's view (SlotMonitor): `slotLagBytes` is the server's WAL end minus the
 * slot's confirmed_flush_lsn (WAL the slot holds back), `slotRetainedBytes` the WAL end minus
 * restart_lsn (WAL the server keeps for it). Both are null when the server has not answered;
 * `slotReadAgeSeconds` says how old the reading is when the last one is shown instead.
 */
import { formatLsn, type Lsn, parseLsn } from '../core/lsn.js';
import { formatPosition, type Position } from '../core/position.js';
import { quoteIdentifier, type TableRef } from '../core/table-ref.js';
import type { SourceStatus } from '../source/postgres/postgres-source.js';
import { bytesBehind, type SlotObservation } from '../source/postgres/stream/slot-monitor.js';
import type { StatusJob, StatusTable } from '../warehouse/clickhouse/status.js';
import { CURRENT_TABLES_SQL } from '../warehouse/duckdb/tables.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import type { PipelineStats } from './pipeline-stats.js';
import type { JobProgress } from './snapshot-runner.js';
import { CAUGHT_UP_SLOT_BYTES, type TelemetryReading } from './telemetry.js';

export interface TableStatus {
  readonly table: string;
  readonly rows: number;
  readonly lastChange: string | null;
}

export async function tableStatus(warehouse: Warehouse): Promise<TableStatus[]> {
  return (await tableRows(warehouse)).map(({ ref: _ref, ...status }) => status);
}

/** tableStatus with each table's name as parts (`table` joins them unquoted, as `status` shows it). */
export async function tableRows(warehouse: Warehouse): Promise<(TableStatus & { readonly ref: TableRef })[]> {
  if (answersStatus(warehouse)) {
    return (await warehouse.statusTables()).map((t) => ({
      table: `${t.ref.schema}.${t.ref.name}`,
      rows: t.rows,
      lastChange: t.lastChange,
      ref: t.ref,
    }));
  }
  const tables = await warehouse.query(CURRENT_TABLES_SQL);

  const out: (TableStatus & { ref: TableRef })[] = [];
  for (const [schema, name] of tables.rows as [string, string][]) {
    const result = await warehouse.query(
      `SELECT count(*)::BIGINT, strftime(timezone('UTC', max(_tributary_synced_at)), '%Y-%m-%dT%H:%M:%S.%fZ')
         FROM ${quoteIdentifier(schema)}.${quoteIdentifier(name)}`,
    );
    const [rows, last] = (result.rows[0] ?? [0, null]) as [string | number, string | null];
    const ref = { schema: schema === 'main' ? 'public' : schema, name };
    out.push({ table: `${ref.schema}.${name}`, rows: Number(rows), lastChange: last, ref });
  }
  return out;
}

/**
 * A warehouse that reads its own tables and jobs for `status` (ClickHouse); the DuckDB warehouse
 * is read with the SQL here.
 */
export interface WarehouseStatus {
  statusTables(): Promise<StatusTable[]>;
  statusJobs(): Promise<StatusJob[]>;
}

function answersStatus(warehouse: Warehouse): warehouse is Warehouse & WarehouseStatus {
  return typeof (warehouse as Partial<WarehouseStatus>).statusTables === 'function';
}

export interface JobStatus {
  readonly id: string;
  readonly table: string;
  readonly predicate: string | null;
  readonly reason: string;
  readonly state: string;
  readonly requestedAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly rows: number;
  readonly rowsEstimated: number | null;
  readonly attempts: number;
  readonly error: string | null;
  /** From the running process, while the job runs. */
  readonly rowsPerSecond?: number;
  readonly etaSeconds?: number | null;
  readonly chunks?: string;
}

/** Whether Tributary's state has this table (a warehouse older than the feature lacks it). */
export async function hasStateTable(
  warehouse: Warehouse,
  name: 'snapshot_jobs' | 'check_results',
): Promise<boolean> {
  const exists = await warehouse.query(
    `SELECT count(*) FROM information_schema.tables WHERE table_schema = '_tributary' AND table_name = '${name}'`,
  );
  return Number(exists.rows[0]?.[0] ?? 0) > 0;
}

/** Snapshot and backfill jobs (src/warehouse/snapshot.ts), newest last, with live progress when running. */
export async function jobStatus(
  warehouse: Warehouse,
  progress: readonly JobProgress[] | null,
): Promise<JobStatus[]> {
  if (answersStatus(warehouse)) {
    return (await warehouse.statusJobs()).map((job) =>
      withLive({ ...job, table: `${job.table.schema}.${job.table.name}` }, progress),
    );
  }
  if (!(await hasStateTable(warehouse, 'snapshot_jobs'))) return [];
  // times in ISO 8601, UTC, as the ClickHouse warehouse gives them (not in the session's zone)
  const iso = (column: string) => `strftime(${column} AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ')`;
  const result = await warehouse.query(
    `SELECT id, table_schema, table_name, predicate, reason, state, ${iso('requested_at')}, ${iso('started_at')},
            ${iso('finished_at')}, rows_done::BIGINT, rows_estimated::BIGINT, attempt, error
       FROM _tributary.snapshot_jobs ORDER BY requested_at, id`,
  );
  return result.rows.map((r) => {
    const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
    return withLive(
      {
        id: String(r[0]),
        table: `${String(r[1])}.${String(r[2])}`,
        predicate: text(r[3]),
        reason: String(r[4]),
        state: String(r[5]),
        requestedAt: String(r[6]),
        startedAt: text(r[7]),
        finishedAt: text(r[8]),
        rows: Number(r[9]),
        rowsEstimated: r[10] === null ? null : Number(r[10]),
        attempts: Number(r[11]),
        error: text(r[12]),
      },
      progress,
    );
  });
}

/** A recorded job with the running process's live progress, while it runs. */
function withLive(job: JobStatus, progress: readonly JobProgress[] | null): JobStatus {
  const live = progress?.find((p) => p.id === job.id);
  if (!live) return job;
  return {
    ...job,
    rows: live.rowsDone,
    rowsPerSecond: Math.round(live.rowsPerSecond),
    etaSeconds: live.etaSeconds === null ? null : Math.round(live.etaSeconds),
    chunks: `${live.chunksDone}/${live.chunks}`,
  };
}

/** A data check's latest result (src/quality/): what `status` shows of each. */
export interface CheckStatus {
  readonly name: string;
  readonly type: string;
  readonly severity: string;
  readonly status: string;
  readonly message: string;
  readonly finishedAt: string;
}

/** The latest result of every check ever run on this warehouse (`_tributary.check_results`). */
export async function checkStatus(warehouse: Warehouse): Promise<CheckStatus[]> {
  if (answersStatus(warehouse)) return []; // data checks run on DuckDB only
  if (!(await hasStateTable(warehouse, 'check_results'))) return [];
  const result = await warehouse.query(
    `SELECT check_name, check_type, severity, status, message, finished_at::VARCHAR FROM (
       SELECT *, row_number() OVER (PARTITION BY check_name ORDER BY finished_at DESC, run_id DESC) AS latest
         FROM _tributary.check_results)
      WHERE latest = 1 ORDER BY check_name`,
  );
  return result.rows.map((r) => ({
    name: String(r[0]),
    type: String(r[1]),
    severity: String(r[2]),
    status: String(r[3]),
    message: String(r[4]),
    finishedAt: String(r[5]),
  }));
}

/** A JetStream feed as the loader sees it: its stream, its consumer, and how far behind that is. */
export interface FeedStatus {
  readonly stream: string;
  readonly consumer: string;
  /** Messages (each many changes) in the stream not yet delivered to the loader. */
  readonly pendingMessages: number | null;
  /** Delivered and not yet acknowledged (applied). */
  readonly unacknowledgedMessages: number | null;
  /** The feed's lanes, those this loader holds, and the loaders of its group. */
  readonly lanes: number;
  readonly heldLanes: readonly number[];
  readonly loaders: number | null;
}

export async function statusReport(
  warehouse: Warehouse,
  stats: PipelineStats | null,
  source: SourceStatus | null,
  progress: readonly JobProgress[] | null = null,
  feed: FeedStatus | null = null,
): Promise<Record<string, unknown>> {
  const checkpoint: Position | null = await warehouse.checkpoint();
  const s = stats?.snapshot();
  return {
    running: stats !== null,
    checkpoint: checkpoint ? formatPosition(checkpoint) : null,
    ...(s
      ? {
          changesApplied: s.changes,
          changesPerSecond: s.changesPerSecond,
          endToEndLagSeconds: s.lagMs === null ? null : s.lagMs / 1000,
        }
      : {}),
    ...(source
      ? {
          connected: source.connected,
          receivedLsn: source.receivedLsn,
          acknowledgedLsn: source.flushLsn,
          reconnects: source.reconnects,
          ...slotFields(source.slot),
        }
      : {}),
    ...(feed ? { feed } : {}),
    tables: await tableStatus(warehouse),
    snapshots: await jobStatus(warehouse, progress),
    checks: await checkStatus(warehouse),
  };
}

function slotFields(observed: SlotObservation | null): Record<string, unknown> {
  const r = observed?.reading;
  const lsn = (value: Lsn | null | undefined) =>
    value === null || value === undefined ? null : formatLsn(value);
  return {
    slotLagBytes: r ? bytesBehind(r, r.confirmedFlushLsn) : null,
    slotRetainedBytes: r ? bytesBehind(r, r.restartLsn) : null,
    walStatus: r?.walStatus ?? null,
    safeWalSizeBytes: r?.safeWalSizeBytes ?? null,
    serverWalLsn: lsn(r?.serverLsn),
    slotConfirmedFlushLsn: lsn(r?.confirmedFlushLsn),
    slotRestartLsn: lsn(r?.restartLsn),
    slotExists: r ? r.exists : null,
    slotReadAgeSeconds: observed ? Math.round(observed.ageMs / 100) / 10 : null,
  };
}

/** What the telemetry sampler records, from the pipeline's stats and the source's status. */
export function telemetryReading(stats: PipelineStats, source: SourceStatus | null): TelemetryReading {
  const s = stats.snapshot();
  const r = source?.slot?.reading;
  const slotLagBytes = r ? bytesBehind(r, r.confirmedFlushLsn) : null;
  const applied = source ? parseLsn(source.flushLsn) >= parseLsn(source.receivedLsn) : false;
  return {
    newestCommitAgeSeconds: s.lagMs === null ? null : s.lagMs / 1000,
    caughtUp: applied && slotLagBytes !== null && slotLagBytes <= CAUGHT_UP_SLOT_BYTES,
    slotLagBytes,
    slotRetainedBytes: r ? bytesBehind(r, r.restartLsn) : null,
    changesPerSecond: s.changesPerSecond,
  };
}
