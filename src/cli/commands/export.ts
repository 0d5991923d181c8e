/**
 * `tributary export raw --to <dir>`: the raw landing zone as Parquet, partitioned by table and
 * commit date, incrementally: only what is new since the last export to that directory
 * (src/landing/export.ts). Done by the running process when one holds the warehouse.
 */
import { resolve } from 'node:path';
import { Command } from 'commander';
import { TributaryError } from '../../core/errors.js';
import type { ExportedTable } from '../../landing/export.js';
import { remoteExportRaw } from '../../server/control-client.js';
import { writeStdout } from '../output.js';
import { withWarehouse } from '../with-warehouse.js';
import { DEFAULT_WAREHOUSE } from './run.js';

interface ExportFlags {
  readonly to: string;
  readonly warehouse: string;
  readonly json?: boolean;
}

export function exportCommand(): Command {
  return new Command('export')
    .description(
      'write the raw landing zone as Parquet, partitioned by table and commit date, only what is new',
    )
    .argument('<what>', 'what to export: raw')
    .requiredOption(
      '--to <dir>',
      'the directory (Hive-style: table=<name>/commit_date=<yyyy-mm-dd>/*.parquet)',
    )
    .option('--warehouse <path.duckdb>', 'the DuckDB warehouse file', DEFAULT_WAREHOUSE)
    .option('--json', 'print what was written as JSON')
    .action(async (what: string, flags: ExportFlags) => {
      if (what !== 'raw') throw new TributaryError('USAGE', `export takes raw, not ${JSON.stringify(what)}`);
      // the running process may have another working directory
      const dir = resolve(flags.to);
      const tables = (await withWarehouse(
        flags.warehouse,
        (running) => remoteExportRaw(running, dir),
        (warehouse) => warehouse.exportRaw(dir),
      )) as (Omit<ExportedTable, 'from' | 'to'> & { from: bigint | string; to: bigint | string })[];
      await writeStdout(
        flags.json
          ? `${JSON.stringify(tables, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`
          : tables
              .map((t) =>
                t.rows === 0 && String(t.from) === String(t.to)
                  ? `${t.table}: nothing new\n`
                  : `${t.table}: ${t.rows} rows (batches ${BigInt(t.from) + 1n}–${t.to})\n`,
              )
              .join(''),
      );
    });
}
