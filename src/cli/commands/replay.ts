/**
 * `tributary replay [--until <time|position>] [--into <schema>]`: rebuilds the current-state
 * tables from the raw landing zone (src/landing/replay.ts). Into a schema of its own (tables
 * named as in `_tributary_raw`), as of any point; or, without `--into`, in place of the live
 * tables, to the end of the raw zone (after a bug, "rebuild it"). Sent to the running process
 * when one holds the warehouse.
 */
import { Command } from 'commander';
import { TributaryError } from '../../core/errors.js';
import { displayName } from '../../core/table-ref.js';
import { parseReplayPoint } from '../../landing/replay.js';
import { remoteReplay } from '../../server/control-client.js';
import type { ReplayedTable } from '../../warehouse/duckdb/duckdb-warehouse.js';
import { writeStdout } from '../output.js';
import { withWarehouse } from '../with-warehouse.js';
import { DEFAULT_WAREHOUSE } from './run.js';

interface ReplayFlags {
  readonly warehouse: string;
  readonly until?: string;
  readonly into?: string;
  readonly json?: boolean;
}

export function replayCommand(): Command {
  return new Command('replay')
    .description('rebuild the tables from the raw landing zone, to its end or as of a time or position')
    .option(
      '--until <time|position>',
      'as of this time (ISO 8601, UTC unless it says) or position (16/B374D848[#n])',
    )
    .option('--into <schema>', 'write the tables into this DuckDB schema instead of replacing the live ones')
    .option('--warehouse <path.duckdb>', 'the DuckDB warehouse file', DEFAULT_WAREHOUSE)
    .option('--json', 'print the tables rebuilt as JSON')
    .action(async (flags: ReplayFlags) => {
      const point = flags.until === undefined ? ({ kind: 'end' } as const) : parseReplayPoint(flags.until);
      const into = flags.into?.trim() || null;
      if (into === null && point.kind !== 'end') {
        throw new TributaryError('USAGE', 'replaying in place goes to the end of the raw zone', {
          hint: 'to see the tables as of a point, replay them into a schema of their own: --into <schema>',
        });
      }
      const tables = (await withWarehouse(
        flags.warehouse,
        (running) => remoteReplay(running, { until: flags.until ?? null, into }),
        (warehouse) => warehouse.replay(point, into),
        { write: true },
      )) as ReplayedTable[];
      await writeStdout(
        flags.json
          ? `${JSON.stringify(tables.map((t) => ({ table: displayName(t.table), target: t.target, rows: t.rows })))}\n`
          : tables.map((t) => `${displayName(t.table)} → ${t.target}: ${t.rows} rows\n`).join(''),
      );
    });
}
