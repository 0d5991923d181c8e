/**
 * The columns of the every-type integration tests: one per type, each with edge values as SQL
 * input text (null for SQL NULL) and the kind of independent facts to check its decoding
 * against (every-type.facts.ts). `setupSql` creates the user-defined types the table uses.
 * Adding a type is one line here; both the decoder test and the through-the-stream test pick
 * it up.
 */

/** How a scalar value is checked: which facts Postgres computes for it, and how they compare. */
export type ScalarCheck =
  | 'int'
  | 'bigint'
  | 'float4'
  | 'float8'
  | 'numeric'
  | 'bool'
  | 'bytea'
  | 'text'
  | 'json'
  | 'date'
  | 'time'
  | 'timetz'
  | 'timestamp'
  | 'interval';

/** An array (or a domain over one) whose elements are checked with `array`. */
export interface ArrayCheck {
  readonly array: Check;
}

export type Check = ScalarCheck | ArrayCheck;

export function arrayOf(element: Check): ArrayCheck {
  return { array: element };
}

export interface Column {
  readonly name: string;
  /** SQL type as written in CREATE TABLE. */
  readonly type: string;
  readonly check: Check;
  readonly values: readonly (string | null)[];
  /** Values only servers of this major or newer accept. */
  readonly newerValues?: { readonly major: number; readonly values: readonly string[] };
}

export const ENUM_TYPE = '"Odd Schema"."Mood ""q"""';

export const setupSql = [
  'CREATE SCHEMA "Odd Schema"',
  `CREATE TYPE ${ENUM_TYPE} AS ENUM ('happy', 'so so', 'NULL', 'a,b', 'ü{}"\\')`,
  'CREATE DOMAIN price AS numeric',
  'CREATE DOMAIN cheap AS price',
  'CREATE DOMAIN int_list AS int4[]',
  'CREATE DOMAIN frame AS box',
  'CREATE TYPE pair AS (a int, b text)',
  'CREATE TYPE floatrange AS RANGE (subtype = float8)',
];

/** An array literal quoting every element, as a client would write it. */
export function arrayLiteral(items: readonly (string | null)[]): string {
  const quoted = items.map((s) =>
    s === null ? 'NULL' : `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`,
  );
  return `{${quoted.join(',')}}`;
}

export const ALL_BYTES = `\\x${Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('hex')}`;
export const DIGITS_1000 = '1234567890'.repeat(100);
export const NASTY_STRINGS = [
  '',
  ' ',
  'NULL',
  'null',
  'a,b',
  'a;b',
  '{x}',
  '"q"',
  '\\',
  '\\"',
  ' lead',
  'trail ',
  '\t\n\r',
  'ü€😀',
  "it's",
  'line 1\nline 2\r\n',
  'tab\there "q" \\ end\\',
  'x'.repeat(3000),
];

/** The update both every-type tests apply to row UPDATED_ROW: edge values, a NULL set and a NULL filled. */
export const UPDATED_ROW = 1;
export const EDGE_UPDATE: Readonly<Record<string, string | null>> = {
  c_int2: null,
  c_int8: '-9223372036854775808',
  c_float4: '-1e-45',
  c_float8: '-0',
  c_numeric: `-${DIGITS_1000}.5`,
  c_bytea: `\\x${Buffer.from(ALL_BYTES.slice(2), 'hex').reverse().toString('hex')}`,
  c_text: 'after\nthe "update" \\ ü😀',
  c_macaddr: '08:00:2b:01:02:03',
  c_enum: 'ü{}"\\',
  c_json: '{"updated": [1e400, "😀"]}',
  c_jsonb: '{"z": [], "a": {"nested": true}}',
  c_date: '4713-11-24 BC',
  c_time: '12:34:56.789012',
  c_timetz: '24:00:00-15:59:59',
  c_timestamp: 'infinity',
  c_timestamptz: '0044-03-15 12:00:00.000001+05:53:28 BC',
  c_interval: '-1 year +2 mons -3 days +04:05:06.000001',
  c_price: '-Infinity',
  c_pair: '(-1,"")',
  a_text: '{{"a b","NULL"},{"{x}",NULL}}',
  a_enum: '{{"so so","NULL"},{NULL,happy}}',
  a_float8: '{{-0,NULL},{4.9e-324,NaN}}',
  c_int_list: '{{1,NULL},{3,4}}',
};
/** The row whose c_text is big enough to be stored out of line (c_text has STORAGE EXTERNAL). */
export const BIG_TEXT = 'x'.repeat(3000);
export const DELETED_ROW = 2;

