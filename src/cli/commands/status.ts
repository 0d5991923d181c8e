/**
 * `tributary status [--json]`: where replication stands. From the running `tributary run`
 * when there is one (position, changes/s, end-to-end lag, slot lag as the source server sees
 * it, per-table rows and last change), else from the warehouse file alone: then the checkpoint
 * and the tables, but no slot lag, since `status` does not connect to the source itself.
 */
import { Command } from 'commander';
import type { ModelStatus } from '../../models/model-status.js';
import type { CheckStatus, FeedStatus, JobStatus } from '../../pipeline/status-report.js';
import { statusReport } from '../../pipeline/status-report.js';
import type { AlertsReport } from '../../server/alerting.js';
import { findRunning, remoteStatus } from '../../server/control-client.js';
import { ClickHouseWarehouse } from '../../warehouse/clickhouse/clickhouse-warehouse.js';
import { isClickHouseUrl } from '../../warehouse/clickhouse/connect.js';
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
    .option(
      '--warehouse <path|url>',
      'the DuckDB warehouse file, or a ClickHouse warehouse (clickhouse://user@host:8123/db, chdb:///dir?database=db)',
      DEFAULT_WAREHOUSE,
    )
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      "\nSlot lag is read from the source server by the running `tributary run`: how far the slot's\n" +
        "confirmed position trails the server's WAL (slotLagBytes), and how much WAL the server keeps\n" +
        'for the slot (slotRetainedBytes, walStatus). Without a running `run` only the checkpoint and\n' +
        "the tables are shown. The running process also reports its models' freshness (tributary models status) and its open alerts.",
    )
    .action(async (flags: StatusFlags) => {
      const report = isClickHouseUrl(flags.warehouse)
        ? await clickhouseStatus(flags.warehouse)
        : await withWarehouse(
            flags.warehouse,
            (running) => remoteStatus(running),
            (warehouse) => statusReport(warehouse, null, null),
          );
      await writeStdout(flags.json ? `${JSON.stringify(report, null, 2)}\n` : describe(report));
    });
}

/** From the running `tributary run` when there is one, else from ClickHouse itself. */
async function clickhouseStatus(url: string): Promise<Record<string, unknown>> {
  const running = findRunning(url);
  if (running) return remoteStatus(running);
  const warehouse = await ClickHouseWarehouse.open(url);
  try {
    return await statusReport(warehouse, null, null);
  } finally {
    await warehouse.close();
  }
}

function describe(report: Record<string, unknown>): string {
  const lines = [
    `running:        ${report.running ? 'yes' : 'no'}`,
    `checkpoint:     ${report.checkpoint ?? '(nothing applied yet)'}`,
  ];
  if (report.running) {
    lines.push(
      `end-to-end lag: ${report.endToEndLagSeconds ?? '?'} s`,
      // a `tributary load` process reads no slot: the source process has it
      ...('receivedLsn' in report ? describeSlot(report) : []),
      ...describeFeed(report.feed as FeedStatus | undefined),
      `changes/s:      ${report.changesPerSecond ?? 0}  (applied since start: ${report.changesApplied ?? 0})`,
    );
  }
  const tables = (report.tables ?? []) as { table: string; rows: number; lastChange: string | null }[];
  lines.push('tables:');
  for (const t of tables) lines.push(`  ${t.table}  ${t.rows} rows  last change ${t.lastChange ?? '-'}`);
  const jobs = (report.snapshots ?? []) as JobStatus[];
  if (jobs.length > 0) lines.push('snapshots and backfills:');
  for (const j of jobs) lines.push(`  ${describeJob(j)}`);
  const checks = (report.checks ?? []) as CheckStatus[];
  if (checks.length > 0) lines.push('checks (latest result of each):');
  for (const c of checks) {
    lines.push(
      `  ${c.name}  ${c.status.toUpperCase()}  (${c.type}, ${c.severity})  ${c.finishedAt}  ${c.message}`,
    );
  }
  const models = (report.models ?? []) as ModelStatus[];
  if (models.length > 0) lines.push('models (freshness against the target):');
  for (const m of models) {
    const age = m.ageSeconds === null ? '-' : `${m.ageSeconds} s`;
    lines.push(
      `  ${m.name}  ${m.state.toUpperCase()}  (${m.materialized}, ${m.refresh})  age ${age}  target ${m.target ?? '-'}`,
    );
  }
  const alerts = report.alerts as AlertsReport | undefined;
  if (alerts)
    lines.push(`alerts:         ${alerts.open.length === 0 ? 'none open' : `${alerts.open.length} open`}`);
  for (const a of alerts?.open ?? []) lines.push(`  ${a.alert}  since ${a.since}  ${a.message}`);
  return `${lines.join('\n')}\n`;
}

function describeJob(j: JobStatus): string {
  const of = j.rowsEstimated === null ? '' : ` of ~${j.rowsEstimated}`;
  const where = j.predicate ? ` where ${j.predicate}` : '';
  const live =
    j.rowsPerSecond === undefined
      ? ''
      : `, ${j.rowsPerSecond} rows/s, chunks ${j.chunks}${j.etaSeconds == null ? '' : `, ETA ${j.etaSeconds} s`}`;
  const when = j.finishedAt
    ? ` finished ${j.finishedAt}`
    : j.startedAt
      ? ` started ${j.startedAt}`
      : ` requested ${j.requestedAt}`;
  const error = j.error ? ` — ${j.error}` : '';
  return `${j.id}  ${j.table}${where}  ${j.state} (${j.reason})  ${j.rows}${of} rows${live}${when}${error}`;
}

function describeFeed(feed: FeedStatus | undefined): string[] {
  if (!feed) return [];
  return [
    `feed:           JetStream stream ${feed.stream}, consumer ${feed.consumer}: ` +
      `${feed.pendingMessages ?? '?'} messages not yet delivered, ${feed.unacknowledgedMessages ?? '?'} being applied`,
    `lanes:          ${feed.lanes}; this loader holds ${feed.heldLanes.length === 0 ? 'none' : feed.heldLanes.join(', ')}` +
      ` (${feed.loaders ?? '?'} loader${feed.loaders === 1 ? '' : 's'} in the group)`,
  ];
}

/** The slot lines: lag and retained WAL as the server sees them, and how old that reading is. */
function describeSlot(report: Record<string, unknown>): string[] {
  const acknowledged = `acknowledged:   ${report.acknowledgedLsn ?? '?'}  (received ${report.receivedLsn ?? '?'})`;
  if (report.serverWalLsn === null || report.serverWalLsn === undefined)
    return ['slot lag:       unknown (the source server has not answered yet)', acknowledged];
  const age = Number(report.slotReadAgeSeconds ?? 0);
  const asOf = age >= 2 ? `  (read ${age} s ago; the server has not answered since)` : '';
  if (report.slotExists === false)
    return [`slot lag:       the slot does not exist on the source server${asOf}`, acknowledged];
  const safe =
    report.safeWalSizeBytes === null || report.safeWalSizeBytes === undefined
      ? ''
      : `, ${report.safeWalSizeBytes} bytes more before it is lost`;
  return [
    `slot lag:       ${report.slotLagBytes ?? '?'} bytes behind the server's WAL at ${report.serverWalLsn}${asOf}`,
    `WAL retained:   ${report.slotRetainedBytes ?? '?'} bytes (wal_status ${report.walStatus ?? '?'}${safe})`,
    acknowledged,
  ];
}
