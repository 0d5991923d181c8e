/**
 * Bad models exit 2 through the CLI, with a message naming the file and what is wrong: a cycle,
 * a relation that is no model and no table, a malformed header, a model named like a table, a
 * statement that is not a SELECT, a bad file name, a models schema Tributary cannot use or that a
 * replicated schema already uses, and a missing directory. The warehouse is a DuckDB file holding
 * a replicated-looking table `orders` (and, for the clash, `models.orders`).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { onDuckDBFile } from '../helpers/warehouse.js';

const root = mkdtempSync(join(tmpdir(), 'tributary-models-bad-'));
const warehouse = join(root, 'w.duckdb');

function modelsDir(name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return dir;
}

beforeAll(async () => {
  await onDuckDBFile(warehouse, [
    'CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER, _tributary_lsn UBIGINT, _tributary_synced_at TIMESTAMPTZ)',
  ]);
});

describe('tributary models: bad models exit 2 naming the file', () => {
  it.each([
    [
      'a cycle',
      { 'a.sql': 'SELECT * FROM b', 'b.sql': 'SELECT * FROM c', 'c.sql': 'SELECT * FROM models.a' },
      /the models form a cycle: a → b → c → a/,
    ],
    [
      'an unknown relation',
      { 'net.sql': 'SELECT * FROM orders JOIN refunds USING (id)' },
      /net\.sql: the model "net" reads refunds, which is no model and no table of the warehouse/,
    ],
    [
      'a malformed header',
      { 'net.sql': '-- materialized: table\n-- refresh: every 5m\nSELECT * FROM orders' },
      /net\.sql:2: cannot read refresh "every 5m"/,
    ],
    [
      'a model named like a table',
      { 'orders.sql': 'SELECT 1 AS x' },
      /orders\.sql: the model "orders" has the name of the table orders/,
    ],
    ['not a SELECT', { 'net.sql': 'DELETE FROM orders' }, /net\.sql: it is not a SELECT/],
    ['two statements', { 'net.sql': 'SELECT 1; SELECT 2' }, /net\.sql: it holds 2 statements/],
    ['a bad file name', { 'Net-Orders.sql': 'SELECT 1' }, /"Net-Orders" is not a model name/],
  ])('%s', async (_what, files, message) => {
    const dir = modelsDir('bad', files);
    for (const sub of ['list', 'run']) {
      const result = await runCli(['models', sub, '--models', dir, '--warehouse', warehouse]);
      expect(result.code, `${sub}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(message);
    }
  });

  it('a models schema Tributary cannot use, one a replicated schema uses, and a missing directory', async () => {
    const dir = modelsDir('good', { 'net.sql': 'SELECT * FROM orders' });
    const config = join(root, 'tributary.yml');
    writeFileSync(config, `warehouse: ${warehouse}\nmodels: { dir: good, schema: main }\n`);
    const main = await runCli(['models', 'list', '--config', config]);
    expect(main.code, main.stderr).toBe(2);
    expect(main.stderr).toMatch(/"main" cannot be the models schema/);

    const clashing = join(root, 'clash.duckdb');
    await onDuckDBFile(clashing, [
      'CREATE SCHEMA models',
      'CREATE TABLE models.orders (id INTEGER, _tributary_synced_at TIMESTAMPTZ)',
    ]);
    const clash = await runCli(['models', 'list', '--models', dir, '--warehouse', clashing]);
    expect(clash.code, clash.stderr).toBe(2);
    expect(clash.stderr).toMatch(/the models schema "models" is also a replicated Postgres schema/);

    const missing = await runCli([
      'models',
      'list',
      '--models',
      join(root, 'nope'),
      '--warehouse',
      warehouse,
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no models directory at/);

    // the same directory, well formed, lists
    const ok = await runCli(['models', 'list', '--models', dir, '--warehouse', warehouse, '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      schema: 'models',
      models: [{ name: 'net', materialized: 'view', refresh: 'streaming', tables: ['main.orders'] }],
    });
  });
});
