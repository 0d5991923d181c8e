/**
 * For each available Postgres major: a table with a column of every type (built-in scalars and
 * arrays, domains, an enum in a schema needing quotes and its array, a composite, ranges), rows
 * of edge values and NULLs. Each value's text, as the server's output function prints it under
 * Tributary's session settings (what pgoutput sends), is decoded with `TypeRegistry` (user types
 * registered through `loadTypeInfo`) and compared with facts Postgres computes independently
 * (every-type.facts.ts). every-type-through-the-stream.test.ts checks the same values as they
 * arrive through logical replication.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTypeInfo } from '../../src/source/postgres/values/type-catalog.js';
import { TypeRegistry } from '../../src/source/postgres/values/type-registry.js';
import { availableBinaries, PostgresCluster } from '../harness/postgres.js';
import { COLUMNS, type Column, columnsFor } from './every-type.columns.js';
import {
  applySessionSettings,
  createEveryTypeTable,
  expectValue,
  factsOf,
  factsSelect,
  insertEveryTypeRows,
  rawQuery,
  shownFacts,
  TABLE,
} from './every-type.facts.js';

describe.each(availableBinaries().map((b) => [b.label, b] as const))(
  'decoding every type on %s',
  (_label, binaries) => {
    let cluster: PostgresCluster;
    let client: pg.Client;
    const registry = new TypeRegistry();
    let columns: Column[] = [];
    const typeOf = new Map<string, number>();

    beforeAll(async () => {
      cluster = await PostgresCluster.start({ binaries });
      client = await cluster.connect();
      await applySessionSettings(client);
      columns = columnsFor(binaries.major);
      await createEveryTypeTable(client, columns);
      await insertEveryTypeRows(client, columns);
      const types = await client.query<{ name: string; oid: number }>(
        `SELECT attname AS name, atttypid AS oid FROM pg_attribute
          WHERE attrelid = '${TABLE}'::regclass AND attnum > 0`,
      );
      for (const t of types.rows) typeOf.set(t.name, t.oid);
      registry.registerAll(await loadTypeInfo(client, registry.unknownOids([...typeOf.values()])));
    });

    afterAll(async () => {
      await client?.end();
      await cluster?.stop();
    });

    it('loads every user type a column needs, recursively, in one call', () => {
      expect(registry.unknownOids([...typeOf.values()])).toEqual([]);
    });

    it.each(COLUMNS.map((c) => [c.name, c.type] as const))(
      '%s (%s) decodes to what Postgres says',
      async (name) => {
        const column = columns.find((c) => c.name === name)!;
        const decode = registry.decoderFor(typeOf.get(name)!);
        const rows = await rawQuery(
          client,
          `SELECT id, ${name} AS raw, ${factsSelect(column)} FROM ${TABLE} ORDER BY id`,
        );
        for (const row of rows) {
          const raw = row.raw ?? null;
          const facts = factsOf(row, column);
          if (raw === null) expect(column.values[Number(row.id)] ?? null, `row ${row.id}`).toBeNull();
          try {
            expectValue(column.check, raw === null ? null : decode(raw), facts);
          } catch (error) {
            throw new Error(
              `${name} row ${row.id}: text ${JSON.stringify(raw?.slice(0, 200))}, facts ${shownFacts(facts)}: ${(error as Error).message}`,
            );
          }
        }
      },
    );
  },
);
