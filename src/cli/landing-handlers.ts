/**
 * What a running `run` or `load` does with the raw zone: answers the commands that reach it
 * through its control endpoint (queries as of a point, replay, export, checks), and prunes it
 * when a retention is set.
 */
import type { Logger } from 'pino';
import { displayName } from '../core/table-ref.js';
import { parseReplayPoint } from '../landing/replay.js';
import { requestedChecks } from '../quality/check-selection.js';
import type { CheckSpec } from '../quality/check-spec.js';
import type { ControlHandlers } from '../server/control-server.js';
import type { DuckDBWarehouse } from '../warehouse/duckdb/duckdb-warehouse.js';

export function landingHandlers(
  warehouse: DuckDBWarehouse,
): Pick<ControlHandlers, 'query' | 'replay' | 'exportRaw'> {
  return {
    query: (sql, asOf) =>
      asOf === undefined ? warehouse.query(sql) : warehouse.queryAsOf(sql, parseReplayPoint(asOf)),
    replay: (request) =>
      warehouse.replay(request.until ? parseReplayPoint(request.until) : { kind: 'end' }, request.into),
    exportRaw: (dir) => warehouse.exportRaw(dir),
  };
}

/** Runs the checks `tributary check` sent (or `own`, the process's configured ones) and records them. */
export function checkHandler(
  warehouse: DuckDBWarehouse,
  own: readonly CheckSpec[] | null,
): NonNullable<ControlHandlers['check']> {
  return (request) => warehouse.check(requestedChecks(request.checks, own, request.only));
}

/** How often the raw zone is pruned (and once, a minute after the start). */
const PRUNE_EVERY_MS = 3_600_000;

/**
 * Prunes the raw zone of changes older than `retentionMs` now and then (src/landing/retention.ts);
 * returns the function that stops it. A failed pruning is logged and tried again next time.
 */
export function pruneEvery(warehouse: DuckDBWarehouse, retentionMs: number, log: Logger): () => void {
  let stopped = false;
  const prune = async () => {
    try {
      for (const t of await warehouse.pruneRaw(new Date(Date.now() - retentionMs)))
        log.info(
          { table: displayName(t.table), removed: t.removed, compacted: t.compacted },
          'raw zone pruned',
        );
    } catch (error) {
      if (!stopped)
        log.warn({ err: (error as Error).message }, 'pruning the raw zone failed; trying again later');
    }
  };
  const first = setTimeout(() => void prune(), 60_000);
  const timer = setInterval(() => void prune(), PRUNE_EVERY_MS);
  first.unref();
  timer.unref();
  return () => {
    stopped = true;
    clearTimeout(first);
    clearInterval(timer);
  };
}
