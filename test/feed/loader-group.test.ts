/**
 * Loaders in parallel (src/feed/jetstream/lane-group.ts): a feed of four lanes shared out among
 * the loaders of a group while a writer keeps committing to seven tables (one without a key, a
 * multiset where a duplicate would show). Two loaders first, a third added later, then one of
 * them cut off from NATS without letting go (as a dead process would be): its lanes lapse and
 * the others take them. Each loader is a `runLoad` of its own, with its own NATS connection and
 * group membership; they share one DuckDB warehouse, since one process writes a DuckDB file.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createLogger, silentLogger } from '../../src/core/logger.js';
import { JetStreamFeed } from '../../src/feed/jetstream/jetstream-feed.js';
import type { LaneGroupConsumer } from '../../src/feed/jetstream/lane-group.js';
import { laneOf } from '../../src/feed/jetstream/subjects.js';
import { runLoad, runSource } from '../../src/pipeline/split.js';
import { parseSourceUrl } from '../../src/source/postgres/setup/connection-config.js';
import { TypeRegistry } from '../../src/source/postgres/values/type-registry.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { useNatsServer } from '../harness/use-nats-server.js';
import { waitFor } from '../helpers/events.js';
import { xorshift } from '../helpers/random.js';

const LANES = 4;
const KEYED = ['t0', 't1', 't2', 't3', 't4', 't5'];
const DDL = [
  ...KEYED.map((t) => `CREATE TABLE ${t} (id bigint PRIMARY KEY, n integer NOT NULL, note text)`),
  'CREATE TABLE bag (v integer NOT NULL, note text)',
  'ALTER TABLE bag REPLICA IDENTITY FULL',
];

/** Transactions over one to three tables: inserts, updates, deletes; copies in and out of the bag. */
async function write(client: pg.Client, signal: AbortSignal, seed: number): Promise<number> {
  const next32 = xorshift(seed);
  const random = () => next32() / 2 ** 32;
  const pick = (n: number) => Math.floor(random() * n);
  let next = 1;
  let transactions = 0;
  while (!signal.aborted) {
    await client.query('BEGIN');
    for (let k = 1 + pick(3); k > 0; k--) {
      const r = random();
      if (r < 0.15) {
        const v = pick(20);
        if (random() < 0.6) await client.query('INSERT INTO bag VALUES ($1, $2)', [v, `v${v}`]);
        else
          await client.query('DELETE FROM bag WHERE ctid = (SELECT ctid FROM bag WHERE v = $1 LIMIT 1)', [v]);
        continue;
      }
      const table = KEYED[pick(KEYED.length)]!;
      if (r < 0.6 || next < 50) {
        await client.query(`INSERT INTO ${table} VALUES ($1, $2, $3)`, [next, pick(1000), `row ${next}`]);
        next++;
      } else if (r < 0.85) {
        await client.query(`UPDATE ${table} SET n = n + 1, note = note || '+' WHERE id = $1`, [pick(next)]);
      } else {
        await client.query(`DELETE FROM ${table} WHERE id = $1`, [pick(next)]);
      }
    }
    await client.query('COMMIT');
    transactions++;
    if (transactions % 20 === 0) await new Promise((r) => setTimeout(r, 5));
  }
  return transactions;
}

interface Member {
  group: LaneGroupConsumer | null;
  feed: JetStreamFeed | null;
  readonly stop: AbortController;
  readonly done: Promise<unknown>;
}

