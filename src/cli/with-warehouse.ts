/**
 * Reaches the warehouse the way the situation allows: through the running `tributary run`
 * that holds it, or by opening the file read-only when nothing runs.
 */
import { existsSync } from 'node:fs';
import { TributaryError } from '../core/errors.js';
import { findRunning } from '../server/control-client.js';
import type { ControlFile } from '../server/control-server.js';
import { DuckDBWarehouse } from '../warehouse/duckdb/duckdb-warehouse.js';

export async function withWarehouse<T>(
  path: string,
  remote: (running: ControlFile) => Promise<T> | null,
  local: (warehouse: DuckDBWarehouse) => Promise<T>,
): Promise<T> {
  const running = findRunning(path);
  if (running) {
    const answer = remote(running);
    if (answer) return answer;
  }
  if (!existsSync(path)) {
    throw new TributaryError('USAGE', `no warehouse at ${path}`, {
      hint: 'pass --warehouse <path.duckdb>, the file `tributary run` writes to',
    });
  }
  const warehouse = await DuckDBWarehouse.open(path, { readOnly: true });
  try {
    return await local(warehouse);
  } finally {
    await warehouse.close();
  }
}
