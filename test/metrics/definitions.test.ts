/**
 * Definitions are refused with errors that name the file, the metric and what to fix: a
 * malformed file (zod: the key), an unknown model, an unknown column (time, dimension, measure,
 * filter), an expression that is more than one expression, a grain a DATE cannot serve, a cycle
 * among metrics, an input that does not allow the metric's grains or dimensions.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTributaryError } from '../../src/core/errors.js';
import { loadMetricDir } from '../../src/metrics/metric-files.js';
import { Metrics, type MetricsStore } from '../../src/metrics/metrics.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';

const REVENUE = {
  name: 'revenue',
  description: 'revenue',
  owner: 'finance',
  version: 1,
  model: 'orders',
  measure: { agg: 'sum', expr: 'total' },
  time: { column: 'ordered_at', semantics: 'event' },
  grains: ['day'],
  dimensions: ['country'],
};

let warehouse: DuckDBWarehouse;
let store: MetricsStore;

beforeAll(async () => {
  warehouse = await DuckDBWarehouse.open(join(mkdtempSync(join(tmpdir(), 'tributary-defs-')), 'w.duckdb'));
  store = warehouse.metricsStore();
  await store.write(async (db) => {
    await db.run(
      'CREATE TABLE orders (id INTEGER, country VARCHAR, total DECIMAL(12,2), ordered_at TIMESTAMPTZ, day DATE)',
    );
    await db.run('CREATE TABLE secrets (token VARCHAR)');
    await db.run('CREATE SCHEMA models');
    await db.run('CREATE TABLE models.orders_net AS SELECT id, country, total, ordered_at FROM orders');
    // a replicated table of the same name, without the columns: the model must win
    await db.run('CREATE TABLE orders_net (id INTEGER)');
  });
});

afterAll(async () => {
  await warehouse?.close();
});

const emptyRegistry = () => store.write((db) => db.run('DROP TABLE IF EXISTS _tributary.metric_versions'));

/** The problem loading and validating these definitions meets (each time on an empty registry). */
async function problem(...contents: Record<string, unknown>[]): Promise<{ code: string; message: string }> {
  await emptyRegistry();
  try {
    const metrics = await Metrics.loadFiles(
      store,
      contents.map((content) => ({ file: `metrics/${String(content.name)}.yml`, content })),
      { user: 'test' },
    );
    const found = await metrics.validate();
    if (found.length > 0) return { code: 'CONFIG', message: found.join('\n') };
  } catch (error) {
    if (isTributaryError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a problem');
}

describe('a malformed file names the file and key', () => {
  it.each([
    ['an unknown aggregate', { measure: { agg: 'median', expr: 'total' } }, /revenue\.yml: measure\.agg/],
    ['a bad grain', { grains: ['fortnight'] }, /revenue\.yml: grains\.0/],
    ['no description', { description: undefined }, /revenue\.yml: description/],
    ['a bad time semantics', { time: { column: 'ordered_at', semantics: 'whenever' } }, /time\.semantics/],
    ['an unknown key', { colour: 'red' }, /Unrecognized key.*colour|colour/],
    ['a bad zone', { timezone: 'Mars/Olympus' }, /timezone: a time zone/],
    ['a bad late window', { late: 'a while' }, /late: a duration/],
    [
      'a dimension named like an output column',
      { dimensions: ['value'] },
      /dimensions\.0: a dimension cannot be named/,
    ],
  ])('%s', async (_what, change, message) => {
    const refused = await problem({ ...REVENUE, ...change });
    expect(refused.code).toBe('CONFIG');
    expect(refused.message).toMatch(message);
  });

  it('a derived expression that does not parse, or uses an alias no input declares', async () => {
    const derived = {
      ...REVENUE,
      name: 'growth',
      type: 'derived',
      inputs: [{ metric: 'revenue', as: 'rev' }],
      model: undefined,
      measure: undefined,
      time: undefined,
    };
    expect((await problem(REVENUE, { ...derived, expr: 'rev +* 2' })).message).toMatch(
      /growth\.yml: expr: not an expression: unexpected "\*" at character 6/,
    );
    expect((await problem(REVENUE, { ...derived, expr: 'rev / other' })).message).toMatch(
      /expr: uses other, which no input declares/,
    );
  });

  it('two files defining one metric', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-defs-dir-'));
    writeFileSync(join(dir, 'a.yml'), JSON.stringify(REVENUE));
    writeFileSync(join(dir, 'b.yml'), JSON.stringify(REVENUE));
    writeFileSync(join(dir, 'notes.txt'), 'not a metric');
    expect(() => loadMetricDir(dir)).toThrow(/b\.yml: name: revenue is already defined in .*a\.yml/);
  });
});

describe('against the warehouse', () => {
  it('an unknown model', async () => {
    const refused = await problem({ ...REVENUE, model: 'ordres' });
    expect(refused.message).toMatch(/metrics\/revenue\.yml: metric revenue@1: unknown model "ordres"/);
  });

  it('a curated model in the models schema is found before a table', async () => {
    await emptyRegistry();
    const metrics = await Metrics.loadFiles(
      store,
      [{ file: 'n.yml', content: { ...REVENUE, name: 'net', model: 'orders_net' } }],
      {
        user: 'test',
      },
    );
    expect(await metrics.validate()).toEqual([]);
  });

  it.each([
    [
      'time column',
      { time: { column: 'placed_at', semantics: 'event' } },
      /time\.column: unknown column "placed_at" in orders/,
    ],
    ['dimension', { dimensions: ['region'] }, /dimensions: unknown column "region" in orders/],
    ['measure', { measure: { agg: 'sum', expr: 'amount' } }, /unknown column "amount" in orders/],
    ['filter', { filter: "state = 'paid'" }, /unknown column "state" in orders/],
  ])('an unknown column in the %s', async (_where, change, message) => {
    const refused = await problem({ ...REVENUE, ...change });
    expect(refused.code).toBe('CONFIG');
    expect(refused.message).toMatch(/metrics\/revenue\.yml: metric revenue@1: /);
    expect(refused.message).toMatch(message);
  });

  it.each([
    [
      'a second statement',
      'total) FROM orders; DROP TABLE secrets; SELECT (1',
      /not a SQL expression|not a single expression/,
    ],
    ['a second expression', 'total), (1', /not a single expression/],
    ['a FROM of its own', 'total) FROM secrets WHERE (true', /not a single expression/],
    ['a subquery', '(SELECT count(*) FROM secrets)', /a subquery is not allowed/],
  ])('a measure with %s is refused', async (_what, expr, message) => {
    const refused = await problem({ ...REVENUE, measure: { agg: 'sum', expr } });
    expect(refused.message).toMatch(message);
    const rows = await store.read((db) => db.rows('SELECT count(*) FROM secrets'));
    expect(Number(rows[0]?.[0])).toBe(0); // and the table is still there
  });

  it('a filter with a subquery is refused', async () => {
    const refused = await problem({ ...REVENUE, filter: 'id IN (SELECT 1 FROM secrets)' });
    expect(refused.message).toMatch(/filter: a subquery is not allowed/);
  });

  it('hour grain on a DATE column', async () => {
    const refused = await problem({
      ...REVENUE,
      grains: ['hour', 'day'],
      time: { column: 'day', semantics: 'event' },
    });
    expect(refused.message).toMatch(/grains: hour needs a timestamp, but day is a DATE/);
  });
});

describe('across metrics', () => {
  const derived = (name: string, input: string) => ({
    name,
    description: name,
    owner: 'finance',
    version: 1,
    type: 'derived',
    inputs: [{ metric: input, as: 'x' }],
    expr: 'x * 2',
    grains: ['day'],
  });

  it('a cycle is refused, naming it', async () => {
    const refused = await problem(derived('a', 'b'), derived('b', 'c'), derived('c', 'a'));
    expect(refused.message).toMatch(/the metrics read each other in a cycle: a → b → c → a/);
  });

  it('a reference to a metric that does not exist', async () => {
    expect((await problem(derived('a', 'nothing'))).message).toMatch(
      /a reads nothing: no metric of that name/,
    );
  });

  it('a grain or dimension its input does not allow', async () => {
    const refused = await problem(REVENUE, {
      ...derived('d', 'revenue'),
      grains: ['day', 'month'],
      dimensions: ['status'],
    });
    expect(refused.message).toMatch(/grains: month is not allowed by its input revenue/);
    expect(refused.message).toMatch(/dimensions: status is not allowed by its input revenue/);
  });
});
