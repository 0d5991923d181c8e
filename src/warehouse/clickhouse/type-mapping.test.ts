/**
 * The ClickHouse type mapping against a real ClickHouse engine (chdb, ClickHouse 26.7 in the
 * process): per type, edge values go in through `@clickhouse/client`'s JSONEachRow insert into a
 * column of the mapped type, come back through a JSONEachRow select with connect.ts's session
 * settings, and must decode to the very values that went in (compared in the JSON form of change
 * events, which is exact: -0, NaN, bigints and decimal text kept); random values across each
 * type's range too; and the engine facts the mapping argues from. Refusals and widenings:
 * unfit-values.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshClickHouse, type TestClickHouse } from '../../../test/helpers/clickhouse.js';
import {
  big,
  column,
  day,
  exact,
  lookup,
  micros,
  numericMod,
  roundTrip,
} from '../../../test/helpers/clickhouse-types.js';
import { xorshift } from '../../../test/helpers/random.js';
import type { ColumnSchema } from '../../core/change-event.js';
import {
  Decimal,
  INT64_MAX,
  INT64_MIN,
  PgDate,
  PgInterval,
  PgJson,
  PgTime,
  PgTimestamp,
  PgTimestampTz,
  PgTimeTz,
  type Value,
} from '../../core/values.js';
import {
  DATE32_MAX_DAYS,
  DATE32_MIN_DAYS,
  DATETIME64_MAX_MICROS,
  DATETIME64_MIN_MICROS,
} from './scalar-codecs.js';
import { clickhouseType } from './type-mapping.js';

interface Case {
  readonly column: ColumnSchema;
  readonly sql: string;
  readonly values: readonly Value[];
}

const CASES: readonly Case[] = [
  { column: column('int2', 21), sql: 'Int16', values: [0, -32_768, 32_767] },
  { column: column('int4', 23), sql: 'Int32', values: [-2_147_483_648, 2_147_483_647, 0] },
  { column: column('int8', 20), sql: 'Int64', values: [INT64_MIN, INT64_MAX, 0n, -1n] },
  { column: column('oid', 26), sql: 'UInt32', values: [0, 4_294_967_295] },
  { column: column('xid8', 5069), sql: 'UInt64', values: [0n, 2n ** 64n - 1n] },
  {
    column: column('float4', 700),
    sql: 'Float32',
    values: [
      Math.fround(0.1),
      3.4028234663852886e38,
      1.401298464324817e-45,
      Number.NaN,
      Infinity,
      -Infinity,
      1.5,
    ],
  },
  {
    column: column('float8', 701),
    sql: 'Float64',
    values: [0.1, 5e-324, Number.MAX_VALUE, -Number.MAX_VALUE, Number.NaN, Infinity, -Infinity, 1e21, 1e-7],
  },
  {
    column: column('numeric', 1700),
    sql: 'String',
    values: ['NaN', 'Infinity', '-Infinity', big(1000), `-0.${'0'.repeat(200)}1`, '12.3400', '0'].map(
      (t) => new Decimal(t),
    ),
  },
  {
    column: column('numeric_12_4', 1700, numericMod(12, 4)),
    sql: 'Decimal(12, 4)',
    values: ['-12.5000', '0.0000', '99999999.9999', '-0.0001', '7.0000'].map((t) => new Decimal(t)),
  },
  {
    column: column('numeric_76_38', 1700, numericMod(76, 38)),
    sql: 'Decimal(76, 38)',
    values: [`${big(38)}.${big(38)}`, `-${big(38)}.${'0'.repeat(37)}1`].map((t) => new Decimal(t)),
  },
  {
    column: column('numeric_76_0', 1700, numericMod(76, 0)),
    sql: 'Decimal(76, 0)',
    values: [big(76), `-${big(76)}`, '0'].map((t) => new Decimal(t)),
  },
  {
    column: column('numeric_77_2', 1700, numericMod(77, 2)),
    sql: 'String',
    values: [new Decimal(`${big(75)}.99`)],
  },
  {
    column: column('numeric_3_neg2', 1700, numericMod(3, -2)),
    sql: 'Decimal(5, 0)',
    values: ['12300', '-99900', '0'].map((t) => new Decimal(t)),
  },
  {
    column: column('numeric_2_5', 1700, numericMod(2, 5)),
    sql: 'Decimal(5, 5)',
    values: ['0.00012', '-0.00099', '0.00000'].map((t) => new Decimal(t)),
  },
  { column: column('bool', 16), sql: 'Bool', values: [true, false] },
  {
    column: column('text', 25),
    sql: 'String',
    values: ['', 'ü∂ 😀 字', 'a\nb\t"\\\'`', ' x ', 'NULL', '\u0001\u007f', 'x'.repeat(100_000)],
  },
  { column: column('bpchar', 1042), sql: 'String', values: ['ab  ', ' '] },
  {
    column: column('bytea', 17),
    sql: 'String',
    values: [new Uint8Array([]), new Uint8Array([0, 1, 0x7f, 0x80, 0xff, 0x5c, 0x22])],
  },
  {
    column: column('uuid', 2950),
    sql: 'UUID',
    values: [
      '00000000-0000-0000-0000-000000000000',
      'ffffffff-ffff-ffff-ffff-ffffffffffff',
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    ],
  },
  {
    column: column('json', 114),
    sql: 'String',
    values: [
      '{"b":1,"a":[1.000000000000000000001, 12345678901234567890123]}',
      '"x"',
      'null',
      '{"a":1,"a":2}',
      '[]',
    ].map((t) => new PgJson(t)),
  },
  { column: column('jsonb', 3802), sql: 'String', values: [new PgJson('{"a": 1, "b": {"ü": null}}')] },
  {
    column: column('date', 1082),
    sql: 'Date32',
    values: [DATE32_MIN_DAYS, DATE32_MAX_DAYS, 0, -1, day(2000, 2, 29), day(1900, 3, 1)].map(
      (d) => new PgDate(d),
    ),
  },
  {
    column: column('timestamp', 1114),
    sql: "DateTime64(6, 'UTC')",
    values: [DATETIME64_MIN_MICROS, DATETIME64_MAX_MICROS, 0n, -1n, micros(2000, 2, 29, 45_296_789_012n)].map(
      (m) => new PgTimestamp(m),
    ),
  },
  {
    column: column('timestamptz', 1184),
    sql: "DateTime64(6, 'UTC')",
    values: [DATETIME64_MIN_MICROS, DATETIME64_MAX_MICROS, 1n, micros(2024, 12, 31, 86_399_999_999n)].map(
      (m) => new PgTimestampTz(m),
    ),
  },
  {
    column: column('time', 1083),
    sql: 'String',
    values: [0n, 86_400_000_000n, 45_296_789_012n].map((m) => new PgTime(m)),
  },
  {
    column: column('timetz', 1266),
    sql: 'String',
    values: [new PgTimeTz(0n, 50_400), new PgTimeTz(86_400_000_000n, -57_599), new PgTimeTz(1n, 30)],
  },
  {
    column: column('interval', 1186),
    sql: 'String',
    values: [
      new PgInterval(1, -2, -3_723_000_001n),
      new PgInterval(0, 0, 0n),
      new PgInterval(-14, 3, 1n),
      new PgInterval(2_147_483_647, 2_147_483_647, INT64_MAX),
      new PgInterval(-2_147_483_648, -2_147_483_648, INT64_MIN),
    ],
  },
  { column: column('money', 790), sql: 'String', values: ['$1,000.00', '-$0.01'] },
  { column: column('inet', 869), sql: 'String', values: ['192.168.0.1/24', '::1'] },
  { column: column('enum', 90_001), sql: 'String', values: ['happy', 'so so', 'ü{}"\\'] },
  { column: column('domain_int', 90_002), sql: 'Int32', values: [1, 2_147_483_647] },
  {
    column: column('domain_numeric', 90_005),
    sql: 'String',
    values: [new Decimal('NaN'), new Decimal('1.50')],
  },
  {
    column: column('a_int4', 1007),
    sql: 'Array(Nullable(Int32))',
    values: [[1, null, 3], [], [null], [-2_147_483_648]],
  },
  { column: column('a_int8', 1016), sql: 'Array(Nullable(Int64))', values: [[INT64_MIN, null, INT64_MAX]] },
  {
    column: column('a_text', 1009),
    sql: 'Array(Nullable(String))',
    values: [['a b', 'NULL', null, '{x}', '', 'ü"\\']],
  },
  {
    column: column('a_numeric', 1231, numericMod(10, 2)),
    sql: 'Array(Nullable(Decimal(10, 2)))',
    values: [[new Decimal('1.50'), null, new Decimal('-0.01'), new Decimal('99999999.99')]],
  },
  {
    column: column('a_numeric_free', 1231),
    sql: 'Array(Nullable(String))',
    values: [[new Decimal('NaN'), null]],
  },
  {
    column: column('a_float8', 1022),
    sql: 'Array(Nullable(Float64))',
    values: [[Number.NaN, -Infinity, 0.5, null, 5e-324]],
  },
  { column: column('a_bool', 1000), sql: 'Array(Nullable(Bool))', values: [[true, null, false]] },
  {
    column: column('a_date', 1182),
    sql: 'Array(Nullable(Date32))',
    values: [[new PgDate(0), null, new PgDate(DATE32_MAX_DAYS)]],
  },
  {
    column: column('a_timestamptz', 1185),
    sql: "Array(Nullable(DateTime64(6, 'UTC')))",
    values: [[new PgTimestampTz(micros(2000, 1, 1, 500_000n)), null]],
  },
  {
    column: column('a_uuid', 2951),
    sql: 'Array(Nullable(UUID))',
    values: [['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', null]],
  },
  {
    column: column('a_bytea', 1001),
    sql: 'Array(Nullable(String))',
    values: [[new Uint8Array([0xff, 0]), null]],
  },
  {
    column: column('a_json', 199),
    sql: 'Array(Nullable(String))',
    values: [[new PgJson('{"a":[1,2]}'), null]],
  },
  {
    column: column('a_interval', 1187),
    sql: 'Array(Nullable(String))',
    values: [[new PgInterval(1, 2, 3n), null]],
  },
  { column: column('a_time', 1183), sql: 'Array(Nullable(String))', values: [[new PgTime(1n), null]] },
  { column: column('a_enum', 90_006), sql: 'Array(Nullable(String))', values: [['happy', null, 'a,b']] },
  {
    column: column('a_int_list', 90_004),
    sql: 'Array(Array(Nullable(Int32)))',
    values: [[[1, 2], [3]], [[]], [[null]]],
  },
];

describe('the ClickHouse type mapping, through a real ClickHouse engine', () => {
  let ch: TestClickHouse;
  beforeAll(async () => {
    ch = await freshClickHouse('types');
  }, 60_000);
  afterAll(async () => ch?.drop());

  it.each(CASES)(
    '$column.name maps to $sql and its values come back exactly',
    async ({ column: c, sql, values }) => {
      const type = clickhouseType(c, lookup);
      expect(type.sql).toBe(sql);
      const back = await roundTrip(ch, `t_${c.name}`, type, values);
      expect(exact(back)).toEqual(exact(type.nullable ? [...values, null] : values));
    },
  );

  it('keeps the sign of a float zero, stored and printed', async () => {
    const type = clickhouseType(column('negzero', 701));
    expect(exact(await roundTrip(ch, 't_negzero', type, [-0, 0]))).toEqual(['-0', 0, null]);
    const bits = await ch.rows<{ b: string }>(
      'SELECT toString(reinterpretAsUInt64(v)) b FROM t_negzero ORDER BY id',
    );
    expect(bits.map((r) => r.b)).toEqual(['9223372036854775808', '0', null]);
    const f4 = clickhouseType(column('negzero4', 700));
    expect(exact(await roundTrip(ch, 't_negzero4', f4, [-0]))).toEqual(['-0', null]);
    const arrays = clickhouseType(column('negzeros', 1021));
    expect(exact(await roundTrip(ch, 't_negzeros', arrays, [[-0, null, 0]]))).toEqual([['-0', null, 0]]);
  });

  it('round-trips random values: float bit patterns, decimals of every precision, instants and days in range', async () => {
    const next = xorshift(20_261_122);
    const bits = (n: number) => {
      let out = 0n;
      for (let i = 0; i < n; i += 32) out = (out << 32n) | BigInt(next());
      return out & ((1n << BigInt(n)) - 1n);
    };
    const view = new DataView(new ArrayBuffer(8));
    const float64s = Array.from({ length: 500 }, () => {
      view.setBigUint64(0, bits(64));
      return view.getFloat64(0);
    });
    const float32s = Array.from({ length: 500 }, () => {
      view.setUint32(0, Number(bits(32)));
      return view.getFloat32(0);
    });
    const span = (lo: bigint, hi: bigint) => lo + (bits(64) % (hi - lo + 1n));
    const instants = Array.from({ length: 500 }, () => span(DATETIME64_MIN_MICROS, DATETIME64_MAX_MICROS));
    const days = Array.from({ length: 500 }, () =>
      Number(span(BigInt(DATE32_MIN_DAYS), BigInt(DATE32_MAX_DAYS))),
    );
    const randomDecimal = (precision: number, scale: number) => {
      const digits = (bits(256) % 10n ** BigInt(precision)).toString().padStart(precision, '0');
      const whole = digits.slice(0, precision - scale).replace(/^0+(?=\d)/, '') || '0';
      const text = scale > 0 ? `${whole}.${digits.slice(precision - scale)}` : whole;
      // Postgres never prints a negative zero
      return new Decimal(next() % 2 && /[1-9]/.test(text) ? `-${text}` : text);
    };
    const checks: [ColumnSchema, Value[]][] = [
      [column('r_float8', 701), float64s],
      [column('r_float4', 700), float32s],
      [column('r_timestamptz', 1184), instants.map((m) => new PgTimestampTz(m))],
      [column('r_date', 1082), days.map((d) => new PgDate(d))],
    ];
    for (const precision of [1, 9, 10, 18, 19, 38, 39, 76]) {
      for (const scale of new Set([0, 1, Math.floor(precision / 2), precision])) {
        const values = Array.from({ length: 50 }, () => randomDecimal(precision, scale));
        checks.push([column(`r_numeric_${precision}_${scale}`, 1700, numericMod(precision, scale)), values]);
      }
    }
    for (const [c, values] of checks) {
      const type = clickhouseType(c);
      const back = await roundTrip(ch, `t_${c.name}`, type, values);
      expect(exact(back), `${c.name} (${type.sql})`).toEqual(exact([...values, null]));
    }
  });

  it('keeps NULL and an empty array apart only where Nullable exists: arrays are not nullable', () => {
    expect(clickhouseType(column('a', 1007)).nullable).toBe(false);
    expect(clickhouseType(column('i', 23)).nullable).toBe(true);
  });
});

describe('the ClickHouse behaviour the mapping rests on (docs/clickhouse.md argues from it)', () => {
  let ch: TestClickHouse;
  beforeAll(async () => {
    ch = await freshClickHouse('facts');
  }, 60_000);
  afterAll(async () => ch?.drop());

  it('Date32 clamps out-of-range dates silently, so the mapping checks the range itself', async () => {
    await ch.connection.client.command({
      query: 'CREATE TABLE d (id UInt8, d Date32) ENGINE = MergeTree ORDER BY id',
    });
    await ch.connection.client.insert({
      table: 'd',
      format: 'JSONEachRow',
      values: [
        { id: 1, d: '1899-12-31' },
        { id: 2, d: '2300-01-01' },
      ],
    });
    expect((await ch.rows<{ d: string }>('SELECT d FROM d ORDER BY id')).map((r) => r.d)).toEqual([
      '1900-01-01',
      '2299-12-31',
    ]);
  });

  it('MODIFY COLUMN of a Decimal to String drops the trailing zeros the widening keeps', async () => {
    const type = clickhouseType(column('price', 1700, numericMod(12, 4)));
    await roundTrip(ch, 'price', type, [new Decimal('12.5000')]);
    const converted = await ch.rows<{ t: string }>(
      `SELECT ${type.widening?.convertSql('v')} AS t FROM price WHERE id = 0`,
    );
    expect(converted).toEqual([{ t: '12.5000' }]);
    await ch.connection.client.command({
      query: 'ALTER TABLE price MODIFY COLUMN v Nullable(String)',
      clickhouse_settings: { mutations_sync: '2' },
    });
    expect(await ch.rows('SELECT v FROM price ORDER BY id')).toEqual([{ v: '12.5' }, { v: null }]);
  });

  it("ClickHouse's JSON type refuses or alters documents Postgres keeps, so json and jsonb are String", async () => {
    await ch.connection.client.command({
      query: 'CREATE TABLE j (id UInt8, v JSON) ENGINE = MergeTree ORDER BY id',
    });
    const insert = (id: number, text: string) =>
      ch.connection.client
        .command({
          query: 'INSERT INTO j SELECT {id:UInt8}, {text:String}::JSON',
          query_params: { id, text },
        })
        .then(
          () => 'stored',
          () => 'refused',
        );
    expect(await insert(1, '[1,2]')).toBe('refused');
    expect(await insert(2, '{"k":1,"k":2}')).toBe('refused');
    expect(await insert(3, '{"n":12345678901234567890123}')).toBe('refused');
    expect(await insert(4, '{"z":{"y":null},"a":"x"}')).toBe('stored');
    expect(await ch.rows('SELECT toString(v) AS v FROM j WHERE id = 4')).toEqual([{ v: '{"a":"x"}' }]);
  });
});
