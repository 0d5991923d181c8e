import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLsn } from '../../src/core/lsn.js';
import {
  checkSlotUsable,
  dropSlot,
  inspectSlot,
  slotNameIsValid,
} from '../../src/source/postgres/setup/slot.js';
import { availableBinaries, PostgresCluster } from '../harness/postgres.js';
import { failure, withClient } from './helpers.js';

describe('slot names', () => {
  it('follow the Postgres rules, with a USAGE error saying what to use', async () => {
    expect(slotNameIsValid('tributary_main_2')).toBe(true);
    expect(slotNameIsValid('x'.repeat(63))).toBe(true);
    for (const [name, suggestion] of [
      ['Tributary', 'tributary'],
      ['my-slot', 'my_slot'],
      ['', 'tributary'],
      ['x'.repeat(64), 'x'.repeat(63)],
    ] as const) {
      const error = await failure(() => slotNameIsValid(name));
      expect(error.code).toBe('USAGE');
      expect(error.message).toContain(JSON.stringify(name));
      expect(error.hint).toBe(`for example --slot ${suggestion}`);
    }
  });
});

describe.each(availableBinaries().map((b) => [b.label, b] as const))('slot on %s', (_label, binaries) => {
  let cluster: PostgresCluster;
  beforeAll(async () => {
    cluster = await PostgresCluster.start({ binaries });
    await cluster.sql('CREATE DATABASE other');
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('reads a fresh pgoutput slot, and finds nothing for a missing one', async () => {
    await cluster.sql("SELECT pg_create_logical_replication_slot('fresh', 'pgoutput')");
    await withClient(cluster.connect(), async (client) => {
      expect(await inspectSlot(client, 'missing')).toBeNull();
      const slot = await inspectSlot(client, 'fresh');
      const [expected] = await cluster.sql<{ confirmed: string }>(
        "SELECT confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots WHERE slot_name = 'fresh'",
      );
      expect(slot).toMatchObject({
        name: 'fresh',
        plugin: 'pgoutput',
        slotType: 'logical',
        database: 'postgres',
        active: false,
        activePid: null,
        confirmedFlushLsn: parseLsn(expected!.confirmed),
        walStatus: 'reserved',
        invalidationReason: null,
        twoPhase: false,
        holder: null,
      });
      expect(slot?.conflicting).toBe(binaries.major >= 16 ? false : null);
      expect(() => checkSlotUsable(slot!, { database: 'postgres' })).not.toThrow();
    });
  });

  it('slot made by another plugin: SLOT_WRONG_PLUGIN names the plugin and how to get out of the way', async () => {
    await cluster.sql("SELECT pg_create_logical_replication_slot('s', 'test_decoding')");
    await withClient(cluster.connect(), async (client) => {
      const error = await failure(async () =>
        checkSlotUsable((await inspectSlot(client, 's'))!, { database: 'postgres' }),
      );
      expect(error.code).toBe('SLOT_WRONG_PLUGIN');
      expect(error.message).toContain('"s"');
      expect(error.message).toContain('"test_decoding"');
      expect(error.message).toContain('pgoutput');
      expect(error.hint).toContain('--slot');
      expect(error.hint).toContain("SELECT pg_drop_replication_slot('s');");
    });
  });

  it('a slot of another database, or a physical slot, is SLOT_WRONG_DATABASE', async () => {
    await cluster.sql("SELECT pg_create_logical_replication_slot('elsewhere', 'pgoutput')", [], 'other');
    await cluster.sql("SELECT pg_create_physical_replication_slot('standby')");
    await withClient(cluster.connect(), async (client) => {
      const other = await failure(async () =>
        checkSlotUsable((await inspectSlot(client, 'elsewhere'))!, { database: 'postgres' }),
      );
      expect(other.code).toBe('SLOT_WRONG_DATABASE');
      expect(other.message).toContain('belongs to database "other", not "postgres"');
      expect(other.hint).toContain('--slot');
      const physical = await failure(async () =>
        checkSlotUsable((await inspectSlot(client, 'standby'))!, { database: 'postgres' }),
      );
      expect(physical.code).toBe('SLOT_WRONG_DATABASE');
      expect(physical.message).toContain('physical');
      // teardown does not drop a slot that is not ours
      expect((await failure(dropSlot(client, 'elsewhere'))).code).toBe('SLOT_WRONG_DATABASE');
    });
  });

  it('a slot streamed by another process is SLOT_IN_USE, naming the pid and how to end it', async () => {
    await cluster.sql("SELECT pg_create_logical_replication_slot('busy', 'pgoutput')");
    await cluster.sql('CREATE PUBLICATION busy_pub');
    const replication = new pg.Client({
      connectionString: cluster.url(),
      replication: 'database',
      application_name: 'other-tributary',
    } as pg.ClientConfig);
    await replication.connect();
    replication.on('error', () => {});
    const streaming = replication.query(
      `START_REPLICATION SLOT busy LOGICAL 0/0 (proto_version '2', publication_names 'busy_pub')`,
    );
    streaming.catch(() => {});
    try {
      await withClient(cluster.connect(), async (client) => {
        let slot = await inspectSlot(client, 'busy');
        for (let i = 0; i < 100 && !slot?.active; i++) {
          await new Promise((r) => setTimeout(r, 50));
          slot = await inspectSlot(client, 'busy');
        }
        const pid = slot!.activePid!;
        expect(slot?.holder).toMatchObject({
          pid,
          applicationName: 'other-tributary',
          clientAddress: '127.0.0.1/32',
        });
        const error = await failure(() => checkSlotUsable(slot!, { database: 'postgres' }));
        expect(error.code).toBe('SLOT_IN_USE');
        expect(error.message).toContain(`process ${pid}`);
        expect(error.message).toContain('"other-tributary"');
        expect(error.hint).toContain(`SELECT pg_terminate_backend(${pid});`);
        expect(() => checkSlotUsable(slot!, { database: 'postgres', ownPid: pid })).not.toThrow();
        expect((await failure(dropSlot(client, 'busy'))).code).toBe('SLOT_IN_USE');
      });
    } finally {
      await cluster.sql(
        "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'busy'",
      );
      await replication.end().catch(() => {});
    }
  });

  it('dropSlot is idempotent', async () => {
    await cluster.sql("SELECT pg_create_logical_replication_slot('temporary_one', 'pgoutput')");
    await withClient(cluster.connect(), async (client) => {
      expect(await dropSlot(client, 'temporary_one')).toBe(true);
      expect(await dropSlot(client, 'temporary_one')).toBe(false);
      expect(await inspectSlot(client, 'temporary_one')).toBeNull();
    });
  });
});

describe.each(availableBinaries().map((b) => [b.label, b] as const))(
  'invalidated slot on %s',
  (_label, binaries) => {
    it('invalidated slot: SLOT_INVALIDATED says what was lost and how to recover, never re-creating it', async () => {
      const cluster = await PostgresCluster.start({
        binaries,
        settings: { max_slot_wal_keep_size: '1MB', wal_keep_size: 0 },
      });
      try {
        await cluster.sql("SELECT pg_create_logical_replication_slot('lagging', 'pgoutput')");
        await cluster.sql('CREATE TABLE filler (id int, pad text)');
        let status = '';
        for (let round = 0; round < 20 && status !== 'lost'; round++) {
          await cluster.sql("INSERT INTO filler SELECT g, repeat('x', 200) FROM generate_series(1, 2000) g");
          await cluster.sql('SELECT pg_switch_wal()');
          await cluster.sql("INSERT INTO filler VALUES (0, 'after switch')");
          await cluster.sql('SELECT pg_switch_wal()');
          await cluster.sql('CHECKPOINT');
          const [row] = await cluster.sql<{ wal_status: string }>(
            "SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'lagging'",
          );
          status = row?.wal_status ?? '';
        }
        expect(status).toBe('lost');

        await withClient(cluster.connect(), async (client) => {
          const slot = await inspectSlot(client, 'lagging');
          expect(slot?.walStatus).toBe('lost');
          if (binaries.major >= 17) expect(slot?.invalidationReason).toBe('wal_removed');
          const error = await failure(() => checkSlotUsable(slot!, { database: 'postgres' }));
          expect(error.code).toBe('SLOT_INVALIDATED');
          expect(error.message).toContain('"lagging"');
          expect(error.message).toMatch(/wal_removed|wal_status = lost/);
          expect(error.message).toContain('max_slot_wal_keep_size');
          expect(error.message).toMatch(/confirmed changes up to [0-9A-F]+\/[0-9A-F]+/);
          expect(error.message).toContain('gone from the WAL');
          expect(error.hint).toContain('tributary teardown');
          expect(error.hint).toContain("SELECT pg_drop_replication_slot('lagging');");
          expect(error.hint).toContain('fresh snapshot');
          expect(error.hint).toContain('never re-creates');
          // checking does not touch it; dropping it (teardown) works
          expect(await inspectSlot(client, 'lagging')).not.toBeNull();
          expect(await dropSlot(client, 'lagging')).toBe(true);
        });
      } finally {
        await cluster.stop();
      }
    });
  },
);
