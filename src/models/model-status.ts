/**
 * Each model's actual freshness against its declared target (`tributary models status`, and the
 * `models` section of `tributary status`). Actual freshness = now − the data time the model
 * reflects: for a table, the commit time as of its last successful refresh (carried forward by
 * the running process while nothing it reads changes: model-refresher.ts); for a view, the
 * pipeline's current data time (a view reads the tables as they are). State:
 *
 * - `never refreshed`: no successful refresh recorded;
 * - `failed`: the last refresh failed (or was skipped because an upstream model failed);
 * - `late`: older than its `freshness:` target; `ok` otherwise (also when it declares none).
 *
 * A model with a target that is late, failed or never refreshed is a problem (exit 1). A quiet
 * source ages too: the data time is the newest commit the warehouse applied.
 */
import type { QueryResult } from '../warehouse/warehouse.js';
import type { ModelPlan } from './model-graph.js';
import { describeRefresh } from './model-header.js';
import { DATA_TIME_SQL, LATEST_RUNS_SQL } from './model-runs.js';

export type FreshnessState = 'ok' | 'late' | 'failed' | 'never refreshed';

export interface ModelStatus {
  readonly name: string;
  readonly materialized: string;
  readonly refresh: string;
  readonly target: string | null;
  readonly state: FreshnessState;
  /** Whether this is a problem: a target missed, or a failure. */
  readonly problem: boolean;
  readonly dataTime: string | null;
  readonly ageSeconds: number | null;
  readonly lastRun: {
    readonly status: string;
    readonly finishedAt: string;
    readonly rows: number | null;
    readonly error: string | null;
  } | null;
}

/** A model's latest run, and the data time of its latest successful one. */
export interface LatestRun {
  readonly status: string;
  readonly error: string | null;
  readonly finished: Date;
  readonly rows: number | null;
  readonly okDataTime: Date | null;
}

/** What the warehouse holds about the models' runs, read through `read` (a read-only query). */
export interface RunFacts {
  readonly pipelineDataTime: Date | null;
  readonly latest: ReadonlyMap<string, LatestRun>;
}

export async function readRunFacts(read: (sql: string) => Promise<QueryResult>): Promise<RunFacts> {
  const exists = await read(
    "SELECT count(*) FROM information_schema.tables WHERE table_schema = '_tributary' AND table_name IN ('model_runs', 'checkpoint', 'lanes')",
  );
  if (Number(exists.rows[0]?.[0] ?? 0) < 3) return { pipelineDataTime: null, latest: new Map() };
  const data = (await read(DATA_TIME_SQL)).rows[0]?.[0];
  const latest = new Map<string, LatestRun>();
  for (const r of (await read(LATEST_RUNS_SQL)).rows) {
    latest.set(String(r[0]), {
      status: String(r[1]),
      error: r[2] === null ? null : String(r[2]),
      finished: new Date(Number(r[3])),
      rows: r[5] === null ? null : Number(r[5]),
      okDataTime: r[6] === null ? null : new Date(Number(r[6])),
    });
  }
  return { pipelineDataTime: data === null || data === undefined ? null : new Date(Number(data)), latest };
}

export function modelStatus(
  plan: ModelPlan,
  facts: RunFacts,
  now: Date,
  currentAsOf: ReadonlyMap<string, Date> = new Map(),
): ModelStatus[] {
  return plan.models.map((model) => {
    const last = facts.latest.get(model.name) ?? null;
    const table = model.header.materialized === 'table';
    const everOk = last !== null && (last.status === 'ok' || last.okDataTime !== null);
    const data = !everOk
      ? null
      : table
        ? (currentAsOf.get(model.name) ?? last?.okDataTime ?? null)
        : facts.pipelineDataTime;
    const ageSeconds = data === null ? null : Math.max(0, (now.getTime() - data.getTime()) / 1000);
    const target = model.header.freshnessMs;
    let state: FreshnessState;
    if (last === null) state = 'never refreshed';
    else if (last.status !== 'ok') state = 'failed';
    else if (data === null || ageSeconds === null) state = 'never refreshed';
    else state = target !== null && ageSeconds * 1000 > target ? 'late' : 'ok';
    return {
      name: model.name,
      materialized: model.header.materialized,
      refresh: describeRefresh(model.header.refresh),
      target: model.header.freshness,
      state,
      problem: state === 'failed' || (target !== null && state !== 'ok'),
      dataTime: data?.toISOString() ?? null,
      ageSeconds: ageSeconds === null ? null : Math.round(ageSeconds * 10) / 10,
      lastRun: last
        ? { status: last.status, finishedAt: last.finished.toISOString(), rows: last.rows, error: last.error }
        : null,
    };
  });
}
