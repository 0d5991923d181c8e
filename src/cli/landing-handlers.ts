/**
 * What a running `run` or `load` answers about the raw zone, for the commands that reach it
 * through its control endpoint: queries as of a point, replay, export.
 */
import { parseReplayPoint } from '../landing/replay.js';
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
