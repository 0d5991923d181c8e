/**
 * The first copy into ClickHouse from Postgres' CSV files (snapshot-csv.ts) against the row path
 * it replaces: the same Postgres tables copied by two first runs, one with CSV files (the
 * default) and one reading every chunk as rows (`csv: false`), into two ClickHouse databases.
 * Every view must be the same, value for value (NULLs, empty strings, quotes, line breaks, commas,
 * unicode, extreme numbers and dates, each type the file path reads, enums, domains and
 * composites), with the same storage
 * types (a value that does not fit widens its column either way), and the copy's rows must carry
 * the snapshot's LSN and version. The file path must actually have been taken where it can be,
 * and left where it cannot (a value that does not fit its column).
 */
import { describe, expect, it } from 'vitest';
import { ClickHouseWarehouse } from '../../src/warehouse/clickhouse/clickhouse-warehouse.js';
import { quoteName } from '../../src/warehouse/clickhouse/connect.js';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { freshClickHouse, type TestClickHouse } from '../helpers/clickhouse.js';
import { startPipeline } from '../pipeline/in-process-pipeline.js';

const TABLES = ['csv_types', 'csv_unfit', 'csv_keyless', 'csv_backslash'] as const;

const SETUP = `
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy, "very"');
CREATE DOMAIN posint AS int4 CHECK (VALUE > 0);
CREATE DOMAIN price AS numeric(10,2);
CREATE DOMAIN day AS date;
CREATE TYPE pair AS (a int, b text);
CREATE TABLE csv_types (
  id int PRIMARY KEY, i2 int2, i8 int8, o oid, b bool, f4 real, f8 double precision,
  n numeric(12,4), nu numeric, nbig numeric(80,3), nneg numeric(3,-2), nfrac numeric(2,4),
  u uuid, d date, ts timestamp, tz timestamptz, tm time,
  t text, vc varchar(40), bc char(5), nm name, j json, jb jsonb, by bytea, ip inet, r int4range,
  e mood, pi posint, pr price, dd day, cp pair
);
INSERT INTO csv_types (id) VALUES (1);
INSERT INTO csv_types (id, t, vc, bc, j, jb, by) VALUES (2, '', '', '', '""', '{}', '\\x');
INSERT INTO csv_types (id, t, vc, nm, j, jb) VALUES
  (3, E'a,b "quoted" \\n line\\r\\n crlf', ' lead', 'trail ', '{"k": "v,\\"q\\"", "k": 1.50}', '{"b": [1, "x\\ny"], "a": null}'),
  (4, E'\\ttab\\t', 'héllo 日本 🎉', 'NULL', '[1e400, 0.10]', '"\\u00e9"'),
  (5, '''single''', '"', ',', 'null', '1'),
  (6, E'\\\\.', 'N', '\\', '{}', '[]'),
  (7, E'x\\r', E'\\n', ' ', '0', '0');
INSERT INTO csv_types (id, i2, i8, o, b, f4, f8, n, nu, nbig, nneg, nfrac, u, d, ts, tz, tm) VALUES
  (10, -32768, -9223372036854775808, 4294967295, true, '3.4028235e38', '1.7976931348623157e308',
   99999999.9999, '123456789012345678901234567890.123456789', (repeat('9', 77) || '.999')::numeric, 99900, 0.0099,
   'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '1900-01-01', '1900-01-01 00:00:00', '1900-01-01 00:00:00+00', '24:00:00'),
  (11, 32767, 9223372036854775807, 0, false, '1e-45', '5e-324', -99999999.9999, 'NaN', ('-' || repeat('9', 77) || '.001')::numeric, -99900, -0.0001,
   '00000000-0000-0000-0000-000000000000', '2299-12-31', '2299-12-31 23:59:59.999999', '2299-12-31 23:59:59.999999+00', '00:00:00.000001'),
  (12, 0, 0, 1, true, 'NaN', 'NaN', 0, '-0.000', 0, 0, 0,
   'ffffffff-ffff-ffff-ffff-ffffffffffff', '1969-12-31', '1969-12-31 23:59:59.5', '1969-12-31 23:59:59.000001+00', '12:34:56.5'),
  (13, -1, -1, 2, false, '-Infinity', '-Infinity', 0.0001, '1e-20', 1.5, 100, 0.0010,
   'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', '1970-01-01', '1970-01-01 00:00:00', '2024-02-29 12:00:00.123+05:30', '23:59:59.999999'),
  (14, 1, 1, 3, true, '-0', '-0', -0.5, '-Infinity', -0.5, -100, 0.0050, NULL, '2024-02-29', '2024-02-29 00:00:00.1', '2000-01-01 00:00:00+00', '00:00:00'),
  (15, 2, 2, 4, false, '0.1', '0.1', 1, 'Infinity', 1, 0, 0, NULL, NULL, NULL, NULL, NULL),
  (16, 3, 3, 5, NULL, '16777217', '0.30000000000000004', 2, '0.1', 2, 0, 0, NULL, NULL, NULL, NULL, NULL),
  (17, 4, 4, 6, NULL, '1.17549435e-38', '2.2250738585072014e-308', 3, '7', 3, 0, 0, NULL, NULL, NULL, NULL, NULL),
  (18, 5, 5, 7, NULL, '1.4e-45', '4.9e-324', 4, '8', 4, 0, 0, NULL, NULL, NULL, NULL, NULL);
INSERT INTO csv_types (id, by, ip, r, f8, t) VALUES
  (20, '\\x00ff10', '192.168.0.1/24', '[1,5)', 1e300, repeat('long text, ', 500)),
  (21, '\\xdeadbeef', '::1', 'empty', -1e-300, NULL);
INSERT INTO csv_types (id, i2, i8, o, b, f4, f8, n, nu, u, d, ts, tz, tm, t, vc, j, by, e, pi, pr, dd, cp)
SELECT g, (g % 30000)::int2, g * 1000003, g, g % 2 = 0, g / 7.0, g / 3.0, g / 8.0, (g / 9.0)::numeric(20,7)::text::numeric,
       md5(g::text)::uuid, date '1999-12-31' + g, timestamp '2000-01-01' + g * interval '1.000001 second',
       timestamptz '2000-01-01 00:00:00+00' - g * interval '3 days 1 microsecond', time '00:00:00' + g * interval '1.5 second',
       CASE WHEN g % 11 = 0 THEN NULL WHEN g % 13 = 0 THEN '' ELSE 'row ' || g || E', "q"\\n' END,
       repeat('é', g % 5), json_build_object('g', g, 's', 'a,b'), decode(md5(g::text), 'hex'),
       (enum_range(NULL::mood))[1 + g % 3], g, g / 8.0, date '2000-01-01' + g, ROW(g, 'x, "y"')::pair
  FROM generate_series(100, 2100) g;

CREATE TABLE csv_unfit (id int PRIMARY KEY, d date, ts timestamptz, note text);
-- in heap order (chunks are page ranges): a date before 1900 in the third chunk, a timestamp
-- before 1900 in the fifth, infinity in the last
INSERT INTO csv_unfit SELECT g,
    CASE g WHEN 900 THEN date '1800-01-01' WHEN 1950 THEN date 'infinity' ELSE date '2000-01-01' + g END,
    CASE g WHEN 1700 THEN timestamptz '1850-06-01 00:00:00+00' ELSE timestamptz '2000-01-01 00:00:00+00' + g * interval '1 hour' END,
    'n' || g
  FROM generate_series(1, 2000) g;

CREATE TABLE csv_keyless (a int, t text);
ALTER TABLE csv_keyless REPLICA IDENTITY FULL;
INSERT INTO csv_keyless SELECT g % 100, CASE WHEN g % 7 = 0 THEN NULL ELSE 'k' || (g % 10) END FROM generate_series(1, 2000) g;

CREATE TABLE csv_backslash (id int PRIMARY KEY, t text);
INSERT INTO csv_backslash SELECT g, CASE g WHEN 500 THEN '\\N' WHEN 1600 THEN 'C:\\New folder' ELSE 'b' || g END
  FROM generate_series(1, 2000) g;
ANALYZE;
`;

