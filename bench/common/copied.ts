/** Waiting for a pipeline's first copy of a benchmark table into the warehouse. */
import type { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { sleep } from './report.js';

/** Resolves once every snapshot job is done and `orders` holds `rows` rows; throws on a failed job. */
export async function firstCopyDone(warehouse: DuckDBWarehouse, rows: number): Promise<void> {
  for (;;) {
    const jobs = await warehouse.snapshotJobs();
    if (jobs.some((j) => j.state === 'failed')) throw new Error('the copy failed');
    if (jobs.length > 0 && jobs.every((j) => j.state === 'done')) break;
    await sleep(200);
  }
  const count = await warehouse.query('SELECT count(*)::BIGINT FROM orders');
  if (Number(count.rows[0]?.[0]) !== rows) throw new Error(`the warehouse holds ${count.rows[0]?.[0]} rows`);
}
