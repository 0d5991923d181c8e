/**
 * Streaming refreshes coalesce: batches that arrive while a model's refresh runs cause one
 * refresh after it, not one per batch, and a model never refreshes twice at once. The real
 * ModelRefresher on a real DuckDB file; the batches are what the loader reports after each
 * commit (the same call `tributary run` makes), so the count is exact, whatever the machine's
 * speed. Also: a batch that touches nothing a model reads causes no refresh, and carries the
 * table's freshness forward.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { StreamItem } from '../../src/core/change-event.js';
import { PgTimestampTz } from '../../src/core/values.js';
import { planModels } from '../../src/models/model-graph.js';
import { parseModelHeader } from '../../src/models/model-header.js';
import { ModelRefresher } from '../../src/models/model-refresher.js';
import { waitFor } from '../helpers/events.js';

const SLOW =
  '-- materialized: table\nSELECT count(*) AS c, (SELECT sum(range) FROM range(30000000)) AS busy FROM items';

function batch(table: string, micros: bigint): StreamItem[] {
  return [
    {
      kind: 'change',
      event: {
        op: 'insert',
        table: { schema: 'public', name: table },
        pk: null,
        row: null,
        before: null,
        unchanged: [],
        position: { commitLsn: 1n, ordinal: 0 },
        xid: 1,
        commitTime: new PgTimestampTz(micros),
        schemaVersion: 'v',
      },
    },
  ];
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup() {
  const instance = await DuckDBInstance.create(
    join(mkdtempSync(join(tmpdir(), 'tributary-coalesce-')), 'w.duckdb'),
  );
  const admin = await instance.connect();
  cleanups.push(() => {
    admin.closeSync();
    instance.closeSync();
  });
  for (const sql of [
    'CREATE TABLE items (id INTEGER)',
    'CREATE TABLE other (id INTEGER)',
    'CREATE SCHEMA _tributary',
    'CREATE TABLE _tributary.checkpoint (commit_lsn UBIGINT, ordinal BIGINT, updated_at TIMESTAMPTZ, commit_time TIMESTAMPTZ)',
    'CREATE TABLE _tributary.lanes (lane INTEGER, epoch UBIGINT, commit_lsn UBIGINT, ordinal BIGINT, updated_at TIMESTAMPTZ, commit_time TIMESTAMPTZ)',
    "INSERT INTO _tributary.checkpoint VALUES (1, 0, now(), TIMESTAMPTZ '2026-01-01 00:00:00+00')",
  ])
    await admin.run(sql);
  const plan = planModels(
    'models',
    [
      {
        name: 'slow',
        file: 'slow.sql',
        sql: SLOW,
        header: parseModelHeader('slow.sql', SLOW),
        refs: [{ catalog: '', schema: '', name: 'items' }],
      },
    ],
    {
      relations: [
        { schema: 'main', name: 'items' },
        { schema: 'main', name: 'other' },
      ],
      replicated: [],
    },
  );
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  const refresher = await ModelRefresher.start({ plan, connect: () => instance.connect(), log });
  cleanups.push(() => refresher.stop());
  const runs = async (trigger: string) =>
    Number(
      (
        await admin.runAndReadAll(
          'SELECT count(*) FROM _tributary.model_runs WHERE model = $1 AND trigger = $2',
          ['slow', trigger],
        )
      ).getRows()[0]?.[0],
    );
  const refreshing = () => lines.filter((l) => l.includes('"msg":"refreshing model"')).length;
  return { admin, refresher, runs, refreshing };
}

describe('models: streaming refreshes coalesce', () => {
  it('fifty batches during a refresh cause one refresh after it', async () => {
    const { refresher, runs, refreshing } = await setup();
    await waitFor('the first refresh', async () => (await runs('start')) === 1 || undefined);

    refresher.applied(batch('items', 1_767_225_600_000_000n));
    await waitFor('the refresh to start', () => refreshing() === 2 || undefined);
    for (let i = 0; i < 50; i++) refresher.applied(batch('items', 1_767_225_600_000_000n + BigInt(i)));
    // a refresh asked for now runs after every round queued before it
    await refresher.refresh([]);
    expect(await runs('change')).toBe(2);
    expect(refreshing()).toBe(3);
  });

  it('a batch that touches nothing the model reads refreshes nothing, and carries its freshness forward', async () => {
    const { refresher, runs } = await setup();
    await waitFor('the first refresh', async () => (await runs('start')) === 1 || undefined);
    expect(refresher.currentAsOf().get('slow')).toEqual(new Date('2026-01-01T00:00:00Z'));
    refresher.applied(batch('other', 1_767_229_200_000_000n));
    await refresher.refresh([]);
    expect(await runs('change')).toBe(0);
    expect(refresher.currentAsOf().get('slow')).toEqual(new Date('2026-01-01T01:00:00Z'));
    // a change to items makes it stale until it refreshed
    refresher.applied(batch('items', 1_767_232_800_000_000n));
    refresher.applied(batch('other', 1_767_236_400_000_000n));
    expect(refresher.currentAsOf().get('slow')).toEqual(new Date('2026-01-01T01:00:00Z'));
    await refresher.refresh([]);
    expect(await runs('change')).toBe(1);
  });
});
