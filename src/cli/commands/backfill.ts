/**
 * `tributary backfill <table> [--where <predicate>]`: re-reads a table, or the rows a predicate
 * selects, while changes keep flowing (src/pipeline/snapshot-runner.ts). Sent to the running
 * `tributary run`, which checks the request and queues the job; `--wait` follows it to the end
 * with its progress. With no `run` holding the warehouse, the job is recorded in the warehouse
 * and runs when `tributary run` next starts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import { TributaryError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { displayName } from '../../core/table-ref.js';
import type { JobStatus } from '../../pipeline/status-report.js';
import { findRunning, remoteBackfill, remoteStatus } from '../../server/control-client.js';
import type { ControlFile } from '../../server/control-server.js';
import { parseTableList } from '../../source/postgres/setup/tables.js';
import { predicateProblem } from '../../source/postgres/snapshot/predicate.js';
import { ClickHouseWarehouse } from '../../warehouse/clickhouse/clickhouse-warehouse.js';
import { isClickHouseUrl } from '../../warehouse/clickhouse/connect.js';
import type { SnapshotStore } from '../../warehouse/snapshot.js';
import { writeStdout } from '../output.js';
import { SnapshotProgressView } from '../snapshot-progress.js';
import { withWarehouse } from '../with-warehouse.js';
import { DEFAULT_WAREHOUSE } from './run.js';

interface BackfillFlags {
  readonly warehouse: string;
  readonly where?: string;
  readonly reason?: string;
  readonly wait?: boolean;
  readonly json?: boolean;
}

export function backfillCommand(): Command {
  return new Command('backfill')
    .description('re-read a table (or the rows --where selects) from the source while changes keep flowing')
    .argument('<table>', 'schema-qualified, quoted where needed: public.orders, \'public."Order Items"\'')
    .option(
      '--where <predicate>',
      "a PostgreSQL condition over the table's columns, e.g. \"created_at >= '2026-01-01'\"",
    )
    .option('--reason <text>', 'why, recorded with the job')
    .option(
      '--warehouse <path|url>',
      'the DuckDB warehouse file, or a ClickHouse warehouse (clickhouse://user@host:8123/db, chdb:///dir?database=db)',
      DEFAULT_WAREHOUSE,
    )
    .option('--wait', 'follow the job until it ends, with its progress (exit 1 if it fails)')
    .option('--json', 'print the job as JSON')
    .action(async (tableText: string, flags: BackfillFlags) => {
      const tables = parseTableList(tableText);
      const table = tables[0];
      if (!table || tables.length !== 1)
        throw new TributaryError('USAGE', 'name exactly one table to backfill');
      const predicate = flags.where?.trim() || null;
      const problem = predicate === null ? null : predicateProblem(predicate);
      if (problem) {
        throw new TributaryError('USAGE', `--where is refused: ${problem}`, {
          hint: "give --where one condition over the table's columns, in PostgreSQL syntax",
        });
      }
      const reason = flags.reason?.trim() || null;
      const request = { table: displayName(table), predicate, reason };
      const record = async (warehouse: SnapshotStore) => ({
        job: await warehouse.createSnapshotJob({
          table,
          predicate,
          reason: reason ?? 'backfill',
          keyless: false,
        }),
        control: null,
      });
      const queued: { job: { readonly id: string }; control: ControlFile | null } = isClickHouseUrl(
        flags.warehouse,
      )
        ? await clickhouseBackfill(flags.warehouse, request, record)
        : await withWarehouse(
            flags.warehouse,
            (control) =>
              remoteBackfill(control, request).then((job) => ({ job: job as { id: string }, control })),
            record,
            { write: true },
          );
      const job = queued.job;
      const running = queued.control;
      if (!running) {
        await writeStdout(
          flags.json
            ? `${JSON.stringify(job)}\n`
            : `backfill ${job.id} of ${displayName(table)} queued; it runs when tributary run starts (nothing is running now)\n`,
        );
        return;
      }
      if (!flags.wait) {
        await writeStdout(
          flags.json
            ? `${JSON.stringify(job)}\n`
            : `backfill ${job.id} of ${displayName(table)} queued (tributary status shows it)\n`,
        );
        return;
      }
      const view = new SnapshotProgressView(createLogger());
      try {
        for (;;) {
          const status = await remoteStatus(running);
          const current = ((status.snapshots ?? []) as JobStatus[]).find((j) => j.id === job.id);
          if (current && (current.state === 'failed' || current.state === 'cancelled')) {
            throw new TributaryError(
              'SINK',
              `backfill ${job.id} of ${displayName(table)} ${current.state}${current.error ? `: ${current.error}` : ''}`,
            );
          }
          if (current?.state === 'done') {
            view.stop();
            await writeStdout(
              flags.json
                ? `${JSON.stringify(current)}\n`
                : `backfill ${job.id} of ${displayName(table)} done: ${current.rows} rows read\n`,
            );
            return;
          }
          if (current?.rowsPerSecond !== undefined) {
            const [done, total] = (current.chunks ?? '0/0').split('/').map(Number);
            view.update([
              {
                id: current.id,
                table: current.table,
                reason: current.reason,
                rowsDone: current.rows,
                rowsEstimated: current.rowsEstimated,
                rowsPerSecond: current.rowsPerSecond,
                etaSeconds: current.etaSeconds ?? null,
                chunksDone: done ?? 0,
                chunks: total ?? 0,
              },
            ]);
          }
          await sleep(500);
        }
      } finally {
        view.stop();
      }
    });
}

/** Through the running `tributary run` when there is one, else recorded in ClickHouse for the next run. */
async function clickhouseBackfill<T>(
  url: string,
  request: { readonly table: string; readonly predicate: string | null; readonly reason: string | null },
  record: (warehouse: SnapshotStore) => Promise<T>,
): Promise<T | { job: { readonly id: string }; control: ControlFile }> {
  const control = findRunning(url);
  if (control) return { job: (await remoteBackfill(control, request)) as { id: string }, control };
  const warehouse = await ClickHouseWarehouse.open(url);
  try {
    return await record(warehouse);
  } finally {
    await warehouse.close();
  }
}