describe('loaders in parallel on a feed of four lanes', () => {
  const nats = useNatsServer();
  const cluster = useCluster({
    binaries: newestBinaries(),
    setup: async (c) => {
      for (const sql of DDL) await c.sql(sql);
    },
  });

  it('two loaders share the lanes, a third joins later, one cut off is replaced: warehouse = source, no duplicates', async () => {
    // the tables spread over more than one lane (else the test shows nothing)
    const lanesUsed = new Set(KEYED.map((name) => laneOf({ schema: 'public', name }, LANES)));
    expect(lanesUsed.size).toBeGreaterThan(1);

    const logger = process.env.GROUP_DEBUG ? createLogger() : silentLogger();
    const url = nats().url;
    const types = new TypeRegistry();
    const path = join(mkdtempSync(join(tmpdir(), 'tributary-group-')), 'warehouse.duckdb');
    const warehouse = await DuckDBWarehouse.open(path, { typeInfo: (oid) => types.info(oid) });
    const feedSettings = { url, name: 'grouped', heartbeatMs: 200, leaseMs: 1_500 };
    const stopSource = new AbortController();
    const source = runSource(
      {
        source: {
          connection: parseSourceUrl(cluster().url()),
          slot: 'grouped',
          publication: 'grouped',
          tables: 'all',
        },
        feed: { ...feedSettings, lanes: LANES },
        logger,
      },
      stopSource.signal,
    );
    const members: Member[] = [];
    const startMember = (): Member => {
      const member: Member = {
        group: null,
        feed: null,
        stop: new AbortController(),
        done: Promise.resolve(),
      };
      Object.assign(member, {
        done: runLoad(
          {
            warehouse,
            feed: feedSettings,
            logger,
            types,
            batch: { maxDelayMs: 20 },
            onFeed: (f) => {
              member.feed = f;
            },
            onGroup: (g) => {
              member.group = g;
            },
          },
          member.stop.signal,
        ).catch((error: unknown) => {
          if (process.env.GROUP_DEBUG) console.error('a loader stopped:', error);
          return error;
        }),
      });
      members.push(member);
      return member;
    };
    /** Every lane held by exactly one of `live`, each of them holding some. */
    const shared = (live: readonly Member[]) => {
      const held = live.map((m) => m.group?.lanes ?? []);
      const all = held.flat().sort();
      return held.every((lanes) => lanes.length > 0) && all.length === LANES && new Set(all).size === LANES;
    };

    const writer = await cluster().connect();
    const stopWriting = new AbortController();
    try {
      // changes count from the slot's creation on: write only once it exists
      await waitFor(
        'the slot',
        async () =>
          (await writer.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'grouped'")).rowCount ===
            1 || undefined,
        30_000,
      );
      const a = startMember();
      const b = startMember();
      const written = write(writer, stopWriting.signal, 41);
      await waitFor('two loaders sharing the lanes', () => shared([a, b]) || undefined, 30_000);
      await new Promise((r) => setTimeout(r, 1_500));
      const c = startMember();
      await waitFor('three loaders sharing the lanes', () => shared([a, b, c]) || undefined, 30_000);
      await new Promise((r) => setTimeout(r, 1_500));
      // b cut off from NATS as a dead process would be: its holds lapse, a and c take its lanes
      await b.feed!.connection.close();
      await waitFor('two loaders sharing the lanes again', () => shared([a, c]) || undefined, 30_000);
      await new Promise((r) => setTimeout(r, 1_000));
      stopWriting.abort();
      const transactions = await written;
      expect(transactions).toBeGreaterThan(50);

      const expected = await sourceRows(writer);
      await waitFor(
        'the warehouse to equal the source',
        async () => JSON.stringify(await warehouseRows(warehouse)) === JSON.stringify(expected) || undefined,
        60_000,
      ).catch(async (error: unknown) => {
        expect(await warehouseRows(warehouse)).toEqual(expected);
        throw error;
      });
      for (const t of KEYED) {
        const [counts] = (await warehouse.query(`SELECT count(*), count(DISTINCT id) FROM ${t}`)).rows;
        expect(counts?.[0]).toBe(counts?.[1]);
      }
    } finally {
      stopWriting.abort();
      for (const m of members) m.stop.abort();
      const ends = await Promise.all(members.map((m) => m.done));
      stopSource.abort();
      await source.catch(() => {});
      await writer.end();
      await warehouse.close();
      // a and c stopped cleanly; b stopped with its connection gone
      expect(ends[0]).toBeUndefined();
      expect(ends[1]).toBeInstanceOf(Error);
      expect(ends[2]).toBeUndefined();
    }
  });

  it('refuses a loader that joins the group to write another warehouse; the group goes on', async () => {
    const logger = silentLogger();
    const dir = mkdtempSync(join(tmpdir(), 'tributary-group-'));
    const first = await DuckDBWarehouse.open(join(dir, 'a.duckdb'));
    const second = await DuckDBWarehouse.open(join(dir, 'b.duckdb'));
    const feed = {
      url: nats().url,
      name: 'two_warehouses',
      durable: 'shared',
      heartbeatMs: 200,
      leaseMs: 1_500,
    };
    // the source makes the stream (a loader waits for it)
    await (await JetStreamFeed.connect({ url: feed.url, name: feed.name, logger, lanes: LANES })).close();
    const stopA = new AbortController();
    const stopB = new AbortController();
    let groupA: LaneGroupConsumer | null = null;
    const a = runLoad(
      { warehouse: first, feed: { ...feed, warehouseId: 'a' }, logger, onGroup: (g) => (groupA = g) },
      stopA.signal,
    );
    try {
      await waitFor(
        'the first loader to hold every lane',
        () => groupA?.lanes.length === LANES || undefined,
        30_000,
      );
      const b = runLoad({ warehouse: second, feed: { ...feed, warehouseId: 'b' }, logger }, stopB.signal);
      await expect(b).rejects.toThrow(/write another warehouse \(a\).*--consumer of its own/);
      // the first keeps its lanes
      await new Promise((r) => setTimeout(r, 1_000));
      expect(groupA!.lanes).toHaveLength(LANES);
    } finally {
      stopA.abort();
      stopB.abort();
      await a;
      await first.close();
      await second.close();
    }
  });
});

async function sourceRows(client: pg.Client): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const t of KEYED) {
    out[t] = (await client.query(`SELECT id::text AS id, n, note FROM ${t} ORDER BY ${t}.id`)).rows.map(
      (r) => [r.id, r.n, r.note],
    );
  }
  out.bag = (await client.query('SELECT v, note FROM bag ORDER BY v, note')).rows.map((r) => [r.v, r.note]);
  return out;
}

async function warehouseRows(warehouse: DuckDBWarehouse): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const t of KEYED) {
    const result = await warehouse
      .query(`SELECT id::VARCHAR AS id, n, note FROM ${t} ORDER BY ${t}.id`)
      .catch(() => null);
    out[t] = result?.rows.map((r) => [r[0], r[1], r[2]]) ?? null;
  }
  const bag = await warehouse.query('SELECT v, note FROM bag ORDER BY v, note').catch(() => null);
  out.bag = bag?.rows.map((r) => [r[0], r[1]]) ?? null;
  return out;
}