export const COLUMNS: readonly Column[] = [
  { name: 'c_int2', type: 'int2', check: 'int', values: ['-32768', '32767', '0', '-1'] },
  { name: 'c_int4', type: 'int4', check: 'int', values: ['-2147483648', '2147483647', '0'] },
  {
    name: 'c_int8',
    type: 'int8',
    check: 'bigint',
    values: ['-9223372036854775808', '9223372036854775807', '9007199254740993', '-999999999999999', '0'],
  },
  { name: 'c_oid', type: 'oid', check: 'int', values: ['0', '4294967295', '16384'] },
  { name: 'c_xid', type: 'xid', check: 'int', values: ['0', '4294967295', '12345'] },
  { name: 'c_xid8', type: 'xid8', check: 'bigint', values: ['18446744073709551615', '0'] },
  {
    name: 'c_float4',
    type: 'float4',
    check: 'float4',
    values: [
      'NaN',
      'Infinity',
      '-Infinity',
      '-0',
      '0',
      '0.1',
      '3.4028235e38',
      '1e-45',
      '1.1754942e-38',
      '16777217',
      '-1.5',
      '-1e-45',
    ],
  },
  {
    name: 'c_float8',
    type: 'float8',
    check: 'float8',
    values: [
      'NaN',
      'Infinity',
      '-Infinity',
      '-0',
      '0.1',
      '1.7976931348623157e308',
      '4.9e-324',
      '2.225073858507201e-308',
      '1e22',
      '123456789012345680000',
      '-1e-7',
      '9007199254740993',
      '-4.9e-324',
    ],
  },
  {
    name: 'c_numeric',
    type: 'numeric',
    check: 'numeric',
    values: [
      '0',
      '-12.3400',
      'NaN',
      'Infinity',
      '-Infinity',
      DIGITS_1000,
      `-${DIGITS_1000.slice(0, 500)}.${DIGITS_1000.slice(0, 500)}`,
      `0.${'0'.repeat(999)}1`,
      '1e-20',
      '-0.000',
    ],
  },
  {
    name: 'c_numeric_scaled',
    type: 'numeric(12,4)',
    check: 'numeric',
    values: ['1.5', '-99999999.9999', '0'],
  },
  { name: 'c_bool', type: 'bool', check: 'bool', values: ['t', 'f'] },
  { name: 'c_bytea', type: 'bytea', check: 'bytea', values: [ALL_BYTES, '\\x', '\\x00'] },
  {
    name: 'c_uuid',
    type: 'uuid',
    check: 'text',
    values: [
      '00000000-0000-0000-0000-000000000000',
      'ffffffff-ffff-ffff-ffff-ffffffffffff',
      'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
    ],
  },
  { name: 'c_text', type: 'text', check: 'text', values: NASTY_STRINGS },
  { name: 'c_varchar', type: 'varchar(20)', check: 'text', values: ['abc', '', 'ü'] },
  { name: 'c_bpchar', type: 'char(5)', check: 'text', values: ['ab', '', 'ü'] },
  { name: 'c_name', type: 'name', check: 'text', values: ['a_name', 'ü', ''] },
  { name: 'c_char', type: '"char"', check: 'text', values: ['a', '\\', '\\351'] },
  {
    name: 'c_inet',
    type: 'inet',
    check: 'text',
    values: ['10.0.0.1', '10.0.0.1/8', '::1', '2001:db8::ff00:42:8329/64'],
  },
  { name: 'c_cidr', type: 'cidr', check: 'text', values: ['10.0.0.0/8', '::/0'] },
  { name: 'c_macaddr', type: 'macaddr', check: 'text', values: ['08:00:2b:01:02:03'] },
  { name: 'c_macaddr8', type: 'macaddr8', check: 'text', values: ['08:00:2b:01:02:03:04:05'] },
  {
    name: 'c_money',
    type: 'money',
    check: 'text',
    values: ['-92233720368547758.08', '92233720368547758.07', '0'],
  },
  { name: 'c_xml', type: 'xml', check: 'text', values: ['<a b="1">x &amp; y</a>', 'plain'] },
  { name: 'c_bit', type: 'bit(4)', check: 'text', values: ['1010'] },
  { name: 'c_varbit', type: 'varbit', check: 'text', values: ['', '101'] },
  { name: 'c_tsvector', type: 'tsvector', check: 'text', values: ['a fat cat:1A sat', "'it''s' 'x y'"] },
  { name: 'c_tsquery', type: 'tsquery', check: 'text', values: ['fat & (rat | !cat)'] },
  { name: 'c_pg_lsn', type: 'pg_lsn', check: 'text', values: ['0/0', 'FFFFFFFF/FFFFFFFF', '16/B374D848'] },
  { name: 'c_point', type: 'point', check: 'text', values: ['(1.5,-2)', '(0.1,1e300)'] },
  { name: 'c_box', type: 'box', check: 'text', values: ['((1,1),(0,0))'] },
  { name: 'c_path', type: 'path', check: 'text', values: ['[(0,0),(1,1)]'] },
  { name: 'c_circle', type: 'circle', check: 'text', values: ['<(0,0),1.5>'] },
  { name: 'c_int4range', type: 'int4range', check: 'text', values: ['[1,5)', 'empty', '(,)'] },
  { name: 'c_int4multirange', type: 'int4multirange', check: 'text', values: ['{[1,3),[5,7)}', '{}'] },
  { name: 'c_floatrange', type: 'floatrange', check: 'text', values: ['[1.5,2.5)', '(,0.1]'] },
  { name: 'c_pair', type: 'pair', check: 'text', values: ['(1,"a b")', '(,)', '(2,"x\\"y,z")'] },
  { name: 'c_enum', type: ENUM_TYPE, check: 'text', values: ['happy', 'so so', 'NULL', 'a,b', 'ü{}"\\'] },
  {
    name: 'c_json',
    type: 'json',
    check: 'json',
    values: [
      '{"b": 1, "a": 12345678901234567890123}',
      '{"a":1,"a":2}',
      '[1e400, -0]',
      '"\\u0000"',
      'null',
      ' {} ',
      '{\n  "k" : [ 1 , 2 ],\t"u": "\\u00e9😀"\n}',
    ],
  },
  {
    name: 'c_jsonb',
    type: 'jsonb',
    check: 'json',
    values: [
      '{"b": 1, "a": 2}',
      '[1.0e5, 0.10]',
      '{}',
      '"ü"',
      '{"a": {"b": [1, "x\\"y", null]}, "ü": "😀", "": -0.0, "n": 12345678901234567890.5}',
    ],
  },
  {
    name: 'c_date',
    type: 'date',
    check: 'date',
    values: [
      '4713-11-24 BC',
      '5874897-12-31',
      'infinity',
      '-infinity',
      '0001-12-31 BC',
      '0001-01-01',
      '1970-01-01',
      '1969-12-31',
      '2000-02-29',
      '10000-01-01',
      '0044-03-15 BC',
    ],
  },
  {
    name: 'c_time',
    type: 'time',
    check: 'time',
    values: ['00:00:00', '24:00:00', '23:59:59.999999', '12:34:56.1', '00:00:00.000001', '01:02:03.45'],
  },
  {
    name: 'c_timetz',
    type: 'timetz',
    check: 'timetz',
    values: [
      '12:00:00+05:30',
      '00:00:00-03',
      '23:59:59.999999+05:53:28',
      '24:00:00-15:59:59',
      '13:14:15.1+15:59',
      '00:00:00+00',
    ],
  },
  {
    name: 'c_timestamp',
    type: 'timestamp',
    check: 'timestamp',
    values: [
      '4713-11-24 00:00:00 BC',
      '294276-12-31 23:59:59.999999',
      'infinity',
      '-infinity',
      '1970-01-01 00:00:00.000001',
      '1969-12-31 23:59:59.999999',
      '2024-02-29 12:34:56.5',
      '0044-03-15 12:00:00 BC',
      '10000-01-01 00:00:00',
      '2000-01-01 00:00:00.12',
      '0001-12-31 23:59:59.999999 BC',
    ],
  },
  {
    name: 'c_timestamptz',
    type: 'timestamptz',
    check: 'timestamp',
    values: [
      '4713-11-24 00:00:00+00 BC',
      '294276-12-31 23:59:59.999999+00',
      'infinity',
      '-infinity',
      '2024-03-10 02:30:00-05:53:28',
      '1970-01-01 05:30:00+05:30',
      '0044-03-15 12:00:00-03 BC',
      '2024-06-30 23:59:59.123456+14',
      '1883-11-18 12:00:00 America/New_York',
    ],
  },
  {
    name: 'c_interval',
    type: 'interval',
    check: 'interval',
    values: [
      '1 year 2 mons -3 days 04:05:06.789',
      '-1 second',
      '178000000 years',
      '-178000000 years',
      '0',
      '-1 year -1 mon',
      '2562047788 hours 54.775807 seconds',
      '-2562047788 hours -54.775808 seconds',
      '1 year -1 mon +1 day -00:00:00.000001',
      '-1 days +1 hour',
      '0.000001 seconds',
      '2147483647 days',
      '-2147483648 days',
      '178956970 years 7 mons',
    ],
    newerValues: { major: 17, values: ['infinity', '-infinity'] },
  },
  { name: 'c_price', type: 'price', check: 'numeric', values: ['12.50', 'NaN', '-0.001'] },
  { name: 'c_cheap', type: 'cheap', check: 'numeric', values: ['0.10'] },
  // Arrays
  {
    name: 'a_int4',
    type: 'int4[]',
    check: arrayOf('int'),
    values: [
      '{1,2,NULL}',
      '{{1,2},{3,4}}',
      '{}',
      '[0:1]={1,2}',
      '[-2:-1][1:2]={{1,2},{3,4}}',
      '{{{1}},{{2}}}',
      '{NULL}',
    ],
  },
  { name: 'a_int2', type: 'int2[]', check: arrayOf('int'), values: ['{-32768,32767}'] },
  {
    name: 'a_int8',
    type: 'int8[]',
    check: arrayOf('bigint'),
    values: ['{-9223372036854775808,9223372036854775807,NULL}'],
  },
  {
    name: 'a_numeric',
    type: 'numeric[]',
    check: arrayOf('numeric'),
    values: ['{1.50,NaN,-Infinity,NULL,-0.001}', `{${DIGITS_1000}}`, '{{1.5,NULL},{Infinity,0.000}}'],
  },
  { name: 'a_float4', type: 'float4[]', check: arrayOf('float4'), values: ['{NaN,-Infinity,-0,0.1,1e-45}'] },
  {
    name: 'a_float8',
    type: 'float8[]',
    check: arrayOf('float8'),
    values: ['{NaN,Infinity,-0,5e-324,0.1}', '{{-0,NULL},{-4.9e-324,1e308}}'],
  },
  { name: 'a_bool', type: 'bool[]', check: arrayOf('bool'), values: ['{t,f,NULL}', '{{t},{f}}'] },
  {
    name: 'a_bytea',
    type: 'bytea[]',
    check: arrayOf('bytea'),
    values: [arrayLiteral([ALL_BYTES, '\\x', null])],
  },
  {
    name: 'a_text',
    type: 'text[]',
    check: arrayOf('text'),
    values: [
      arrayLiteral([...NASTY_STRINGS, null]),
      '{{a,b},{c,NULL}}',
      '{{"a b","NULL"},{"{x}",NULL},{"\\"q\\"","\\\\"}}',
    ],
  },
  { name: 'a_bpchar', type: 'char(3)[]', check: arrayOf('text'), values: ['{a,"b c","",NULL}'] },
  { name: 'a_varchar', type: 'varchar[]', check: arrayOf('text'), values: ['{"a b",""}'] },
  { name: 'a_char', type: '"char"[]', check: arrayOf('text'), values: [arrayLiteral(['a', '\\', '"', ','])] },
  {
    name: 'a_uuid',
    type: 'uuid[]',
    check: arrayOf('text'),
    values: ['{00000000-0000-0000-0000-000000000000,NULL}'],
  },
  {
    name: 'a_json',
    type: 'json[]',
    check: arrayOf('json'),
    values: [arrayLiteral(['{"a": [1, 2]}', '[]', 'null', '"NULL"', null])],
  },
  {
    name: 'a_jsonb',
    type: 'jsonb[]',
    check: arrayOf('json'),
    values: [arrayLiteral(['{"a": 1, "b": "x,y"}', null])],
  },
  {
    name: 'a_date',
    type: 'date[]',
    check: arrayOf('date'),
    values: ['{infinity,-infinity,"0044-03-15 BC",1970-01-01,5874897-12-31,NULL}'],
  },
  { name: 'a_time', type: 'time[]', check: arrayOf('time'), values: ['{24:00:00,00:00:00.000001,NULL}'] },
  {
    name: 'a_timetz',
    type: 'timetz[]',
    check: arrayOf('timetz'),
    values: ['{12:00:00+05:30,00:00:00-03,23:59:59+05:53:28}'],
  },
  {
    name: 'a_timestamp',
    type: 'timestamp[]',
    check: arrayOf('timestamp'),
    values: [arrayLiteral(['4713-11-24 00:00:00 BC', 'infinity', '294276-12-31 23:59:59.999999', null])],
  },
  {
    name: 'a_timestamptz',
    type: 'timestamptz[]',
    check: arrayOf('timestamp'),
    values: [
      arrayLiteral(['4713-11-24 00:00:00+00 BC', '-infinity', '2024-03-10 02:30:00.5-05:53:28', null]),
    ],
  },
  {
    name: 'a_interval',
    type: 'interval[]',
    check: arrayOf('interval'),
    values: [arrayLiteral(['1 year 2 mons -3 days 04:05:06.789', '-1 second', null])],
  },
  { name: 'a_oid', type: 'oid[]', check: arrayOf('int'), values: ['{0,4294967295,NULL}'] },
  { name: 'a_xid8', type: 'xid8[]', check: arrayOf('bigint'), values: ['{18446744073709551615,0}'] },
  { name: 'a_money', type: 'money[]', check: arrayOf('text'), values: ['{-1.50,0,NULL}'] },
  { name: 'a_pg_lsn', type: 'pg_lsn[]', check: arrayOf('text'), values: ['{0/0,FFFFFFFF/FFFFFFFF}'] },
  {
    name: 'a_xml',
    type: 'xml[]',
    check: arrayOf('text'),
    values: [arrayLiteral(['<a b="1">x &amp; y</a>', ''])],
  },
  {
    name: 'a_tsvector',
    type: 'tsvector[]',
    check: arrayOf('text'),
    values: [arrayLiteral(['a fat cat:1A', "'it''s' 'x y'", ''])],
  },
  { name: 'a_inet', type: 'inet[]', check: arrayOf('text'), values: ['{10.0.0.1,::1/128,NULL}'] },
  {
    name: 'a_box',
    type: 'box[]',
    check: arrayOf('text'),
    values: ['{(1,1),(0,0);(3,3),(2,2)}', '{{(1,1),(0,0)};{(3,3),(2,2)}}'],
  },
  { name: 'a_int4range', type: 'int4range[]', check: arrayOf('text'), values: ['{"[1,5)",empty,NULL}'] },
  {
    name: 'a_pair',
    type: 'pair[]',
    check: arrayOf('text'),
    values: [arrayLiteral(['(1,"a b")', '(,)', null])],
  },
  {
    name: 'a_enum',
    type: `${ENUM_TYPE}[]`,
    check: arrayOf('text'),
    values: [arrayLiteral(['happy', 'so so', 'NULL', null, 'a,b', 'ü{}"\\']), '{}', '{{happy},{NULL}}'],
  },
  { name: 'a_price', type: 'price[]', check: arrayOf('numeric'), values: ['{1.50,NaN,NULL}'] },
  { name: 'a_frame', type: 'frame[]', check: arrayOf('text'), values: ['{(1,1),(0,0);(3,3),(2,2);NULL}'] },
  {
    name: 'c_int_list',
    type: 'int_list',
    check: arrayOf('int'),
    values: ['{1,2,NULL}', '{{1,2},{3,4}}', '{}', '[0:1]={5,6}'],
  },
  {
    name: 'a_int_list',
    type: 'int_list[]',
    check: arrayOf(arrayOf('int')),
    values: ['{"{1,2}","{3}",NULL,"{}","{{1},{2}}"}'],
  },
];

/** The columns with the values a server of this major accepts. */
export function columnsFor(major: number): Column[] {
  return COLUMNS.map((c) =>
    c.newerValues && major >= c.newerValues.major
      ? { ...c, values: [...c.values, ...c.newerValues.values] }
      : c,
  );
}
