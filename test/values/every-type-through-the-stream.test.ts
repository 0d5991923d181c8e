/**
 * Every type, edge values included, through the real replication stream: for each available
 * Postgres major, a `PostgresSource` streams the every-type table (every-type.columns.ts: built-in
 * scalars and arrays, domains, an enum in a schema needing quotes and its array, a composite,
 * ranges, ...) into a MemoryTarget while the rows are inserted (and a row of NULLs), one row has
 * several typed columns updated (to edge values, to NULL and from NULL), a row holding an
 * out-of-line value has another column updated, and one row is deleted. Every decoded value in
 * every insert and update, and the delete's key, must exactly equal the facts Postgres computes
 * for the row as it was at that point (every-type.facts.ts: float bits, bytea hex, day offsets,
 * exact microseconds, interval fields, numeric text and scale, array shape and elements, ...).
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeEvent, TableSchema } from '../../src/core/change-event.js';
import { itemToJson } from '../../src/core/event-json.js';
import { silentLogger } from '../../src/core/logger.js';
import { PostgresSource } from '../../src/source/postgres/postgres-source.js';
import { parseSourceUrl } from '../../src/source/postgres/setup/connection-config.js';
import { availableBinaries, PostgresCluster } from '../harness/postgres.js';
import { waitFor } from '../helpers/events.js';
import { MemoryTarget } from '../helpers/memory-target.js';
import {
  ALL_BYTES,
  BIG_TEXT,
  COLUMNS,
  type Column,
  columnsFor,
  DELETED_ROW,
  EDGE_UPDATE,
  UPDATED_ROW,
} from './every-type.columns.js';
import {
  applySessionSettings,
  createEveryTypeTable,
  expectValue,
  type Facts,
  insertEveryTypeRows,
  readFacts,
  rowCount,
  shownFacts,
  TABLE,
} from './every-type.facts.js';

const ID = { name: 'id', check: 'int' } as const;

/** Row 1 gets these: edge values, a value set to NULL (c_int2) and NULLs given values (c_macaddr). */

type FactsById = Map<number, Map<string, Facts>>;

function idOf(event: ChangeEvent): number {
  return event.pk?.id as number;
}

