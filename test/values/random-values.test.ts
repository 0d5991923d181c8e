/**
 * For each available Postgres major: the static built-in type table agrees with pg_catalog,
 * `loadTypeInfo` reads user types as the registry needs them, and thousands of random values of
 * the types with the most arithmetic in their decoding (floats, dates, times, timestamps,
 * intervals) decode to exactly what Postgres computes from the same values.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PgDate, PgInterval, PgTime, PgTimestamp, PgTimestampTz } from '../../src/core/values.js';
import { SESSION_SETTINGS } from '../../src/source/postgres/session-settings.js';
import { BUILTIN_TYPES } from '../../src/source/postgres/values/builtin-types.js';
import { decodeDate } from '../../src/source/postgres/values/date.js';
import { decodeFloat4, decodeFloat8 } from '../../src/source/postgres/values/floats.js';
import { decodeInterval } from '../../src/source/postgres/values/interval.js';
import { decodeTime } from '../../src/source/postgres/values/time.js';
import { decodeTimestamp, decodeTimestampTz } from '../../src/source/postgres/values/timestamp.js';
import { loadTypeInfo } from '../../src/source/postgres/values/type-catalog.js';
import { availableBinaries, PostgresCluster } from '../harness/postgres.js';

const RAW = { getTypeParser: () => (text: string) => text } as unknown as pg.CustomTypesConfig;
const N = 20_000;

function hexOf(value: number, bytes: 4 | 8): string {
  const view = new DataView(new ArrayBuffer(bytes));
  if (bytes === 4) view.setFloat32(0, value);
  else view.setFloat64(0, value);
  return Buffer.from(view.buffer).toString('hex');
}

describe.each(availableBinaries().map((b) => [b.label, b] as const))('on %s', (_label, binaries) => {
  let cluster: PostgresCluster;
  let client: pg.Client;
  const rows = async (text: string, values: unknown[] = []) =>
    (await client.query<Record<string, string>>({ text, values, types: RAW })).rows;

  beforeAll(async () => {
    cluster = await PostgresCluster.start({ binaries });
    client = await cluster.connect();
    for (const [name, value] of Object.entries(SESSION_SETTINGS)) {
      await client.query('SELECT set_config($1, $2, false)', [name, value]);
    }
    await client.query('SELECT setseed(0.42)');
  });

  afterAll(async () => {
    await client?.end();
    await cluster?.stop();
  });

  it('has every built-in type of pg_catalog, with its name, delimiter and array', async () => {
    const catalog = await client.query<{
      oid: number;
      typname: string;
      typdelim: string;
      typarray: number;
      typelem: number;
      is_array: boolean;
    }>(
      `SELECT oid, typname, typdelim, typarray, typelem, typoutput = 'array_out'::regproc AS is_array
         FROM pg_type WHERE oid < 10000 ORDER BY oid`,
    );
    for (const t of catalog.rows) {
      const builtin = BUILTIN_TYPES.get(t.oid);
      expect(builtin, `${t.oid} ${t.typname}`).toBeDefined();
      if (t.is_array) {
        expect(builtin?.elementOid, t.typname).toBe(t.typelem);
      } else {
        expect(builtin?.name).toBe(t.typname);
        expect(builtin?.delimiter, t.typname).toBe(t.typdelim);
        // Row types of shared catalogs have arrays numbered by initdb (10000 and up).
        expect(builtin?.arrayOid ?? 0, t.typname).toBe(t.typarray < 10000 ? t.typarray : 0);
      }
    }
    const known = new Set(catalog.rows.map((t) => t.oid));
    const missing = [...BUILTIN_TYPES.keys()].filter((oid) => !known.has(oid));
    expect(missing).toEqual([]);
  });

  it('loads user types with their kind, schema, base, element and delimiter', async () => {
    await client.query(`CREATE SCHEMA "Odd Schema"`);
    await client.query(`CREATE TYPE "Odd Schema"."Mood" AS ENUM ('a', 'b')`);
    await client.query('CREATE DOMAIN frame AS box');
    await client.query('CREATE DOMAIN frames AS frame[]');
    await client.query('CREATE DOMAIN more_frames AS frames');
    await client.query('CREATE TYPE pair AS (a int, b text)');
    await client.query('CREATE TYPE floatrange AS RANGE (subtype = float8)');
    const oid = async (name: string) =>
      Number((await client.query<{ oid: number }>('SELECT $1::regtype::oid AS oid', [name])).rows[0]!.oid);
    const mood = await oid('"Odd Schema"."Mood"');
    const moodArray = await oid('"Odd Schema"."Mood"[]');
    const frame = await oid('frame');
    const frameArray = await oid('frame[]');
    const frames = await oid('frames');
    const moreFrames = await oid('more_frames');
    const pair = await oid('pair');
    const range = await oid('floatrange');
    const multirange = await oid('floatmultirange');
    const infos = await loadTypeInfo(client, [
      moodArray,
      moreFrames,
      pair,
      range,
      multirange,
      23,
      987_654_321,
    ]);
    const byOid = new Map(infos.map((i) => [i.oid, i]));
    expect(byOid.get(moodArray)).toMatchObject({
      schema: 'Odd Schema',
      name: '_Mood',
      kind: 'array',
      elementOid: mood,
    });
    expect(byOid.get(mood)).toMatchObject({
      schema: 'Odd Schema',
      name: 'Mood',
      kind: 'enum',
      delimiter: ',',
    });
    expect(byOid.get(moreFrames)).toMatchObject({ kind: 'domain', baseTypeOid: frames });
    expect(byOid.get(frames)).toMatchObject({ kind: 'domain', baseTypeOid: frameArray });
    expect(byOid.get(frameArray)).toMatchObject({ kind: 'array', elementOid: frame });
    expect(byOid.get(frame)).toMatchObject({ kind: 'domain', baseTypeOid: 603, delimiter: ';' });
    expect(byOid.get(pair)).toMatchObject({ schema: 'public', kind: 'composite' });
    expect(byOid.get(range)).toMatchObject({ kind: 'range' });
    expect(byOid.get(multirange)).toMatchObject({ kind: 'multirange' });
    expect(byOid.has(23)).toBe(false);
    expect(byOid.has(987_654_321)).toBe(false);
    expect(infos).toHaveLength(9);
    expect(await loadTypeInfo(client, [])).toEqual([]);
  });

  it('decodes random real values to the exact float4 bits', async () => {
    const result = await rows(
      `SELECT f::text AS t, encode(float4send(f), 'hex') AS hex FROM (
         SELECT ((floor(random() * 16777216) * (CASE WHEN random() < 0.5 THEN -1 ELSE 1 END))::float8
                 * 2.0::float8 ^ (floor(random() * 254) - 149))::float4 AS f
           FROM generate_series(1, $1::int)) s`,
      [N],
    );
    for (const { t, hex } of result) {
      const value = decodeFloat4(t!);
      expect(hexOf(value, 4), t).toBe(hex);
      expect(Math.fround(value), t).toBe(value); // a float32 already, not a double near one
    }
  });

  it('decodes random double precision values to the exact float8 bits', async () => {
    const result = await rows(
      `SELECT f::text AS t, encode(float8send(f), 'hex') AS hex FROM (
         SELECT (floor(random() * 9007199254740992) * (CASE WHEN random() < 0.5 THEN -1 ELSE 1 END))::float8
                 * 2.0::float8 ^ (floor(random() * 2046) - 1074) AS f
           FROM generate_series(1, $1::int)) s`,
      [N],
    );
    for (const { t, hex } of result) expect(hexOf(decodeFloat8(t!), 8), t).toBe(hex);
  });

  it('decodes random dates, times and timestamps over their whole range', async () => {
    // 2451545 days span 4713 BC .. 294276 AD with a margin; times at microsecond resolution.
    const result = await rows(
      `SELECT d::text AS d, (d - date '1970-01-01')::text AS days,
              t::text AS t, (extract(epoch from t) * 1000000)::bigint::text AS t_micros,
              ts::text AS ts, tstz::text AS tstz,
              ((ts::date - date '1970-01-01')::numeric * 86400000000
                 + (extract(epoch from ts::time) * 1000000)::bigint)::text AS ts_micros
         FROM (SELECT d, t, d + t AS ts, (d + t) AT TIME ZONE 'UTC' AS tstz
                 FROM (SELECT date '4713-11-24 BC' + floor(random() * 109203000)::int AS d,
                              time '00:00' + floor(random() * 86400000000)::bigint * interval '1 microsecond' AS t
                         FROM generate_series(1, $1::int)) s0) s`,
      [N],
    );
    for (const r of result) {
      expect((decodeDate(r.d!) as PgDate).days, r.d).toBe(Number(r.days));
      expect((decodeTime(r.t!) as PgTime).micros, r.t).toBe(BigInt(r.t_micros!));
      expect((decodeTimestamp(r.ts!) as PgTimestamp).micros, r.ts).toBe(BigInt(r.ts_micros!));
      expect((decodeTimestampTz(r.tstz!) as PgTimestampTz).micros, r.tstz).toBe(BigInt(r.ts_micros!));
    }
  });

  it('decodes random intervals with mixed signs to their stored fields', async () => {
    const result = await rows(
      `SELECT i::text AS t, (extract(year from i) * 12 + extract(month from i))::text AS months,
              extract(day from i)::text AS days,
              trunc(extract(hour from i) * 3600000000 + extract(minute from i) * 60000000
                    + extract(microseconds from i))::text AS micros
         FROM (SELECT make_interval(
                        years => (floor(random() * 20000) - 10000)::int * (random() < 0.3)::int,
                        months => (floor(random() * 30) - 15)::int * (random() < 0.5)::int,
                        days => (floor(random() * 2000000) - 1000000)::int * (random() < 0.5)::int)
                      + floor((random() - 0.5) * 2e15)::bigint * (random() < 0.8)::int * interval '1 microsecond' AS i
                 FROM generate_series(1, $1::int)) s`,
      [N],
    );
    for (const r of result) {
      const value = decodeInterval(r.t!) as PgInterval;
      expect([value.months, value.days, value.micros], r.t).toEqual([
        Number(r.months),
        Number(r.days),
        BigInt(r.micros!),
      ]);
    }
  });
});
