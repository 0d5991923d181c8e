import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { parseModelSql } from './model-refs.js';

const instance = await DuckDBInstance.create(':memory:');
const connection = await instance.connect();
afterAll(() => instance.closeSync());

const refs = async (sql: string) => {
  const parsed = await parseModelSql(connection, sql);
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.refs.map((r) => [r.catalog, r.schema, r.name].filter((p) => p !== '').join('.'));
};

describe('parseModelSql: the relations a model reads, from DuckDB’s parser', () => {
  it('tables in FROM, JOIN, subqueries and set operations, qualified or not, each once', async () => {
    expect(
      await refs(`SELECT o.id FROM orders o JOIN sales.items i USING (id)
        WHERE o.id IN (SELECT id FROM "Odd Name") AND EXISTS (SELECT 1 FROM models.base)
        UNION ALL SELECT id FROM orders`),
    ).toEqual(['orders', 'sales.items', 'Odd Name', 'models.base']);
  });

  it('a CTE is no dependency, in its scope; the same name outside a WITH is', async () => {
    expect(
      await refs(`WITH recent AS (SELECT * FROM orders), big AS (SELECT * FROM recent WHERE total > 10)
        SELECT * FROM big, (SELECT * FROM recent) r`),
    ).toEqual(['orders']);
    expect(await refs('SELECT * FROM (WITH recent AS (SELECT 1) SELECT * FROM recent), recent')).toEqual([
      'recent',
    ]);
  });

  it('table functions and constants are not relations; names in strings and comments are not read', async () => {
    expect(await refs("SELECT 'FROM secret' AS s, * FROM range(3) -- FROM other\n")).toEqual([]);
  });

  it.each([
    ['DELETE FROM orders', /not a SELECT/],
    ['SELECT 1; SELECT 2', /2 statements/],
    ['CREATE TABLE x AS SELECT 1', /not a SELECT/],
    ['SELEC 1', /syntax error/],
  ])('%s is refused', async (sql, problem) => {
    const parsed = await parseModelSql(connection, sql);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem).toMatch(problem);
  });
});
