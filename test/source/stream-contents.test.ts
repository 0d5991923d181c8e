/**
 * What the stream carries for the cases other tools get wrong: unchanged TOASTed values (never
 * null), primary key updates, truncates with their options, streamed transactions with
 * savepoint rollbacks and whole aborts (spooled to disk), logical messages in place, and names
 * that need quoting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresCluster } from '../harness/postgres.js';
import { EACH_MAJOR } from '../harness/use-cluster.js';
import { waitFor } from '../helpers/events.js';
import { type RunningSource, startSource } from '../helpers/in-process-source.js';
import type { MemoryTarget } from '../helpers/memory-target.js';

describe.each(EACH_MAJOR)('stream contents (%s)', (_label, binaries) => {
  let cluster: PostgresCluster;
  let target: MemoryTarget;
  let running: RunningSource;

  beforeAll(async () => {
    cluster = await PostgresCluster.start({ binaries });
    await cluster.sql(`
      CREATE TABLE docs (id int PRIMARY KEY, title text, body text);
      ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL;
      CREATE TABLE docs_full (id int PRIMARY KEY, title text, body text);
      ALTER TABLE docs_full ALTER COLUMN body SET STORAGE EXTERNAL;
      ALTER TABLE docs_full REPLICA IDENTITY FULL;
      CREATE TABLE parent (id int PRIMARY KEY);
      CREATE TABLE child (id serial PRIMARY KEY, parent_id int REFERENCES parent(id));
      CREATE TABLE bulk (id int PRIMARY KEY, pad text);
      CREATE SCHEMA "Sales Data";
      CREATE TABLE "Sales Data"."Order Items" ("Item ID" int PRIMARY KEY, "__proto__" text, "select" int);
    `);
    running = await startSource(cluster, { slot: 'contents' });
    target = running.target;
  });

  afterAll(async () => {
    await running?.stop();
    await cluster?.stop();
  });

  const big = (seed: number) =>
    `(SELECT string_agg(md5((g * ${seed})::text), '') FROM generate_series(1, 400) g)`;

  it('reports unchanged TOASTed columns by name, never as null', async () => {
    await cluster.sql(`INSERT INTO docs VALUES (1, 'first', ${big(1)})`);
    await cluster.sql(`UPDATE docs SET title = 'renamed' WHERE id = 1`);
    const update = await waitFor('the update', () =>
      target.changes().find((e) => e.op === 'update' && e.table.name === 'docs'),
    );
    expect(update.unchanged).toEqual(['body']);
    expect(update.row).toEqual(Object.assign(Object.create(null), { id: 1, title: 'renamed' }));
    expect(Object.hasOwn(update.row!, 'body')).toBe(false);
    const insert = target.changes().find((e) => e.op === 'insert' && e.table.name === 'docs')!;
    expect((insert.row!.body as string).length).toBe(400 * 32);
  });

  it('fills unchanged columns from the old row under REPLICA IDENTITY FULL', async () => {
    await cluster.sql(`INSERT INTO docs_full VALUES (1, 'first', ${big(2)})`);
    await cluster.sql(`UPDATE docs_full SET title = 'renamed' WHERE id = 1`);
    const update = await waitFor('the update', () =>
      target.changes().find((e) => e.op === 'update' && e.table.name === 'docs_full'),
    );
    expect(update.unchanged).toEqual([]);
    expect((update.row!.body as string).length).toBe(400 * 32);
    expect(update.before!.title).toBe('first');
  });

  it('carries the old key when an update changes the primary key, and the key on delete', async () => {
    await cluster.sql(`INSERT INTO docs VALUES (10, 'ten', 'small')`);
    await cluster.sql(`UPDATE docs SET id = 11 WHERE id = 10`);
    await cluster.sql(`DELETE FROM docs WHERE id = 11`);
    const del = await waitFor('the delete', () =>
      target.changes().find((e) => e.op === 'delete' && e.pk?.id === 11),
    );
    expect(del.row).toBeNull();
    const moved = target.changes().find((e) => e.op === 'update' && e.pk?.id === 11)!;
    expect(moved.before).toEqual(Object.assign(Object.create(null), { id: 10 }));
    expect(moved.row!.title).toBe('ten');
  });

  it('emits one truncate per table with its options', async () => {
    await cluster.sql('INSERT INTO parent VALUES (1); INSERT INTO child (parent_id) VALUES (1)');
    await cluster.sql('TRUNCATE parent RESTART IDENTITY CASCADE');
    const truncates = await waitFor('the truncates', () => {
      const found = target.changes().filter((e) => e.op === 'truncate');
      return found.length >= 2 ? found : undefined;
    });
    expect(truncates.map((e) => e.table.name).sort()).toEqual(['child', 'parent']);
    for (const e of truncates) expect(e.truncate).toEqual({ cascade: true, restartIdentity: true });
    expect(truncates[0]!.position.commitLsn).toBe(truncates[1]!.position.commitLsn);
  });

  it('applies a streamed transaction minus its rolled-back savepoint, and drops an aborted one', async () => {
    const client = await cluster.connect();
    try {
      await client.query('BEGIN');
      await client.query("INSERT INTO bulk SELECT g, repeat('a', 100) FROM generate_series(1, 3000) g");
      await client.query('SAVEPOINT s1');
      await client.query("INSERT INTO bulk SELECT g, repeat('b', 100) FROM generate_series(3001, 6000) g");
      await client.query('ROLLBACK TO SAVEPOINT s1');
      await client.query('SAVEPOINT s2');
      await client.query("INSERT INTO bulk SELECT g, repeat('c', 100) FROM generate_series(6001, 9000) g");
      await client.query('RELEASE SAVEPOINT s2');
      await client.query(`SELECT pg_logical_emit_message(true, 'test.marker', 'inside')`);
      await client.query('COMMIT');
      await client.query('BEGIN');
      await client.query("INSERT INTO bulk SELECT g, repeat('d', 100) FROM generate_series(20001, 25000) g");
      await client.query('ROLLBACK');
      await client.query(`SELECT pg_logical_emit_message(false, 'test.marker', 'after')`);
    } finally {
      await client.end();
    }
    await waitFor('the message after', () =>
      target.items.find((i) => i.kind === 'message' && Buffer.from(i.message.content).toString() === 'after'),
    );
    const ids = target
      .changes()
      .filter((e) => e.table.name === 'bulk')
      .map((e) => e.pk!.id as number);
    const expected = [
      ...Array.from({ length: 3000 }, (_, i) => i + 1),
      ...Array.from({ length: 3000 }, (_, i) => i + 6001),
    ];
    expect(ids).toEqual(expected);
    const inside = target.items.find(
      (i) => i.kind === 'message' && Buffer.from(i.message.content).toString() === 'inside',
    );
    expect(inside?.kind === 'message' && inside.message.transactional).toBe(true);
    const lastBulk = target
      .changes()
      .filter((e) => e.table.name === 'bulk')
      .at(-1)!;
    if (inside?.kind === 'message') {
      expect(inside.message.position.commitLsn).toBe(lastBulk.position.commitLsn);
      expect(inside.message.position.ordinal).toBe(lastBulk.position.ordinal + 1);
    }
  });

  it('keeps names that need quoting as they are', async () => {
    await cluster.sql(`INSERT INTO "Sales Data"."Order Items" VALUES (7, 'proto', 3)`);
    const e = await waitFor('the insert', () => target.changes().find((c) => c.table.name === 'Order Items'));
    expect(e.table).toEqual({ schema: 'Sales Data', name: 'Order Items' });
    expect(Object.keys(e.row!)).toEqual(['Item ID', '__proto__', 'select']);
    expect(Object.getOwnPropertyDescriptor(e.row!, '__proto__')?.value).toBe('proto');
    expect(e.pk).toEqual(Object.assign(Object.create(null), { 'Item ID': 7 }));
  });

  it('keeps positions strictly increasing across everything it emitted', () => {
    const positions = target.items.flatMap((i) =>
      i.kind === 'change' ? [i.event.position] : i.kind === 'message' ? [i.message.position] : [],
    );
    for (let i = 1; i < positions.length; i++) {
      const a = positions[i - 1]!;
      const b = positions[i]!;
      expect(a.commitLsn < b.commitLsn || (a.commitLsn === b.commitLsn && a.ordinal < b.ordinal)).toBe(true);
    }
  });
});
