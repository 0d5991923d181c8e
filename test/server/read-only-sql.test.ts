/**
 * SQL sent over HTTP reads the warehouse and nothing else: every write, file, environment and
 * multi-statement form is refused by DuckDB's parser before it runs, and what runs is cut at
 * the row limit. A real DuckDB file, with a file on disk that a refused query would have read.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TributaryError } from '../../src/core/errors.js';
import { readOnlyOnOwnConnection, runReadOnly } from '../../src/warehouse/duckdb/read-only-sql.js';

describe('read-only SQL for the HTTP API', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-read-only-'));
  const csv = join(dir, 'secret.csv');
  let instance: DuckDBInstance;

  beforeAll(async () => {
    writeFileSync(csv, 'a,b\n1,2\n');
    instance = await DuckDBInstance.create(join(dir, 'w.duckdb'));
    const setup = await instance.connect();
    await setup.run(`CREATE TABLE orders (id BIGINT, total DECIMAL(12,2), tags VARCHAR[]);
      INSERT INTO orders SELECT range, range * 1.5, ['x'] FROM range(12000);
      CREATE SCHEMA sales; CREATE TABLE sales.regions (name VARCHAR); INSERT INTO sales.regions VALUES ('north')`);
    setup.closeSync();
  });
  afterAll(() => instance.closeSync());

  const run = (sql: string, maxRows = 10_000) =>
    readOnlyOnOwnConnection(() => instance.connect(), sql, { maxRows, timeoutMs: 30_000 });

  it('answers a SELECT with typed columns and JSON-safe values', async () => {
    const answer = await run(
      'WITH o AS (SELECT * FROM orders WHERE id < 2) SELECT o.id, o.total, o.tags, r.name FROM o, sales.regions r ORDER BY id;',
    );
    expect(answer.columns).toEqual([
      { name: 'id', type: 'BIGINT' },
      { name: 'total', type: 'DECIMAL(12,2)' },
      { name: 'tags', type: 'VARCHAR[]' },
      { name: 'name', type: 'VARCHAR' },
    ]);
    expect(answer.rows).toEqual([
      ['0', '0.00', ['x'], 'north'],
      ['1', '1.50', ['x'], 'north'],
    ]);
    expect(answer.truncated).toBe(false);
    expect((await run('SELECT count(*) AS n FROM range(3)')).rows).toEqual([['3']]);
  });

  it('returns at most the row limit, and says when it cut', async () => {
    const cut = await run('SELECT id FROM orders ORDER BY id');
    expect(cut.rows).toHaveLength(10_000);
    expect(cut.rows[9_999]).toEqual(['9999']);
    expect(cut.truncated).toBe(true);
    const exact = await run('SELECT id FROM orders WHERE id < 10000');
    expect(exact.rows).toHaveLength(10_000);
    expect(exact.truncated).toBe(false);
  });

  it.each([
    ['INSERT INTO orders VALUES (1, 1, NULL)', /one SELECT/],
    ['UPDATE orders SET total = 0', /one SELECT/],
    ['DELETE FROM orders', /one SELECT/],
    ['CREATE TABLE t AS SELECT 1', /one SELECT/],
    ['DROP TABLE orders', /one SELECT/],
    [`ATTACH '${join(dir, 'other.duckdb')}' AS other`, /one SELECT/],
    [`COPY orders TO '${join(dir, 'out.csv')}'`, /one SELECT/],
    ['PRAGMA database_list', /one SELECT/],
    ["SET memory_limit = '1GB'", /one SELECT/],
    ['INSTALL httpfs', /one SELECT/],
    ['LOAD httpfs', /one SELECT/],
    ["CALL pragma_table_info('orders')", /one SELECT/],
    ['SELECT 1; DROP TABLE orders', /one SELECT/],
    ['SELECT 1; SELECT 2', /2 statements/],
    [`SELECT * FROM read_csv('${csv}')`, /read_csv/],
    [`SELECT * FROM read_csv_auto('${csv}')`, /read_csv_auto/],
    [`SELECT * FROM read_parquet('${join(dir, 'x.parquet')}')`, /read_parquet/],
    [`SELECT content FROM read_text('${csv}')`, /read_text/],
    [`SELECT * FROM glob('${dir}/*')`, /glob/],
    [`SELECT * FROM '${csv}'`, /file or URL/],
    ["SELECT getenv('HOME')", /getenv/],
    ["SELECT current_setting('home_directory')", /current_setting/],
    ["SELECT * FROM query('SELECT 1')", /query/],
    ['SELECT * FROM duckdb_secrets()', /duckdb_secrets/],
    ["SELECT * FROM orders WHERE id IN (SELECT a FROM read_csv('x.csv'))", /read_csv/],
    ['SELECT * FROM nowhere', /no table "nowhere"/],
    ['SELEC 1', /does not parse/],
  ])('refuses %s', async (sql, message) => {
    const refused = await run(sql).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(TributaryError);
    expect((refused as TributaryError).code).toBe('USAGE');
    expect((refused as TributaryError).message).toMatch(message);
    // and nothing happened
    expect((await run('SELECT count(*) FROM orders')).rows).toEqual([['12000']]);
  });

  it('rolls its transaction back: the connection is left as it was', async () => {
    const connection = await instance.connect();
    try {
      await runReadOnly(connection, 'SELECT 1', 10);
      await connection.run('CREATE TEMP TABLE scratch (a INT)');
      expect((await runReadOnly(connection, 'SELECT count(*) FROM orders', 10)).rows).toEqual([['12000']]);
    } finally {
      connection.closeSync();
    }
  });
});
