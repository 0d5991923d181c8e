/**
 * Versions: a metric's eligibility changes (v2 leaves out orders under 100), and v1 still answers
 * with the old numbers from the registry although its file moved on; the bare name is v2; the
 * change log holds who, when, why and the diff. A registered version never changes; the file
 * holds the newest version; a deprecated version warns, then follows its policy.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTributaryError } from '../../src/core/errors.js';
import { Metrics, type MetricsStore } from '../../src/metrics/metrics.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';

const V1 = {
  name: 'revenue',
  description: 'revenue of orders not refunded',
  owner: 'finance',
  version: 1,
  model: 'orders',
  measure: { agg: 'sum', expr: 'total' },
  filter: "status <> 'refunded'",
  time: { column: 'ordered_at', semantics: 'event' },
  grains: ['day', 'month'],
  dimensions: ['country'],
};
const V2 = {
  ...V1,
  version: 2,
  filter: "status <> 'refunded' AND total >= 100",
  change: { by: 'alice', reason: 'orders under 100 are samples, not sales' },
};
const Q = { metric: 'revenue', grain: 'month', from: '2026-03-01', to: '2026-04-01' };

let path: string;
let warehouse: DuckDBWarehouse;
let store: MetricsStore;

const load = (content: Record<string, unknown>, now?: Date) =>
  Metrics.loadFiles(store, [{ file: 'metrics/revenue.yml', content }], {
    user: 'bob',
    ...(now ? { now } : {}),
  });

async function failure(
  promise: Promise<unknown> | (() => unknown),
): Promise<{ code: string; message: string }> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    if (isTributaryError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a refusal');
}

const value = async (metrics: Metrics, metric: string, now?: Date) =>
  Number((await metrics.query({ ...Q, metric }, now)).rows[0]?.[1]);

beforeAll(async () => {
  path = join(mkdtempSync(join(tmpdir(), 'tributary-versions-')), 'w.duckdb');
  warehouse = await DuckDBWarehouse.open(path);
  store = warehouse.metricsStore();
  await store.write(async (db) => {
    await db.run(
      'CREATE TABLE orders (id INTEGER, country VARCHAR, total DECIMAL(12,2), status VARCHAR, ordered_at TIMESTAMPTZ)',
    );
    await db.run(`INSERT INTO orders VALUES (1, 'US', 250, 'paid', '2026-03-02 10:00:00+00'),
      (2, 'US', 40, 'paid', '2026-03-03 10:00:00+00'), (3, 'CA', 500, 'refunded', '2026-03-04 10:00:00+00'),
      (4, 'CA', 120, 'paid', '2026-03-05 10:00:00+00')`);
  });
});

afterAll(async () => {
  await warehouse?.close();
});

describe('a change of eligibility', () => {
  it('v1 is registered with the user as its author', async () => {
    const metrics = await load(V1, new Date('2026-04-02T09:00:00Z'));
    expect(await value(metrics, 'revenue')).toBe(410);
    expect(metrics.log('revenue')).toMatchObject([{ version: 1, by: 'bob', reason: null, changes: [] }]);
  });

  it('the same version with another definition is refused: raise the version', async () => {
    const refused = await failure(load({ ...V1, filter: "status = 'paid'" }));
    expect(refused.code).toBe('CONFIG');
    expect(refused.message).toMatch(/metric revenue@1 changed since it was registered/);
    expect(refused.message).toMatch(/filter: "status <> 'refunded'" → "status = 'paid'"/);
    expect(refused.message).toMatch(/raise version: to 2/);
  });

  it('a new version without a reason is refused', async () => {
    const { change: _change, ...unexplained } = V2;
    expect((await failure(load(unexplained))).message).toMatch(/say why in change:/);
  });

  it('v2 is registered; v1 still answers with the old numbers; the bare name is v2', async () => {
    const metrics = await load(V2, new Date('2026-04-03T09:00:00Z'));
    expect(await value(metrics, 'revenue')).toBe(370);
    expect(await value(metrics, 'revenue@2')).toBe(370);
    expect(await value(metrics, 'revenue@1')).toBe(410);
    expect(metrics.show('revenue').version).toBe(2);
    expect(metrics.show('revenue@1').definition).toMatchObject({
      version: 1,
      filter: "status <> 'refunded'",
    });
    const log = metrics.log('revenue');
    expect(log).toHaveLength(2);
    expect(log[1]).toMatchObject({
      version: 2,
      by: 'alice',
      reason: 'orders under 100 are samples, not sales',
      registeredAt: '2026-04-03T09:00:00.000Z',
      changes: [
        { path: 'filter', old: "status <> 'refunded'", new: "status <> 'refunded' AND total >= 100" },
        { path: 'version', old: 1, new: 2 },
      ],
    });
  });

  it('the file cannot go back to an older version', async () => {
    expect((await failure(load(V1))).message).toMatch(/says version 1, but revenue@2 is registered/);
  });

  it('the registry outlives the process: reopened, v1 is still served from it', async () => {
    await warehouse.close();
    warehouse = await DuckDBWarehouse.open(path);
    store = warehouse.metricsStore();
    const metrics = await load(V2);
    expect(await value(metrics, 'revenue@1')).toBe(410);
    expect(metrics.log('revenue')).toHaveLength(2);
  });

  it('an unknown version is a usage error listing the versions', async () => {
    const metrics = await load(V2);
    const refused = await failure(metrics.query({ ...Q, metric: 'revenue@7' }));
    expect(refused).toMatchObject({ code: 'USAGE', message: 'revenue has no version 7' });
  });
});

describe('deprecation', () => {
  const V3 = {
    ...V2,
    version: 3,
    dimensions: ['country', 'status'],
    change: { reason: 'by status too' },
    deprecations: [
      { version: 1, date: '2027-01-31', after: 'refuse' },
      { version: 2, date: '2026-05-01', after: 'latest' },
    ],
  };

  it('before its date a deprecated version answers with a warning', async () => {
    const now = new Date('2026-04-10T00:00:00Z');
    const metrics = await load(V3, now);
    const old = await metrics.query({ ...Q, metric: 'revenue@1' }, now);
    expect(old.version).toBe(1);
    expect(old.warnings).toEqual([
      'revenue@1 is deprecated: from 2027-01-31 queries of it are refused; use revenue@3 (or revenue)',
    ]);
    expect((await metrics.query(Q, now)).warnings).toEqual([]);
  });

  it('past its date: refuse refuses, latest answers with the newest version', async () => {
    const now = new Date('2027-02-01T00:00:00Z');
    const metrics = await load(V3, now);
    const refused = await failure(metrics.query({ ...Q, metric: 'revenue@1' }, now));
    expect(refused).toMatchObject({
      code: 'USAGE',
      message: 'revenue@1 was deprecated on 2027-01-31 and is no longer served',
    });
    const answered = await metrics.query({ ...Q, metric: 'revenue@2' }, now);
    expect(answered.version).toBe(3);
    expect(answered.warnings).toEqual(['revenue@2 was deprecated on 2026-05-01: answered with revenue@3']);
  });

  it('a deprecation changes no version: it is not part of the definition', async () => {
    const metrics = await load({ ...V3, deprecations: [] });
    expect(metrics.log('revenue')).toHaveLength(3);
  });
});