describe.each(availableBinaries().map((b) => [b.label, b] as const))(
  'every type through the replication stream on %s',
  (_label, binaries) => {
    let cluster: PostgresCluster;
    let client: pg.Client;
    let target: MemoryTarget;
    let controller: AbortController;
    let running: Promise<void> | undefined;
    let columns: Column[] = [];
    let rows = 0;
    let bigRow = -1;
    /** Facts of every row after the inserts, and of the updated rows after the updates. */
    let inserted: FactsById = new Map();
    let updated: FactsById = new Map();
    let changes: ChangeEvent[] = [];

    beforeAll(async () => {
      cluster = await PostgresCluster.start({ binaries });
      client = await cluster.connect();
      await applySessionSettings(client);
      columns = columnsFor(binaries.major);
      rows = rowCount(columns);
      bigRow = columns.find((c) => c.name === 'c_text')!.values.indexOf(BIG_TEXT);
      expect(bigRow).toBeGreaterThan(DELETED_ROW);
      await createEveryTypeTable(client, columns);
      await client.query(`ALTER TABLE ${TABLE} ALTER COLUMN c_text SET STORAGE EXTERNAL`);

      const source = new PostgresSource({
        connection: parseSourceUrl(cluster.url()),
        slot: 'types',
        publication: 'types',
        tables: [{ schema: 'public', name: TABLE }],
        logger: silentLogger(),
      });
      await source.prepare();
      target = new MemoryTarget();
      target.source = source;
      controller = new AbortController();
      let failure: unknown = null;
      running = source.run(target, controller.signal).catch((error: unknown) => {
        failure = error;
      });

      await client.query('BEGIN');
      await insertEveryTypeRows(client, columns);
      await client.query('COMMIT');
      const factColumns = [ID, ...columns];
      inserted = await readFacts(client, factColumns);

      const names = Object.keys(EDGE_UPDATE);
      await client.query(
        `UPDATE ${TABLE} SET ${names.map((n, i) => `${n} = $${i + 2}`).join(', ')} WHERE id = $1`,
        [UPDATED_ROW, ...Object.values(EDGE_UPDATE)],
      );
      await client.query(`UPDATE ${TABLE} SET c_int4 = -7 WHERE id = $1`, [bigRow]);
      updated = await readFacts(client, factColumns, `id IN (${UPDATED_ROW}, ${bigRow})`);
      await client.query(`DELETE FROM ${TABLE} WHERE id = $1`, [DELETED_ROW]);

      await waitFor('the delete', () => {
        if (failure) throw failure;
        return target.changes().some((e) => e.op === 'delete');
      });
      changes = target.changes();
    });

    afterAll(async () => {
      controller?.abort();
      await running;
      await client?.end();
      await cluster?.stop();
    });

    it('streams the schema, an insert per row, the two updates and the delete, in order', () => {
      expect(changes.map((e) => [e.op, idOf(e)])).toEqual([
        ...Array.from({ length: rows }, (_, id) => ['insert', id]),
        ['update', UPDATED_ROW],
        ['update', bigRow],
        ['delete', DELETED_ROW],
      ]);
      const schemas = target.items.flatMap((i) => (i.kind === 'schema' ? [i.schema] : []));
      expect(schemas).toHaveLength(1);
      const schema = schemas[0] as TableSchema;
      expect(schema.table).toEqual({ schema: 'public', name: TABLE });
      expect(schema.key).toEqual(['id']);
      expect(schema.columns.map((c) => c.name)).toEqual(['id', ...COLUMNS.map((c) => c.name)]);
    });

    it.each(COLUMNS.map((c) => [c.name, c.type] as const))(
      '%s (%s) arrives in every insert and update exactly as Postgres holds it',
      (name) => {
        const column = columns.find((c) => c.name === name)!;
        const events = changes.filter((e) => e.op !== 'delete');
        expect(events).toHaveLength(rows + 2);
        for (const event of events) {
          const id = idOf(event);
          const row = event.row!;
          const facts = (event.op === 'insert' ? inserted : updated).get(id)!.get(name)!;
          if (event.unchanged.includes(name)) {
            // Not sent: the value is the one the row had, and the update did not set it.
            expect(Object.hasOwn(row, name), `${name} of row ${id} is absent`).toBe(false);
            expect(event.op).toBe('update');
            expect(id === UPDATED_ROW && Object.hasOwn(EDGE_UPDATE, name)).toBe(false);
            expect(facts).toEqual(inserted.get(id)!.get(name));
            continue;
          }
          try {
            expect(Object.hasOwn(row, name), 'the column is in the row').toBe(true);
            expectValue(column.check, row[name], facts);
          } catch (error) {
            throw new Error(
              `${name} in the ${event.op} of row ${id}: facts ${shownFacts(facts)}: ${(error as Error).message}`,
            );
          }
        }
      },
    );

    it('carries the key of every insert and update as Postgres holds it', () => {
      for (const event of changes.filter((e) => e.op !== 'delete')) {
        const facts = (event.op === 'insert' ? inserted : updated).get(idOf(event))!.get('id')!;
        expectValue('int', event.row!.id, facts);
        expect(event.pk).toEqual(Object.assign(Object.create(null), { id: event.row!.id }));
      }
    });

    it('carries the row of NULLs with every column present and null', () => {
      const nulls = changes.find((e) => e.op === 'insert' && idOf(e) === rows - 1)!;
      expect(Object.keys(nulls.row!)).toEqual(['id', ...COLUMNS.map((c) => c.name)]);
      for (const c of COLUMNS) expect(nulls.row![c.name], c.name).toBeNull();
      expect(nulls.unchanged).toEqual([]);
    });

    it('carries the set columns of the first update, including the one set to NULL', () => {
      const update = changes.find((e) => e.op === 'update' && idOf(e) === UPDATED_ROW)!;
      expect(update.before).toBeNull();
      for (const name of Object.keys(EDGE_UPDATE)) expect(Object.hasOwn(update.row!, name), name).toBe(true);
      expect(update.row!.c_int2).toBeNull();
      expect(update.row!.c_macaddr).toBe('08:00:2b:01:02:03');
    });

    it('leaves an unchanged out-of-line value out of the update and names it in unchanged', () => {
      const update = changes.find((e) => e.op === 'update' && idOf(e) === bigRow)!;
      expect(update.unchanged).toEqual(['c_text']);
      expect(Object.hasOwn(update.row!, 'c_text')).toBe(false);
      expect(update.row!.c_int4).toBe(-7);
      const insert = changes.find((e) => e.op === 'insert' && idOf(e) === bigRow)!;
      expect(insert.row!.c_text).toBe(BIG_TEXT);
    });

    it('serializes every item as `tributary tail` prints it, keeping values exact as text', () => {
      const lines = target.items.map((item) => JSON.parse(JSON.stringify(itemToJson(item))));
      const rowOf = (id: number) =>
        lines.find((l) => l.kind === 'change' && l.op === 'insert' && l.pk.id === id).row;
      expect(rowOf(0)).toMatchObject({
        c_int8: '-9223372036854775808',
        c_float4: 'NaN',
        c_numeric: '0',
        c_bytea: ALL_BYTES,
        c_date: '-4712-11-24',
        c_timestamp: '-4712-11-24T00:00:00.000000',
        c_timestamptz: '-4712-11-24T00:00:00.000000Z',
        c_time: '00:00:00.000000',
        c_timetz: '12:00:00.000000+05:30',
        c_interval: 'P14M-3DT14706.789000S',
        c_json: '{"b": 1, "a": 12345678901234567890123}',
        c_enum: 'happy',
        a_int4: [1, 2, null],
        a_numeric: ['1.50', 'NaN', '-Infinity', null, '-0.001'],
      });
      expect(rowOf(1)).toMatchObject({ c_date: '+5874897-12-31', c_time: '24:00:00.000000' });
      expect(rowOf(3)).toMatchObject({ a_int4: '[0:1]={1,2}', c_numeric: 'Infinity' });
    });

    it('carries the key, and only the key, on delete', () => {
      const del = changes.find((e) => e.op === 'delete')!;
      expect(del.row).toBeNull();
      expect(del.unchanged).toEqual([]);
      expect(Object.keys(del.before!)).toEqual(['id']);
      expectValue('int', del.before!.id, inserted.get(DELETED_ROW)!.get('id')!);
      expect(del.pk).toEqual(Object.assign(Object.create(null), { id: DELETED_ROW }));
    });
  },
);
