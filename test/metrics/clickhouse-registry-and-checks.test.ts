/**
 * The metrics layer's ClickHouse side on chdb, where it differs from DuckDB's: the registry kept
 * without transactions (a version recorded once however often an insert is delivered, a crash
 * between the insert and the read-back costing nothing, two processes registering one version
 * with different definitions resolved the same way by every reader, the loser refused), versions
 * served side by side; definitions checked by ClickHouse's parser (hostile expressions refused,
 * unknown columns named) with the warehouse untouched afterwards; hostile request values refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTributaryError } from '../../src/core/errors.js';
import { clickhouseMetricsEngine } from '../../src/metrics/clickhouse/clickhouse-engine.js';
import {
  readClickHouseRegistry,
  recordClickHouseVersions,
} from '../../src/metrics/clickhouse/clickhouse-registry.js';
import { parseMetricFiles } from '../../src/metrics/metric-files.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { planSync } from '../../src/metrics/registry.js';
import { freshClickHouse, type TestClickHouse } from '../helpers/clickhouse.js';

const REVENUE = {
  name: 'revenue',
  description: 'revenue',
  owner: 'finance',
  version: 1,
  model: 'orders',
  measure: { agg: 'sum', expr: 'total' },
  time: { column: 'ordered_at', semantics: 'event' },
  grains: ['day', 'month'],
  dimensions: ['country'],
};
const DAYS = { metric: 'revenue', grain: 'day', from: '2026-03-01', to: '2026-03-03' };
const NOW = new Date('2026-06-01T00:00:00Z');

let ch: TestClickHouse;

beforeAll(async () => {
  ch = await freshClickHouse('registry');
  await ch.connection.client.command({
    query: `CREATE TABLE orders (id Int32, country Nullable(String), total Decimal(12, 2), status String,
      ordered_at DateTime64(6, 'UTC')) ENGINE = MergeTree ORDER BY id`,
  });
  await ch.connection.client.command({
    query: `INSERT INTO orders VALUES (1, 'US', 10, 'paid', '2026-03-01 10:00:00'), (2, 'CA', 20, 'refunded', '2026-03-02 10:00:00'),
      (3, NULL, 5.5, 'paid', '2026-03-02 11:00:00')`,
  });
}, 60_000);

afterAll(async () => {
  await ch?.drop();
});

const engine = () => clickhouseMetricsEngine(ch.connection);
const file = (content: Record<string, unknown>) => [{ file: `${String(content.name)}.yml`, content }];

async function storedRows(name: string): Promise<number> {
  const rows = await ch.rows<{ n: string }>(
    'SELECT count() AS n FROM _tributary_metric_versions WHERE name = {name:String}',
    { name },
  );
  return Number(rows[0]?.n);
}

describe('the registry in ClickHouse', () => {
  it('records a version once, however often its insert is delivered', async () => {
    const spec = { ...REVENUE, name: 'replayed' };
    const [fresh] = planSync(parseMetricFiles(file(spec)), [], 'ann', NOW);
    // delivered three times (a retry, a replay after a crash): the dedup token keeps one
    for (let i = 0; i < 3; i++) await recordClickHouseVersions(ch.connection.client, [fresh as never]);
    expect(await storedRows('replayed')).toBe(1);
    // a crash after the insert, before the read-back: the next load finds it and inserts nothing
    const metrics = await Metrics.loadFiles(engine(), file(spec), { user: 'bob', now: NOW });
    expect(metrics.log('replayed')).toMatchObject([{ version: 1, by: 'ann' }]);
    expect(await storedRows('replayed')).toBe(1);
  });

  it('two processes registering one version with different definitions: the first wins everywhere', async () => {
    const first = { ...REVENUE, name: 'raced' };
    const second = { ...first, filter: "status = 'paid'" };
    const [a] = planSync(parseMetricFiles(file(first)), [], 'ann', new Date('2026-05-01T00:00:00Z'));
    const [b] = planSync(parseMetricFiles(file(second)), [], 'bob', new Date('2026-05-01T00:00:01Z'));
    // both planned against an empty registry and inserted, the later one first
    await recordClickHouseVersions(ch.connection.client, [b as never]);
    await recordClickHouseVersions(ch.connection.client, [a as never]);
    expect(await storedRows('raced')).toBe(2);
    const registered = (await readClickHouseRegistry(ch.connection.client)).filter((v) => v.name === 'raced');
    expect(registered).toMatchObject([{ version: 1, by: 'ann', hash: a?.hash }]);
    // the loser's file is refused as a changed definition, naming what changed
    await expect(Metrics.loadFiles(engine(), file(second), { user: 'bob', now: NOW })).rejects.toThrow(
      /raced@1 changed since it was registered.*filter/,
    );
    // a merge collapses nothing it should not: the reader's answer stays
    await ch.connection.client.command({ query: 'OPTIMIZE TABLE _tributary_metric_versions FINAL' });
    expect(
      (await readClickHouseRegistry(ch.connection.client)).filter((v) => v.name === 'raced'),
    ).toMatchObject([{ by: 'ann', hash: a?.hash }]);
  });

  it('serves every version side by side, with its change log', async () => {
    const v1 = { ...REVENUE, name: 'paid_revenue' };
    const v2 = {
      ...v1,
      version: 2,
      filter: "status = 'paid'",
      change: { reason: 'refunds excluded', by: 'cy' },
    };
    await Metrics.loadFiles(engine(), file(v1), { user: 'ann', now: NOW });
    const metrics = await Metrics.loadFiles(engine(), file(v2), { user: 'ann', now: NOW });
    const old = await metrics.query(
      { ...DAYS, metric: 'paid_revenue@1', grain: 'month', from: '2026-03-01', to: '2026-04-01' },
      NOW,
    );
    const now = await metrics.query(
      { ...DAYS, metric: 'paid_revenue', grain: 'month', from: '2026-03-01', to: '2026-04-01' },
      NOW,
    );
    expect(old.rows).toEqual([['2026-03-01', '35.50', false]]);
    expect(now.rows).toEqual([['2026-03-01', '15.50', false]]);
    expect(metrics.log('paid_revenue')).toMatchObject([
      { version: 1, by: 'ann', changes: [] },
      {
        version: 2,
        by: 'cy',
        reason: 'refunds excluded',
        changes: expect.arrayContaining([
          expect.objectContaining({ path: 'filter', new: "status = 'paid'" }),
        ]),
      },
    ]);
    // a changed definition without a higher version is refused, as on DuckDB
    await expect(
      Metrics.loadFiles(engine(), file({ ...v2, filter: "status <> 'x'" }), { user: 'ann', now: NOW }),
    ).rejects.toThrow(/changed since it was registered/);
  });

  it('a dimension that is NULL is a group of its own', async () => {
    const metrics = await Metrics.loadFiles(engine(), file(REVENUE), { user: 'ann', now: NOW });
    const result = await metrics.query({ ...DAYS, by: ['country'] }, NOW);
    expect(result.rows).toEqual([
      ['2026-03-01', 'CA', '0.00', false],
      ['2026-03-01', 'US', '10.00', false],
      ['2026-03-01', null, '0.00', false],
      ['2026-03-02', 'CA', '20.00', false],
      ['2026-03-02', 'US', '0.00', false],
      ['2026-03-02', null, '5.50', false],
    ]);
  });
});

describe("definitions checked by ClickHouse's parser", () => {
  const HOSTILE: [string, Record<string, unknown>, RegExp][] = [
    ['a subquery', { filter: 'id IN (SELECT id FROM orders)' }, /subquery is not allowed/],
    ['another table', { filter: 'id IN system.tables' }, /IN. reads a table/],
    ['a table function', { filter: 'id IN numbers(3)' }, /IN. reads a table/],
    ['a dictionary', { measure: { agg: 'sum', expr: "dictGet('d', 'v', id)" } }, /reads other data/],
    ['a second statement', { filter: '1 = 1; DROP TABLE orders' }, /a comment or a ;/],
    ['a comment', { filter: "status = 'paid' -- and more" }, /a comment or a ;/],
    [
      'a FROM',
      { measure: { agg: 'sum', expr: 'total) FROM system.tables WHERE (1' } },
      /not a single expression/,
    ],
    ['settings', { filter: '1 SETTINGS readonly = 0' }, /not a single expression|not a SQL expression/],
    ['two expressions', { measure: { agg: 'sum', expr: 'total, id' } }, /not a single expression/],
    ['an unknown column', { filter: 'nope > 1' }, /unknown column "nope" in orders/],
    [
      'an unknown time column',
      { time: { column: 'nope', semantics: 'event' } },
      /time.column: unknown column "nope"/,
    ],
    [
      'a time column that is no time',
      { time: { column: 'status', semantics: 'event' } },
      /status is String, not a timestamp/,
    ],
    ['an unknown model', { model: 'nowhere' }, /unknown model "nowhere"/],
  ];

  it.each(HOSTILE.map((c, i) => [...c, `checked_${i}`] as const))(
    'refuses %s, naming the problem',
    async (_, change, message, name) => {
      const metrics = await Metrics.loadFiles(engine(), file({ ...REVENUE, name, ...change }), {
        user: 'ann',
        now: NOW,
      });
      // validate checks every metric registered so far: this one's problems
      const problems = (await metrics.validate(NOW)).filter((p) => p.includes(`metric ${name}@`));
      expect(problems.join('\n')).toMatch(message);
      await expect(metrics.query({ ...DAYS, metric: name }, NOW)).rejects.toThrow(message);
      const left = await ch.rows<{ n: string }>('SELECT count() AS n FROM orders');
      expect(left).toEqual([{ n: '3' }]);
    },
  );

  it('an unknown model says what a model names on ClickHouse', async () => {
    const metrics = await Metrics.loadFiles(
      engine(),
      file({ ...REVENUE, name: 'nowhere_hint', model: 'nowhere' }),
      {
        user: 'ann',
        now: NOW,
      },
    );
    const error = await metrics.query({ ...DAYS, metric: 'nowhere_hint' }, NOW).catch((e: unknown) => e);
    expect(isTributaryError(error, 'CONFIG')).toBe(true);
    expect((error as { hint?: string }).hint).toMatch(/sales\.orders for another schema.*SHOW TABLES/);
  });

  it('accepts what a definition may write: functions, CASE, IN a list, strings with -- inside', async () => {
    const metrics = await Metrics.loadFiles(
      engine(),
      file({
        ...REVENUE,
        name: 'written',
        measure: { agg: 'sum', expr: "CASE WHEN status = 'paid' THEN total ELSE 0 END" },
        filter: "country IN ('US', 'CA') AND status <> '--' AND lower(status) LIKE 'p%'",
      }),
      { user: 'ann', now: NOW },
    );
    expect((await metrics.validate(NOW)).filter((p) => p.includes('metric written@'))).toEqual([]);
    const result = await metrics.query({ ...DAYS, metric: 'written' }, NOW);
    expect(result.rows).toEqual([
      ['2026-03-01', '10.00', false],
      ['2026-03-02', '0.00', false],
    ]);
  });
});

describe('hostile request values are refused before SQL', () => {
  it.each([
    [{ tz: "UTC'; DROP TABLE orders; --" }, /unknown time zone/],
    [{ tz: 'Mars/Olympus' }, /unknown time zone/],
    [{ from: "2026-03-01' OR 1=1 --" }, /--from .* is not an ISO 8601 date/],
    [{ by: ['country; DROP TABLE orders'] }, /cannot be broken down by/],
    [{ grain: 'day) UNION SELECT 1 --' }, /not served at grain/],
  ])('%j', async (change, message) => {
    const metrics = await Metrics.loadFiles(engine(), file(REVENUE), { user: 'ann', now: NOW });
    const error = await metrics.query({ ...DAYS, ...change }, NOW).catch((e: unknown) => e);
    expect(isTributaryError(error, 'USAGE'), String(error)).toBe(true);
    expect((error as Error).message).toMatch(message);
    expect(await ch.rows<{ n: string }>('SELECT count() AS n FROM orders')).toEqual([{ n: '3' }]);
  });
});
