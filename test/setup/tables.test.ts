import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeMatches } from '../../src/source/postgres/setup/close-matches.js';
import {
  listUnloggedTables,
  listUserTables,
  parseTableList,
} from '../../src/source/postgres/setup/tables.js';
import { availableBinaries, PostgresCluster } from '../harness/postgres.js';
import { failure, withClient } from './helpers.js';

describe('--tables', () => {
  it('follows SQL identifier rules', () => {
    expect(parseTableList('public.orders, "Sales"."Order Items", customers')).toEqual([
      { schema: 'public', name: 'orders' },
      { schema: 'Sales', name: 'Order Items' },
      { schema: 'public', name: 'customers' },
    ]);
    expect(parseTableList('Public.Orders , "a""b" . "c.d"')).toEqual([
      { schema: 'public', name: 'orders' },
      { schema: 'a"b', name: 'c.d' },
    ]);
    expect(parseTableList('orders,public.orders,ORDERS')).toEqual([{ schema: 'public', name: 'orders' }]);
    expect(parseTableList('données.café_$1')).toEqual([{ schema: 'données', name: 'café_$1' }]);
  });

  it.each([
    ['', 'no table'],
    ['a,,b', 'missing'],
    ['a,', 'missing'],
    ['db.public.orders', 'too many dots'],
    ['"Orders', 'never closed'],
    ['public.""', 'empty quoted name'],
    ['orders items', 'unexpected'],
    ['1orders', 'unexpected'],
    [`${'x'.repeat(64)}`, 'longer than the 63 bytes'],
  ])('rejects %j as a USAGE error saying what is wrong', async (text, what) => {
    const error = await failure(() => parseTableList(text));
    expect(error.code).toBe('USAGE');
    expect(error.message).toContain(what);
    expect(error.hint).toContain('schema.table');
  });

  it('suggests close matches: case first, then other schemas, then typos', () => {
    const existing = [
      { schema: 'public', name: 'Orders' },
      { schema: 'sales', name: 'orders' },
      { schema: 'public', name: 'order_items' },
      { schema: 'public', name: 'customers' },
    ];
    expect(closeMatches({ schema: 'public', name: 'orders' }, existing)).toEqual([
      { schema: 'public', name: 'Orders' },
      { schema: 'sales', name: 'orders' },
    ]);
    expect(closeMatches({ schema: 'public', name: 'custmers' }, existing)).toEqual([
      { schema: 'public', name: 'customers' },
    ]);
    expect(closeMatches({ schema: 'public', name: 'invoices' }, existing)).toEqual([]);
  });
});

describe.each(availableBinaries().map((b) => [b.label, b] as const))(
  'user tables on %s',
  (_label, binaries) => {
    let cluster: PostgresCluster;
    beforeAll(async () => {
      cluster = await PostgresCluster.start({ binaries });
      await cluster.sql('CREATE DATABASE listing');
      for (const sql of [
        'CREATE SCHEMA "Sales"',
        'CREATE TABLE plain (id int PRIMARY KEY)',
        'CREATE TABLE "Sales"."Order Items" (id int PRIMARY KEY)',
        'CREATE TABLE measurements (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)',
        "CREATE TABLE measurements_2024 PARTITION OF measurements FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
        'CREATE UNLOGGED TABLE scratch (id int PRIMARY KEY)',
        'CREATE VIEW plain_view AS SELECT * FROM plain',
        'CREATE MATERIALIZED VIEW plain_mv AS SELECT * FROM plain',
        'CREATE SEQUENCE counter',
      ])
        await cluster.sql(sql, [], 'listing');
    });
    afterAll(async () => {
      await cluster?.stop();
    });

    it('lists permanent tables and partition roots, not partitions, views, unlogged or system tables', async () => {
      await withClient(cluster.connect('listing'), async (client) => {
        await client.query('CREATE TEMPORARY TABLE session_only (id int)');
        expect(await listUserTables(client)).toEqual([
          { schema: 'Sales', name: 'Order Items' },
          { schema: 'public', name: 'measurements' },
          { schema: 'public', name: 'plain' },
        ]);
        expect(await listUnloggedTables(client)).toEqual([{ schema: 'public', name: 'scratch' }]);
      });
    });
  },
);
