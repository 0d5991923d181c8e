import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preflight } from '../../src/source/postgres/setup/preflight.js';
import { checkServerVersion, readServerFacts } from '../../src/source/postgres/setup/server-checks.js';
import { parseTableList } from '../../src/source/postgres/setup/tables.js';
import { availableBinaries, PostgresCluster } from '../harness/postgres.js';
import { connectAs, failure, withClient } from './helpers.js';

const request = (tables: string | 'all', slotName = 'tributary') => ({
  slotName,
  publicationName: 'tributary',
  tables: tables === 'all' ? ('all' as const) : parseTableList(tables),
});

describe.each(availableBinaries().map((b) => [b.label, b] as const))(
  'preflight on %s',
  (_label, binaries) => {
    let cluster: PostgresCluster;
    beforeAll(async () => {
      cluster = await PostgresCluster.start({ binaries });
    });
    afterAll(async () => {
      await cluster?.stop();
    });

    // a fresh database per test (cluster.createDatabase), so `tables: 'all'` sees only what the test made

    it('passes on a ready database and resolves the tables', async () => {
      await cluster.createDatabase(
        'ready',
        'CREATE TABLE orders (id int PRIMARY KEY)',
        'CREATE TABLE "Order Items" (order_id int, line int, PRIMARY KEY (order_id, line))',
        'CREATE TABLE audit (at timestamptz, what text)',
        'ALTER TABLE audit REPLICA IDENTITY FULL',
        'CREATE TABLE codes (code text NOT NULL)',
        'CREATE UNIQUE INDEX codes_code ON codes (code)',
        'ALTER TABLE codes REPLICA IDENTITY USING INDEX codes_code',
      );
      await withClient(cluster.connect('ready'), async (client) => {
        const result = await preflight(client, request('all'));
        expect(result.serverVersionNum).toBeGreaterThanOrEqual(binaries.major * 10000);
        expect(result.database).toBe('ready');
        expect(result.slot).toBeNull();
        expect(result.tables).toEqual([
          { schema: 'public', name: 'Order Items' },
          { schema: 'public', name: 'audit' },
          { schema: 'public', name: 'codes' },
          { schema: 'public', name: 'orders' },
        ]);
        const listed = await preflight(client, request('orders, public."Order Items"'));
        expect(listed.tables).toEqual([
          { schema: 'public', name: 'orders' },
          { schema: 'public', name: 'Order Items' },
        ]);
      });
    });

    it('missing REPLICATION privilege: a LOGIN role over TCP is told to ALTER ROLE ... WITH REPLICATION', async () => {
      await cluster.sql("CREATE ROLE reporter LOGIN PASSWORD 'reporter-pw'");
      const error = await withClient(
        connectAs(cluster, { user: 'reporter', password: 'reporter-pw' }),
        (client) => failure(preflight(client, request('all'))),
      );
      expect(error.code).toBe('REPLICATION_PRIVILEGE');
      expect(error.message).toContain('"reporter"');
      expect(error.message).toContain('REPLICATION');
      expect(error.hint).toContain('ALTER ROLE "reporter" WITH REPLICATION;');
      expect(error.hint).toContain('rds_replication');

      await cluster.sql('ALTER ROLE reporter WITH REPLICATION');
      const result = await withClient(
        connectAs(cluster, { user: 'reporter', password: 'reporter-pw' }),
        (client) => preflight(client, request('all')),
      );
      expect(result.role).toBe('reporter');
    });

    it('table without primary key and default identity: names the table and the fix, and FULL then passes', async () => {
      await cluster.createDatabase(
        'nokey',
        'CREATE TABLE orders (id int PRIMARY KEY)',
        'CREATE TABLE events (at timestamptz, payload text)',
        'CREATE TABLE logs (line text)',
        'ALTER TABLE logs REPLICA IDENTITY NOTHING',
        'CREATE TABLE tags (tag text NOT NULL)',
        'CREATE UNIQUE INDEX tags_tag ON tags (tag)',
      );
      await withClient(cluster.connect('nokey'), async (client) => {
        const error = await failure(preflight(client, request('orders, events')));
        expect(error.code).toBe('NO_REPLICA_IDENTITY');
        expect(error.message).toContain('public.events (no primary key, REPLICA IDENTITY DEFAULT)');
        expect(error.message).not.toContain('public.orders');
        expect(error.message).toContain('UPDATE and DELETE');
        expect(error.message).toContain("application's own writes");
        expect(error.hint).toContain('ALTER TABLE "public"."events" ADD PRIMARY KEY (<key columns>);');
        expect(error.hint).toContain('ALTER TABLE "public"."events" REPLICA IDENTITY FULL;');

        // every table at fault, at once, each with its own fix
        const all = await failure(preflight(client, request('all')));
        expect(all.code).toBe('NO_REPLICA_IDENTITY');
        expect(all.message).toContain('3 tables');
        expect(all.message).toContain('public.events');
        expect(all.message).toContain('public.logs (REPLICA IDENTITY NOTHING)');
        expect(all.message).toContain('public.tags');
        expect(all.hint).toContain('ALTER TABLE "public"."tags" REPLICA IDENTITY USING INDEX "tags_tag";');

        await client.query('ALTER TABLE events REPLICA IDENTITY FULL');
        const result = await preflight(client, request('orders, events'));
        expect(result.tables).toHaveLength(2);
      });
    });

    it('partitions need their own replica identity: FULL on the parent is not inherited', async () => {
      await cluster.createDatabase(
        'parts',
        'CREATE TABLE readings (sensor int, at date, value float8) PARTITION BY RANGE (at)',
        'ALTER TABLE readings REPLICA IDENTITY FULL',
        "CREATE TABLE readings_2024 PARTITION OF readings FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
        'CREATE TABLE keyed (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)',
        "CREATE TABLE keyed_2024 PARTITION OF keyed FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
      );
      await withClient(cluster.connect('parts'), async (client) => {
        const error = await failure(preflight(client, request('readings')));
        expect(error.code).toBe('NO_REPLICA_IDENTITY');
        expect(error.message).toContain('public.readings_2024 (partition of public.readings');
        expect(error.hint).toContain('ALTER TABLE "public"."readings_2024" REPLICA IDENTITY FULL;');
        expect(error.hint).toContain('partitions do not inherit');

        const keyed = await preflight(client, request('keyed, keyed_2024'));
        expect(keyed.tables).toEqual([{ schema: 'public', name: 'keyed' }]);
        expect(keyed.warnings.join('\n')).toContain('public.keyed_2024 is a partition of public.keyed');
      });
    });

    it('table that does not exist: suggests the name with the other case, and how to quote it', async () => {
      await cluster.createDatabase(
        'names',
        'CREATE TABLE "Orders" (id int PRIMARY KEY)',
        'CREATE TABLE customers (id int PRIMARY KEY)',
      );
      await withClient(cluster.connect('names'), async (client) => {
        const error = await failure(preflight(client, request('Orders, customers')));
        expect(error.code).toBe('TABLE_NOT_FOUND');
        expect(error.message).toContain('public.orders');
        expect(error.message).toContain('"names"');
        expect(error.hint).toContain('did you mean public."Orders"?');
        expect(error.hint).toContain('Unquoted names fold to lower case');

        const typos = await failure(preflight(client, request('public."Customers", custmers, invoices')));
        expect(typos.message).toContain('3 tables do not exist');
        expect(typos.hint).toContain('public."Customers": did you mean public.customers?');
        expect(typos.hint).toContain('custmers: did you mean public.customers?');
        expect(typos.hint).toContain('public.invoices: no similar table');
      });
    });

    it('a view, a materialized view or an unlogged table cannot be replicated', async () => {
      await cluster.createDatabase(
        'kinds',
        'CREATE TABLE orders (id int PRIMARY KEY)',
        'CREATE VIEW big_orders AS SELECT * FROM orders',
        'CREATE MATERIALIZED VIEW order_count AS SELECT count(*) FROM orders',
        'CREATE UNLOGGED TABLE scratch (id int PRIMARY KEY)',
      );
      await withClient(cluster.connect('kinds'), async (client) => {
        const error = await failure(preflight(client, request('orders, big_orders, order_count, scratch')));
        expect(error.code).toBe('TABLE_NOT_REPLICABLE');
        expect(error.message).toContain('public.big_orders is a view');
        expect(error.message).toContain('public.order_count is a materialized view');
        expect(error.message).toContain('public.scratch is UNLOGGED');
        expect(error.hint).toContain('ALTER TABLE "public"."scratch" SET LOGGED;');

        const all = await preflight(client, request('all'));
        expect(all.tables).toEqual([{ schema: 'public', name: 'orders' }]);
        expect(all.warnings.join('\n')).toContain('UNLOGGED tables never reach the WAL: public.scratch');
      });
    });

    it("a column named like Tributary's own (_tributary_…) is refused with the rename to apply", async () => {
      await cluster.createDatabase(
        'reserved',
        'CREATE TABLE ok (id int PRIMARY KEY)',
        'CREATE TABLE "Clash" (id int PRIMARY KEY, "_tributary_lsn" text, _tributary_x int, tributary_y int)',
      );
      await withClient(cluster.connect('reserved'), async (client) => {
        const error = await failure(preflight(client, request('ok, "Clash"')));
        expect(error.code).toBe('TABLE_NOT_REPLICABLE');
        expect(error.message).toContain('public."Clash"."_tributary_lsn", public."Clash"."_tributary_x"');
        expect(error.message).not.toContain('tributary_y');
        expect(error.hint).toContain(
          'ALTER TABLE "public"."Clash" RENAME COLUMN "_tributary_lsn" TO "tributary_lsn";',
        );
        expect((await preflight(client, request('ok'))).tables).toEqual([{ schema: 'public', name: 'ok' }]);
      });
    });

    it("a table whose name the warehouse keeps for itself (_tributary…, main) is refused, and left out of 'all'", async () => {
      await cluster.createDatabase(
        'schemas',
        'CREATE TABLE t (id int PRIMARY KEY)',
        'CREATE SCHEMA _tributary',
        'CREATE TABLE _tributary.checkpoint (id int PRIMARY KEY)',
        'CREATE SCHEMA main',
        'CREATE TABLE main.t (id int PRIMARY KEY)',
        'CREATE TABLE _tributary_checkpoint (id int PRIMARY KEY)',
      );
      await withClient(cluster.connect('schemas'), async (client) => {
        const error = await failure(preflight(client, request('t, _tributary.checkpoint, main.t')));
        expect(error.code).toBe('TABLE_NOT_REPLICABLE');
        expect(error.message).toContain('cannot replicate _tributary.checkpoint, main.t');
        const named = await failure(preflight(client, request('_tributary_checkpoint')));
        expect(named.message).toContain("tables named _tributary… are Tributary's own");
        const all = await preflight(client, request('all'));
        expect(all.tables).toEqual([{ schema: 'public', name: 't' }]);
        expect(all.warnings.join('\n')).toContain(
          "the warehouse's own (_tributary…, main): _tributary.checkpoint, main.t",
        );
      });
    });

    it('a role that cannot SELECT a table (or its schema) is told what to GRANT', async () => {
      await cluster.createDatabase(
        'grants',
        'CREATE SCHEMA private',
        'CREATE TABLE private.salaries (id int PRIMARY KEY)',
        'CREATE TABLE public.orders (id int PRIMARY KEY)',
        'CREATE TABLE public.notes (id int PRIMARY KEY, owner text)',
        'ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY',
        "CREATE ROLE streamer LOGIN REPLICATION PASSWORD 'streamer-pw'",
        'GRANT SELECT ON public.notes TO streamer',
      );
      await withClient(
        connectAs(cluster, { user: 'streamer', password: 'streamer-pw', database: 'grants' }),
        async (client) => {
          const error = await failure(preflight(client, request('orders, private.salaries')));
          expect(error.code).toBe('TABLE_PRIVILEGE');
          expect(error.message).toContain('"streamer"');
          expect(error.message).toContain('public.orders, private.salaries');
          expect(error.hint).toContain('GRANT USAGE ON SCHEMA "private" TO "streamer";');
          expect(error.hint).toContain(
            'GRANT SELECT ON "public"."orders", "private"."salaries" TO "streamer";',
          );

          const rls = await failure(preflight(client, request('notes')));
          expect(rls.code).toBe('TABLE_PRIVILEGE');
          expect(rls.message).toContain('row-level security');
          expect(rls.hint).toContain('ALTER ROLE "streamer" BYPASSRLS;');
        },
      );
    });

    it('a bad slot name is a usage error before anything is asked of the server', async () => {
      await withClient(cluster.connect(), async (client) => {
        const error = await failure(preflight(client, request('all', 'Tributary-Main')));
        expect(error.code).toBe('USAGE');
        expect(error.message).toContain('"Tributary-Main"');
        expect(error.hint).toContain('--slot tributary_main');
      });
    });

    it('refuses a server older than 14', async () => {
      await withClient(cluster.connect(), async (client) => {
        const facts = await readServerFacts(client);
        expect(() => checkServerVersion(facts)).not.toThrow();
        const error = await failure(() =>
          checkServerVersion({ ...facts, versionNum: 130011, version: '13.11' }),
        );
        expect(error.code).toBe('UNSUPPORTED_SERVER');
        expect(error.message).toContain('13.11');
        expect(error.hint).toContain('14 or newer');
      });
    });
  },
);

