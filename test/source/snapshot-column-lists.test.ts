/**
 * A publication's column list decides which columns a snapshot copies, matched by exact name:
 * `pg_publication_tables.attnames` is a name[] that node-pg leaves as array text, so it is read
 * as text[] — read raw, `includes` matched substrings (an unpublished `id` inside `user_id`) and
 * missed names with a quote or a backslash (their array text is escaped).
 */
import { describe, expect, it } from 'vitest';
import { describeForSnapshot } from '../../src/source/postgres/snapshot/snapshot-table.js';
import { TypeRegistry } from '../../src/source/postgres/values/type-registry.js';
import { EACH_MAJOR, useCluster } from '../harness/use-cluster.js';

describe.each(EACH_MAJOR)('a snapshot copies exactly the published columns (%s)', (_label, binaries) => {
  const cluster = useCluster({
    binaries,
    setup: async (c) => {
      await c.sql(
        `CREATE TABLE accounts (user_id int PRIMARY KEY, id int, "q""uote" text, "back\\slash" text, secret text)`,
      );
      await c.sql(`CREATE PUBLICATION listed FOR TABLE accounts (user_id, "q""uote", "back\\slash")`);
      await c.sql('CREATE PUBLICATION whole FOR TABLE accounts');
    },
  });

  it('takes the list by exact names, quotes and backslashes included', async () => {
    const client = await cluster().connect();
    try {
      const table = { schema: 'public', name: 'accounts' };
      const listed = await describeForSnapshot(client, table, 'listed', new TypeRegistry());
      expect(listed.schema.columns.map((c) => c.name)).toEqual(['user_id', 'q"uote', 'back\\slash']);
      const whole = await describeForSnapshot(client, table, 'whole', new TypeRegistry());
      expect(whole.schema.columns.map((c) => c.name)).toEqual([
        'user_id',
        'id',
        'q"uote',
        'back\\slash',
        'secret',
      ]);
    } finally {
      await client.end();
    }
  });
});
