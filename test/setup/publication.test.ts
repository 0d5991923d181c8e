import { describe, expect, it } from 'vitest';
import { dropPublication, ensurePublication } from '../../src/source/postgres/setup/publication.js';
import { parseTableList } from '../../src/source/postgres/setup/tables.js';
import { EACH_MAJOR, useCluster } from '../harness/use-cluster.js';
import { connectAs, failure, withClient } from './helpers.js';

interface PublicationRow {
  puballtables: boolean;
  pubinsert: boolean;
  pubupdate: boolean;
  pubdelete: boolean;
  pubtruncate: boolean;
  pubviaroot: boolean;
}

describe.each(EACH_MAJOR)('publication on %s', (_label, binaries) => {
  const cluster = useCluster({ binaries });

  const published = (db: string, pub: string) =>
    cluster().sql<{ t: string }>(
      "SELECT schemaname || '.' || tablename AS t FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1",
      [pub],
      db,
    );

  it('publication never FOR ALL TABLES: an explicit list publishing every change via the partition root', async () => {
    await cluster().createDatabase(
      'shop',
      'CREATE TABLE orders (id int PRIMARY KEY)',
      'CREATE TABLE "Order Items" (id int PRIMARY KEY)',
      'CREATE TABLE readings (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)',
      "CREATE TABLE readings_2024 PARTITION OF readings FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
    );
    await withClient(cluster().connect('shop'), async (client) => {
      const outcome = await ensurePublication(client, 'tributary', 'all');
      expect(outcome).toMatchObject({ created: true, allTables: false, unwanted: [] });
      expect(outcome.added).toHaveLength(3);
    });
    const [pub] = await cluster().sql<PublicationRow>(
      'SELECT puballtables, pubinsert, pubupdate, pubdelete, pubtruncate, pubviaroot FROM pg_publication',
      [],
      'shop',
    );
    expect(pub).toEqual({
      puballtables: false,
      pubinsert: true,
      pubupdate: true,
      pubdelete: true,
      pubtruncate: true,
      pubviaroot: true,
    });
    expect(await published('shop', 'tributary')).toEqual([
      { t: 'public.Order Items' },
      { t: 'public.orders' },
      { t: 'public.readings' },
    ]);

    // a table created later is not published by itself ...
    await cluster().sql('CREATE TABLE refunds (id int PRIMARY KEY)', [], 'shop');
    expect(await published('shop', 'tributary')).toHaveLength(3);
    // ... it is added explicitly, and what is there but unwanted is left alone and reported
    await withClient(cluster().connect('shop'), async (client) => {
      const outcome = await ensurePublication(client, 'tributary', parseTableList('orders, refunds'));
      expect(outcome.created).toBe(false);
      expect(outcome.added).toEqual([{ schema: 'public', name: 'refunds' }]);
      expect(outcome.unwanted).toEqual([
        { schema: 'public', name: 'Order Items' },
        { schema: 'public', name: 'readings' },
      ]);
      const again = await ensurePublication(client, 'tributary', parseTableList('orders, refunds'));
      expect(again.added).toEqual([]);
    });
    expect(await published('shop', 'tributary')).toHaveLength(4);
  });

  it('never publishes a table without a replica identity, not even by adding it later', async () => {
    await cluster().createDatabase(
      'loose',
      'CREATE TABLE orders (id int PRIMARY KEY)',
      'CREATE TABLE clicks (at timestamptz)',
    );
    await withClient(cluster().connect('loose'), async (client) => {
      const error = await failure(ensurePublication(client, 'tributary', 'all'));
      expect(error.code).toBe('NO_REPLICA_IDENTITY');
      expect(error.message).toContain('public.clicks');
      expect(await cluster().sql('SELECT 1 FROM pg_publication', [], 'loose')).toEqual([]);

      await ensurePublication(client, 'tributary', parseTableList('orders'));
      const adding = await failure(ensurePublication(client, 'tributary', parseTableList('orders, clicks')));
      expect(adding.code).toBe('NO_REPLICA_IDENTITY');
      expect(await published('loose', 'tributary')).toEqual([{ t: 'public.orders' }]);
      // the application's writes still work
      await client.query('INSERT INTO clicks VALUES (now())');
      await client.query('UPDATE clicks SET at = now()');
    });
  });

  it("a user's FOR ALL TABLES publication is accepted, its keyless tables reported", async () => {
    await cluster().createDatabase(
      'theirs',
      'CREATE TABLE orders (id int PRIMARY KEY)',
      'CREATE TABLE clicks (at timestamptz)',
      'CREATE PUBLICATION everything FOR ALL TABLES',
    );
    await withClient(cluster().connect('theirs'), async (client) => {
      const outcome = await ensurePublication(client, 'everything', parseTableList('orders'));
      expect(outcome.allTables).toBe(true);
      expect(outcome.added).toEqual([]);
      expect(outcome.unwanted).toEqual([{ schema: 'public', name: 'clicks' }]);
      expect(outcome.withoutReplicaIdentity.map((p) => p.table)).toEqual([
        { schema: 'public', name: 'clicks' },
      ]);
      expect(outcome.warnings.join('\n')).toContain('public.clicks (no primary key');
    });
  });

  it('a publication that skips deletes is a PUBLICATION_MISMATCH with the ALTER to run', async () => {
    await cluster().createDatabase(
      'partial',
      'CREATE TABLE orders (id int PRIMARY KEY)',
      "CREATE PUBLICATION inserts_only FOR TABLE orders WITH (publish = 'insert, update')",
    );
    await withClient(cluster().connect('partial'), async (client) => {
      const error = await failure(ensurePublication(client, 'inserts_only', parseTableList('orders')));
      expect(error.code).toBe('PUBLICATION_MISMATCH');
      expect(error.message).toContain('"inserts_only" does not publish delete, truncate');
      expect(error.hint).toContain(
        `ALTER PUBLICATION "inserts_only" SET (publish = 'insert, update, delete, truncate', publish_via_partition_root = true);`,
      );
    });
  });

  it('publication privilege missing: a non-owner, non-superuser role gets the SQL for a DBA', async () => {
    await cluster().createDatabase(
      'owned',
      'CREATE TABLE orders (id int PRIMARY KEY)',
      "CREATE ROLE etl LOGIN REPLICATION PASSWORD 'etl-pw'",
      'GRANT SELECT ON orders TO etl',
    );
    const asEtl = () => connectAs(cluster(), { user: 'etl', password: 'etl-pw', database: 'owned' });

    const noCreate = await withClient(asEtl(), (client) =>
      failure(ensurePublication(client, 'tributary', parseTableList('orders'))),
    );
    expect(noCreate.code).toBe('PUBLICATION_PRIVILEGE');
    expect(noCreate.message).toContain('role "etl" may not create publication "tributary"');
    expect(noCreate.hint).toContain('GRANT CREATE ON DATABASE "owned" TO "etl";');

    await cluster().sql('GRANT CREATE ON DATABASE owned TO etl');
    const notOwner = await withClient(asEtl(), (client) =>
      failure(ensurePublication(client, 'tributary', parseTableList('orders'))),
    );
    expect(notOwner.code).toBe('PUBLICATION_PRIVILEGE');
    expect(notOwner.message).toContain('must be owner of table orders');
    expect(notOwner.message).toContain('ownership of every table');
    expect(notOwner.hint).toContain("the tables' owner or a superuser");
    expect(notOwner.hint).toContain(
      `CREATE PUBLICATION "tributary" FOR TABLE "public"."orders" WITH (publish = 'insert, update, delete, truncate', publish_via_partition_root = true);`,
    );

    // the DBA runs it; Tributary then uses the publication as it is
    await cluster().sql(notOwner.hint!.split('\n')[1]!, [], 'owned');
    const outcome = await withClient(asEtl(), (client) =>
      ensurePublication(client, 'tributary', parseTableList('orders')),
    );
    expect(outcome).toMatchObject({ created: false, added: [] });
  });

  it('dropPublication is idempotent', async () => {
    await cluster().createDatabase('dropping', 'CREATE TABLE orders (id int PRIMARY KEY)');
    await withClient(cluster().connect('dropping'), async (client) => {
      await ensurePublication(client, 'gone_soon', 'all');
      expect(await dropPublication(client, 'gone_soon')).toBe(true);
      expect(await dropPublication(client, 'gone_soon')).toBe(false);
    });
  });
});