describe.each(availableBinaries().map((b) => [b.label, b] as const))(
  'preflight on %s with special settings',
  (_label, binaries) => {
    it('wal_level not logical: says to ALTER SYSTEM and restart', async () => {
      const cluster = await PostgresCluster.start({ binaries, settings: { wal_level: 'replica' } });
      try {
        const error = await withClient(cluster.connect(), (client) =>
          failure(preflight(client, request('all'))),
        );
        expect(error.code).toBe('WAL_LEVEL');
        expect(error.message).toContain('"replica"');
        expect(error.message).toContain('logical');
        expect(error.hint).toContain('ALTER SYSTEM SET wal_level = logical;');
        expect(error.hint).toContain('restart Postgres');
      } finally {
        await cluster.stop();
      }
    });

    it('no free replication slot: names the numbers and the inactive slots; no free WAL sender likewise', async () => {
      const cluster = await PostgresCluster.start({
        binaries,
        settings: { max_replication_slots: 2, max_wal_senders: 1 },
      });
      try {
        await cluster.sql("SELECT pg_create_logical_replication_slot('old_etl', 'pgoutput')");
        await cluster.sql("SELECT pg_create_logical_replication_slot('abandoned', 'test_decoding')");
        await withClient(cluster.connect(), async (client) => {
          const error = await failure(preflight(client, request('all')));
          expect(error.code).toBe('NO_FREE_SLOT');
          expect(error.message).toContain('2 of max_replication_slots = 2');
          expect(error.hint).toContain('ALTER SYSTEM SET max_replication_slots = 3;');
          expect(error.hint).toContain('abandoned, old_etl');
          expect(error.hint).toContain("SELECT pg_drop_replication_slot('abandoned');");

          // an existing slot of ours needs no new one
          const reuse = await preflight(client, request('all', 'old_etl'));
          expect(reuse.slot?.name).toBe('old_etl');
        });

        // the one WAL sender taken by a replication connection
        const replication = new pg.Client({
          connectionString: cluster.url(),
          replication: 'database',
        } as pg.ClientConfig);
        await replication.connect();
        try {
          const error = await withClient(cluster.connect(), (client) =>
            failure(preflight(client, request('all', 'old_etl'))),
          );
          expect(error.code).toBe('NO_FREE_WAL_SENDER');
          expect(error.message).toContain('1 of max_wal_senders = 1');
          expect(error.hint).toContain('ALTER SYSTEM SET max_wal_senders = 2;');
        } finally {
          await replication.end();
        }
      } finally {
        await cluster.stop();
      }
    });
  },
);
