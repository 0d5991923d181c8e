/**
 * Widening end to end from a real Postgres (the real PostgresSource into a ClickHouse warehouse
 * on chdb): rows that fit are loaded, then 'infinity' arrives in a timestamptz column, a date
 * before 1900, NaN in a numeric(10,2) and a 2-D array in an int[]. Every column is widened and
 * the text each row reads as equals what Postgres itself prints for the value in the widened
 * form (docs/clickhouse.md): `numeric::text`, the date and the UTC timestamp through to_char,
 * the array as JSON of its elements' texts.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamItem } from '../../../src/core/change-event.js';
import { ClickHouseWarehouse } from '../../../src/warehouse/clickhouse/clickhouse-warehouse.js';
import { useCluster } from '../../harness/use-cluster.js';
import { freshClickHouse, type TestClickHouse } from '../../helpers/clickhouse.js';
import { waitFor } from '../../helpers/events.js';
import { type RunningSource, startSource } from '../../helpers/in-process-source.js';

/** What Postgres prints for each column, in the widened text's form. */
const POSTGRES_TEXT = `SELECT id,
  CASE WHEN isfinite(ts) THEN to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') ELSE ts::text END AS ts,
  CASE WHEN isfinite(d) THEN to_char(d, 'YYYY-MM-DD') ELSE d::text END AS d,
  n::text AS n,
  CASE WHEN array_ndims(a) = 1 THEN (SELECT json_agg(x::text ORDER BY i) FROM unnest(a) WITH ORDINALITY AS u(x, i))::text END AS a
  FROM widen_me ORDER BY id`;

describe('ClickHouse widening, values from a real Postgres', () => {
  const cluster = useCluster();
  let client: pg.Client;
  let running: RunningSource;
  let ch: TestClickHouse;
  let wh: ClickHouseWarehouse;
  let applied = 0;

  /** Waits until the source sent `changes` changes in all, and applies every item not applied yet. */
  const deliver = async (changes: number) => {
    await waitFor('the changes', () => running.target.changes().length >= changes);
    await waitFor('the commit', () => running.target.items.at(-1)?.kind === 'commit');
    const items: StreamItem[] = running.target.items.slice(applied);
    applied += items.length;
    await wh.apply(items);
  };

  beforeAll(async () => {
    client = await cluster().connect();
    await client.query(
      'CREATE TABLE widen_me (id int PRIMARY KEY, ts timestamptz, d date, n numeric(10,2), a int[])',
    );
    running = await startSource(cluster(), { slot: 'widen_me' });
    ch = await freshClickHouse('widenpg');
    wh = await ClickHouseWarehouse.open(ch.url);
  });

  afterAll(async () => {
    await running?.stop();
    await wh?.close();
    await ch?.drop();
    await client?.end();
  });

  it('widens each column mid-stream; every row reads as the text Postgres prints', async () => {
    await client.query(`INSERT INTO widen_me VALUES
      (1, '2024-02-29 12:34:56.789012+02', '2024-02-29', 12.5, '{1,NULL,-3}'),
      (2, '1969-12-31 23:59:59.999999+00', '1900-01-01', -3, '{}'),
      (3, NULL, NULL, NULL, NULL)`);
    await deliver(3);
    const types = async () =>
      Object.fromEntries(
        (
          await ch.rows<{ name: string; type: string }>(
            "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = '_tributary_rows_widen_me'",
            { db: ch.database },
          )
        ).map((r) => [r.name, r.type]),
      );
    expect(await types()).toMatchObject({ ts: "Nullable(DateTime64(6, 'UTC'))", d: 'Nullable(Date32)' });

    await client.query(`INSERT INTO widen_me VALUES
      (4, 'infinity', '1850-03-04', 'NaN', '{{1,2},{3,4}}'),
      (5, '-infinity', '-infinity', 0.1, '{7}')`);
    await client.query(`UPDATE widen_me SET n = 99.90 WHERE id = 1`);
    await deliver(6);
    expect(await types()).toMatchObject({
      ts: 'Nullable(String)',
      d: 'Nullable(String)',
      n: 'Nullable(String)',
      a: 'Nullable(String)',
    });

    const expected = (await client.query<Record<string, string | number | null>>(POSTGRES_TEXT)).rows;
    const held = await ch.rows<Record<string, string | number | null>>(
      'SELECT id, ts, d, n, a FROM widen_me ORDER BY id',
    );
    expect(held.map(({ a: _, ...r }) => r)).toEqual(expected.map(({ a: _, ...r }) => r));
    // arrays: JSON of the element texts (Postgres' json_agg spaces them differently); a NULL
    // array (its presence flag 0) widens to NULL, an empty one to []
    const arrays = held.map((r) => (r.a === null ? null : JSON.parse(String(r.a))));
    expect(expected[2]?.a).toBeNull();
    expect(arrays).toEqual([
      JSON.parse(String(expected[0]?.a)),
      [],
      null,
      [
        ['1', '2'],
        ['3', '4'],
      ],
      ['7'],
    ]);
  });
});