interface Copied {
  /** Per table: the view's rows (without the metadata columns), ordered, as JSON text. */
  readonly views: Map<string, string[]>;
  /** Per table: the storage's columns and types. */
  readonly types: Map<string, string[]>;
  /** Per table: the distinct `_tributary_lsn`, and `_tributary_version` of the storage. */
  readonly lsns: Map<string, string[]>;
  readonly versions: Map<string, string[]>;
  readonly snapshotLsn: Map<string, string>;
  /** Per table: the rows loaded from files and converted by ClickHouse. */
  readonly fileRows: Map<string, { rows: number; converted: number; chunks: number }>;
}

async function firstCopy(cluster: Parameters<typeof startPipeline>[0], csv: boolean): Promise<Copied> {
  const ch: TestClickHouse = await freshClickHouse(csv ? 'csv_on' : 'csv_off');
  const slot = csv ? 'csv_on' : 'csv_off';
  const pipeline = await startPipeline(
    cluster,
    { slot, tables: TABLES.map((name) => ({ schema: 'public', name })), snapshot: { csv, chunkRows: 400 } },
    (types) => ClickHouseWarehouse.open(ch.url, { typeInfo: (oid) => types.info(oid) }),
  );
  try {
    await pipeline.jobsDone(TABLES.length);
    const copied: Copied = {
      views: new Map(),
      types: new Map(),
      lsns: new Map(),
      versions: new Map(),
      snapshotLsn: new Map(),
      fileRows: new Map(),
    };
    for (const job of (await pipeline.warehouse.snapshotJobs?.()) ?? []) {
      copied.snapshotLsn.set(job.table.name, String(job.snapshotLsn));
    }
    for (const table of TABLES) {
      const rows = await ch.rows(
        `SELECT * EXCEPT (_tributary_lsn, _tributary_synced_at) FROM ${quoteName(table)} ORDER BY ALL`,
      );
      copied.views.set(
        table,
        rows.map((r) => JSON.stringify(r)),
      );
      const storage = `_tributary_rows_${table}`;
      const columns = await ch.rows<{ name: string; type: string }>(
        'SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {t:String} ORDER BY position',
        { t: storage },
      );
      copied.types.set(
        table,
        columns.map((c) => `${c.name} ${c.type}`),
      );
      const lsns = await ch.rows<{ v: string }>(
        `SELECT DISTINCT toString(_tributary_lsn) AS v FROM ${quoteName(table)} ORDER BY v`,
      );
      copied.lsns.set(
        table,
        lsns.map((r) => r.v),
      );
      const versions = await ch.rows<{ v: string }>(
        `SELECT DISTINCT toString(_tributary_version) AS v FROM ${quoteName(storage)} ORDER BY v`,
      );
      copied.versions.set(
        table,
        versions.map((r) => r.v),
      );
      const files = pipeline.files.filter((f) => f.table === table);
      copied.fileRows.set(table, {
        rows: files.reduce((n, f) => n + f.rows, 0),
        converted: files.reduce((n, f) => n + f.converted, 0),
        chunks: files.length,
      });
    }
    return copied;
  } finally {
    await pipeline.stop();
    await ch.drop();
  }
}

