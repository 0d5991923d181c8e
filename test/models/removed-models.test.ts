/**
 * A model whose file is removed: its relation goes at the next start of the models (here
 * `tributary models run` on the file), and nothing an analyst made in the models schema goes with
 * it.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { onDuckDBFile, queryWarehouse } from '../helpers/warehouse.js';
import { modelFiles } from './helpers.js';

async function relations(warehouse: string): Promise<string[]> {
  const rows = await queryWarehouse(
    warehouse,
    "SELECT table_name || ':' || table_type AS r FROM information_schema.tables WHERE table_schema = 'models' ORDER BY 1",
  );
  return rows.map((row) => String(row.r));
}

describe('models: a removed model', () => {
  const files = modelFiles({
    big_orders: '-- materialized: table\nSELECT id, amount FROM orders WHERE amount > 10',
    order_count: '-- materialized: view\nSELECT count(*) AS n FROM orders',
    total: '-- materialized: table\nSELECT sum(amount) AS s FROM big_orders',
  });
  afterAll(() => rmSync(files.dir, { recursive: true, force: true }));

  it('has its table or view dropped at the next start; what an analyst made there stays', async () => {
    await onDuckDBFile(files.warehouse, [
      'CREATE TABLE orders (id INTEGER PRIMARY KEY, amount INTEGER)',
      'INSERT INTO orders VALUES (1, 5), (2, 20), (3, 30)',
    ]);
    const args = ['models', 'run', '--models', files.models, '--warehouse', files.warehouse];
    const first = await runCli(args);
    expect(first.code, first.stderr).toBe(0);
    expect(await relations(files.warehouse)).toEqual([
      'big_orders:BASE TABLE',
      'order_count:VIEW',
      'total:BASE TABLE',
    ]);

    // an analyst's own table and view in the models schema
    await onDuckDBFile(files.warehouse, [
      'CREATE TABLE models.scratch AS SELECT 1 AS x',
      'CREATE VIEW models.my_view AS SELECT * FROM orders',
    ]);
    rmSync(join(files.models, 'big_orders.sql'));
    rmSync(join(files.models, 'order_count.sql'));
    // total no longer reads big_orders: the dropped table takes nothing with it
    writeFileSync(
      join(files.models, 'total.sql'),
      '-- materialized: table\nSELECT sum(amount) AS s FROM orders',
    );
    writeFileSync(join(files.models, 'ids.sql'), '-- materialized: view\nSELECT id FROM orders');

    const second = await runCli(args);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain('model dropped');
    expect(await relations(files.warehouse)).toEqual([
      'ids:VIEW',
      'my_view:VIEW',
      'scratch:BASE TABLE',
      'total:BASE TABLE',
    ]);
    expect(await queryWarehouse(files.warehouse, 'SELECT s FROM models.total')).toEqual([{ s: '55' }]);

    // an analyst's view under a removed model's name stays: only what a refresh made goes
    await onDuckDBFile(files.warehouse, ['CREATE VIEW models.order_count AS SELECT 42 AS n']);
    const third = await runCli(args);
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).not.toContain('model dropped');
    expect(await relations(files.warehouse)).toEqual([
      'ids:VIEW',
      'my_view:VIEW',
      'order_count:VIEW',
      'scratch:BASE TABLE',
      'total:BASE TABLE',
    ]);
  });
});
