/**
 * `tributary status [--json]`: where replication stands. From the running `tributary run`
 * when there is one (position, changes/s, end-to-end lag, slot lag, per-table rows and last
 * change), else from the warehouse file alone.
 */
import { Command } from 'commander';
import { statusReport } from '../../pipeline/status-report.js';
import { remoteStatus } from '../../server/control-client.js';
import { writeStdout } from '../output.js';
import { withWarehouse } from '../with-warehouse.js';
import { DEFAULT_WAREHOUSE } from './run.js';

interface StatusFlags {
  readonly warehouse: string;
  readonly json?: boolean;
}

export function statusCommand(): Command {
  return new Command('status')
    .description('show replication position, lag, rates and per-table state')
    .option('--warehouse <path.duckdb>', 'the DuckDB warehouse file', DEFAULT_WAREHOUSE)
    .option('--json', 'print JSON')
    .action(async (flags: StatusFlags) => {
      const report = await withWarehouse(
        flags.warehouse,
        (running) => remoteStatus(running),
        (warehouse) => statusReport(warehouse, null, null),
      );
      await writeStdout(flags.json ? `${JSON.stringify(report, null, 2)}\n` : describe(report));
    });
}

function describe(report: Record<string, unknown>): string {
  const lines = [
    `running:        ${report.running ? 'yes' : 'no'}`,
    `checkpoint:     ${report.checkpoint ?? '(nothing applied yet)'}`,
  ];
  if (report.running) {
    lines.push(
      `end-to-end lag: ${report.endToEndLagSeconds ?? '?'} s`,
      `slot lag:       ${report.slotLagBytes ?? '?'} bytes`,
      `changes/s:      ${report.changesPerSecond ?? 0}  (applied since start: ${report.changesApplied ?? 0})`,
    );
  }
  const tables = (report.tables ?? []) as { table: string; rows: number; lastChange: string | null }[];
  lines.push('tables:');
  for (const t of tables) lines.push(`  ${t.table}  ${t.rows} rows  last change ${t.lastChange ?? '-'}`);
  return `${lines.join('\n')}\n`;
}