describe('the first copy into ClickHouse from CSV files', () => {
  const cluster = useCluster({ binaries: newestBinaries(), setup: (c) => c.sql(SETUP) });

  it('gives the row path’s views value for value, takes the file path where it is exact and leaves it where not', async () => {
    const fromFiles = await firstCopy(cluster(), true);
    const fromRows = await firstCopy(cluster(), false);
    const counts = new Map<string, number>();
    for (const table of TABLES) {
      const [row] = await cluster().sql<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`);
      counts.set(table, Number(row?.n));
    }
    for (const table of TABLES) {
      const rows = fromRows.views.get(table) ?? [];
      expect(rows.length, table).toBe(counts.get(table));
      expect(fromFiles.views.get(table), table).toEqual(rows);
      expect(fromFiles.types.get(table), table).toEqual(fromRows.types.get(table));
      // rows copied at C: _tributary_lsn C, version C << 64
      const c = BigInt(fromFiles.snapshotLsn.get(table) ?? '0');
      expect(fromFiles.lsns.get(table), table).toEqual([c.toString()]);
      expect(fromFiles.versions.get(table), table).toEqual([(c << 64n).toString()]);
      expect(fromRows.fileRows.get(table)?.chunks, table).toBe(0);
    }
    // every chunk of these from its file, converted by ClickHouse (the text \N included)
    for (const table of ['csv_types', 'csv_keyless', 'csv_backslash']) {
      const files = fromFiles.fileRows.get(table);
      expect(files?.rows, table).toBe(counts.get(table));
      expect(files?.converted, table).toBe(counts.get(table));
      expect(files?.chunks, table).toBeGreaterThan(1);
    }
    // the chunk holding a date before 1900 went as rows (and widened the column, so the chunks
    // after it too); those before it as files; both columns widened
    const unfit = fromFiles.fileRows.get('csv_unfit');
    expect(unfit?.rows).toBeGreaterThan(0);
    expect(unfit?.rows).toBeLessThan(counts.get('csv_unfit') ?? 0);
    expect(fromFiles.types.get('csv_unfit')).toContain('d Nullable(String)');
    expect(fromFiles.types.get('csv_unfit')).toContain('ts Nullable(String)');
    expect(fromFiles.views.get('csv_unfit')).toContain(
      JSON.stringify({ id: 900, d: '1800-01-01', ts: '2000-02-07 12:00:00.000000', note: 'n900' }),
    );
    expect(fromFiles.views.get('csv_backslash')).toContain(JSON.stringify({ id: 500, t: '\\N' }));
  }, 300_000);
});
