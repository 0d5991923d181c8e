/** Shared by the models tests: model files in a directory, and the runs `tributary run` recorded. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { queryWarehouse } from '../helpers/warehouse.js';

export function modelFiles(files: Record<string, string>): {
  dir: string;
  models: string;
  warehouse: string;
} {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-models-'));
  const models = join(dir, 'models');
  mkdirSync(models);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(models, `${name}.sql`), text);
  return { dir, models, warehouse: join(dir, 'w.duckdb') };
}

export interface RunRow {
  model: string;
  trigger: string;
  status: string;
  rows: string | null;
  error: string | null;
  started: string;
  finished: string;
}

/** `_tributary.model_runs`, oldest first (times as epoch µs strings). */
export async function modelRuns(warehouse: string, where = 'TRUE'): Promise<RunRow[]> {
  return (await queryWarehouse(
    warehouse,
    `SELECT model, trigger, status, rows, error, epoch_us(started_at) AS started, epoch_us(finished_at) AS finished
       FROM _tributary.model_runs WHERE ${where} ORDER BY started_at, finished_at`,
  )) as unknown as RunRow[];
}

/** Rows as comparable text: every value a string, sorted. */
export function canonical(rows: readonly Record<string, unknown>[]): string[] {
  return rows.map((r) => JSON.stringify(Object.values(r).map((v) => (v === null ? null : String(v))))).sort();
}
