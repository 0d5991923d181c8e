import { Encoder, ExtData } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { xorshift } from '../../test/helpers/random.js';
import {
  type ChangeEvent,
  COMMIT_ORDINAL,
  type ColumnSchema,
  type Row,
  type StreamItem,
  type TableSchema,
} from '../core/change-event.js';
import { isTributaryError } from '../core/errors.js';
import type { TableRef } from '../core/table-ref.js';
import {
  Decimal,
  INFINITY_MICROS,
  INT64_MAX,
  INT64_MIN,
  NEG_INFINITY_MICROS,
  PgDate,
  PgInterval,
  PgJson,
  PgTime,
  PgTimestamp,
  PgTimestampTz,
  PgTimeTz,
  type Value,
} from '../core/values.js';
import { decodeItems, encodeItems, FEED_FORMAT_VERSION } from './codec.js';
import { valueExtensions } from './value-extensions.js';

// ---------------------------------------------------------------------------------------------
// building items

/** A row as the source builds one: null prototype, keys in the given order (any name). */
function row(...entries: [string, Value][]): Row {
  const out: Record<string, Value> = Object.create(null);
  for (const [name, value] of entries) out[name] = value;
  return out;
}

const ORDERS: TableRef = { schema: 'public', name: 'orders' };
const COMMIT_TIME = new PgTimestampTz(1_718_000_000_123_456n);

function change(overrides: Partial<ChangeEvent> = {}): StreamItem {
  const event: ChangeEvent = {
    op: 'insert',
    table: ORDERS,
    pk: row(['id', 1n]),
    row: row(['id', 1n], ['note', 'first']),
    before: null,
    unchanged: [],
    position: { commitLsn: 0x16_b374_d848n, ordinal: 0 },
    xid: 731,
    commitTime: COMMIT_TIME,
    schemaVersion: '3f2a9c0d41b7e8a5',
    ...overrides,
  };
  return { kind: 'change', event };
}

/** One change carrying `value` in a column. */
function carrying(value: Value): StreamItem {
  return change({ row: row(['id', 1n], ['v', value]) });
}

function decodedValue(value: Value): Value {
  const [item] = decodeItems(encodeItems([carrying(value)]));
  if (item?.kind !== 'change' || item.event.row === null) throw new Error(`not a change: ${String(item)}`);
  return item.event.row.v!;
}

// ---------------------------------------------------------------------------------------------
// comparing them: toEqual, plus what it does not look at (toStrictEqual cannot be used: it
// compares the `constructor` properties of objects, which in a row is a column like any other)

/**
 * The first way `actual` differs from `expected` in a respect the codec promises, or null:
 * numbers by Object.is (-0, NaN), the same prototype for every object (null-prototype rows, value
 * classes, plain Uint8Array), rows' keys in the same order, and absent keys absent.
 */
function difference(actual: unknown, expected: unknown, path = 'items'): string | null {
  if (typeof expected === 'number' || typeof expected !== 'object' || expected === null) {
    return Object.is(actual, expected) ? null : `${path}: ${show(actual)} is not ${show(expected)}`;
  }
  if (typeof actual !== 'object' || actual === null) return `${path}: ${show(actual)} is not an object`;
  if (Object.getPrototypeOf(actual) !== Object.getPrototypeOf(expected)) return `${path}: another prototype`;
  if (expected instanceof Uint8Array) {
    return Buffer.from(actual as Uint8Array).equals(Buffer.from(expected)) ? null : `${path}: other bytes`;
  }
  const actualKeys = Object.keys(actual);
  const expectedKeys = Object.keys(expected);
  const inOrder = Object.getPrototypeOf(expected) === null || Array.isArray(expected);
  if (
    (inOrder ? actualKeys : actualKeys.sort()).join('\n') !==
    (inOrder ? expectedKeys : expectedKeys.sort()).join('\n')
  ) {
    return `${path}: keys ${JSON.stringify(actualKeys)}, expected ${JSON.stringify(expectedKeys)}`;
  }
  for (const key of expectedKeys) {
    const found = difference(
      (actual as Record<string, unknown>)[key],
      (expected as Record<string, unknown>)[key],
      `${path}.${key}`,
    );
    if (found) return found;
  }
  return null;
}

function show(value: unknown): string {
  return Object.is(value, -0) ? '-0' : typeof value === 'bigint' ? `${value}n` : String(value);
}

function expectRoundTrip(items: readonly StreamItem[]): StreamItem[] {
  const decoded = decodeItems(encodeItems(items));
  expect(difference(decoded, items)).toBeNull();
  if (items.length <= 100) expect(decoded).toEqual(items); // vitest's own view too, where it is quick
  return decoded;
}

function expectRejected(bytes: Uint8Array, message?: RegExp): void {
  let error: unknown;
  try {
    decodeItems(bytes);
  } catch (e) {
    error = e;
  }
  expect(isTributaryError(error, 'PROTOCOL'), `decoding ${hex(bytes)} threw ${String(error)}`).toBe(true);
  if (message) expect((error as Error).message).toMatch(message);
}

function hex(bytes: Uint8Array): string {
  const text = Buffer.from(bytes).toString('hex');
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

// ---------------------------------------------------------------------------------------------

const SAMPLE_VALUES: [string, Value][] = [
  ['null', null],
  ['true', true],
  ['false', false],
  ['zero', 0],
  ['negative zero', -0],
  ['fixint edges', 127],
  ['uint 8', 128],
  ['negative fixint edge', -32],
  ['int 8', -33],
  ['int 32 min', -2_147_483_648],
  ['uint 32 max', 4_294_967_295],
  ['2^32', 4_294_967_296],
  ['max safe integer', Number.MAX_SAFE_INTEGER],
  ['min safe integer', Number.MIN_SAFE_INTEGER],
  ['unsafe integer', 2 ** 53 + 2],
  ['fraction', -1.5],
  ['smallest double', Number.MIN_VALUE],
  ['largest double', Number.MAX_VALUE],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
  ['bigint 0', 0n],
  ['bigint -1', -1n],
  ['bigint int64 max', INT64_MAX],
  ['bigint int64 min', INT64_MIN],
  ['bigint uint64 max', 2n ** 64n - 1n],
  ['bigint 2^64', 2n ** 64n],
  ['bigint below int64', INT64_MIN - 1n],
  ['bigint huge', -(10n ** 60n) + 7n],
  ['empty string', ''],
  ['unicode string', 'naïve 東京 💥 "quoted" \\ \u0000 end'],
  ['long string', 'x'.repeat(100_000)],
  ['empty bytes', new Uint8Array(0)],
  ['every byte', Uint8Array.from({ length: 256 }, (_, i) => i)],
  ['bytes past 64 kB (bin 32)', Uint8Array.from({ length: 70_000 }, (_, i) => (i * 31) & 0xff)],
  ['decimal', new Decimal('-12.3400')],
  ['decimal zero', new Decimal('0')],
  ['decimal NaN', new Decimal('NaN')],
  ['decimal Infinity', new Decimal('Infinity')],
  ['decimal -Infinity', new Decimal('-Infinity')],
  ['decimal of 1000 digits', new Decimal(`9${'0'.repeat(998)}.1`)],
  ['json', new PgJson('{"a": 1.0, "big": 123456789012345678901234567890}')],
  ['json unicode', new PgJson('{"name": "Zoë 🎈"}')],
  ['json long', new PgJson(`[${'1,'.repeat(10_000)}1]`)],
  ['date', new PgDate(19_876)],
  ['date before 1970', new PgDate(-719_528)],
  ['date int32 max', new PgDate(2_147_483_647)],
  ['date beyond int32', new PgDate(2_147_483_648)],
  ['date infinity', new PgDate(Number.POSITIVE_INFINITY)],
  ['date -infinity', new PgDate(Number.NEGATIVE_INFINITY)],
  ['date -0', new PgDate(-0)],
  ['time', new PgTime(45_296_789_012n)],
  ['time 24:00', new PgTime(86_400_000_000n)],
  ['timetz', new PgTimeTz(45_296_789_012n, -37_800)],
  ['timetz east', new PgTimeTz(1n, 50_400)],
  ['timestamp', new PgTimestamp(1_718_000_000_123_456n)],
  ['timestamp before 1970', new PgTimestamp(-62_135_596_800_000_000n)],
  ['timestamp int64 max', new PgTimestamp(INT64_MAX)],
  ['timestamp int64 min', new PgTimestamp(INT64_MIN)],
  ['timestamp infinity', new PgTimestamp(INFINITY_MICROS)],
  ['timestamp -infinity', new PgTimestamp(NEG_INFINITY_MICROS)],
  ['timestamp finite past int64', new PgTimestamp(INFINITY_MICROS - 1n)],
  ['timestamptz', new PgTimestampTz(1_718_000_000_123_456n)],
  ['timestamptz infinity', new PgTimestampTz(INFINITY_MICROS)],
  ['timestamptz -infinity', new PgTimestampTz(NEG_INFINITY_MICROS)],
  ['timestamptz finite past int64', new PgTimestampTz(INT64_MAX + 1n)],
  ['interval', new PgInterval(14, -3, -4_005_006n)],
  ['interval infinity', new PgInterval(2_147_483_647, 2_147_483_647, INT64_MAX)],
  ['interval -infinity', new PgInterval(-2_147_483_648, -2_147_483_648, INT64_MIN)],
  ['interval micros beyond int64', new PgInterval(0, 0, INT64_MAX * 4n)],
  ['empty array', []],
  ['array of an empty array', [[]]],
  ['array with nulls', [1, null, 3, null]],
  [
    'two-dimensional array',
    [
      [1, 2],
      [3, 4],
    ],
  ],
  ['six-dimensional array', [[[[[[1, null]]]]]]],
  ['array of -0', [0, -0, [-0]]],
  ['array of big integers', [1n, 2n ** 70n, [-(2n ** 70n)]]],
  [
    'array of value classes',
    [new Decimal('1.5'), null, new PgDate(Number.POSITIVE_INFINITY), new PgJson('[]')],
  ],
  ['array of bytes', [Uint8Array.of(1, 2), new Uint8Array(0), null]],
  ['array of strings', ['a', '', null, 'NULL', '{"x"}']],
];

describe('encodeItems / decodeItems', () => {
  describe('keeps every value exactly', () => {
    for (const [name, value] of SAMPLE_VALUES) {
      it(name, () => {
        expectRoundTrip([carrying(value)]);
      });
    }

    it('keeps -0 as -0, in rows and arrays alike', () => {
      expect(Object.is(decodedValue(-0), -0)).toBe(true);
      expect(Object.is(decodedValue(0), 0)).toBe(true);
      const array = decodedValue([0, -0]) as number[];
      expect(Object.is(array[0], 0) && Object.is(array[1], -0)).toBe(true);
    });

    it('keeps numbers numbers and bigints bigints, whatever their size', () => {
      for (const n of [0, 1, -1, 2 ** 32, 2 ** 53, Number.MAX_SAFE_INTEGER])
        expect(typeof decodedValue(n)).toBe('number');
      for (const n of [0n, 1n, -1n, 2n ** 32n, INT64_MAX, 2n ** 64n - 1n, 2n ** 64n]) {
        expect(decodedValue(n)).toBe(n);
      }
    });

    it('gives each value class back as an instance of it', () => {
      for (const [, value] of SAMPLE_VALUES) {
        if (value === null || typeof value !== 'object' || Array.isArray(value)) continue;
        expect(decodedValue(value)).toBeInstanceOf(value.constructor);
      }
    });

    it('gives bytes as plain Uint8Arrays of their own, even from a Buffer', () => {
      const bytes = encodeItems([carrying(Uint8Array.of(7, 8, 9))]);
      const [fromBuffer] = decodeItems(Buffer.from(bytes));
      const decoded = fromBuffer?.kind === 'change' ? fromBuffer.event.row?.v : undefined;
      expect(Object.getPrototypeOf(decoded)).toBe(Uint8Array.prototype);
      expect(decoded).toStrictEqual(Uint8Array.of(7, 8, 9));
      const [fromBytes] = decodeItems(bytes);
      bytes.fill(0); // the message buffer is reused: decoded values must not see it
      expect(fromBytes?.kind === 'change' && fromBytes.event.row?.v).toStrictEqual(Uint8Array.of(7, 8, 9));
    });
  });

  describe('keeps every item kind', () => {
    const columns: ColumnSchema[] = [
      { name: 'id', typeOid: 20, typeModifier: -1, isKey: true },
      { name: 'status', typeOid: 25, typeModifier: -1, isKey: false, missingValue: 'new' },
      { name: 'gone', typeOid: 25, typeModifier: -1, isKey: false, missingValue: null },
      {
        name: 'total',
        typeOid: 1700,
        typeModifier: 655_366,
        isKey: false,
        missingValue: new Decimal('0.00'),
      },
    ];
    const schema: TableSchema = {
      table: ORDERS,
      relationOid: 16_384,
      version: '3f2a9c0d41b7e8a5',
      columns,
      key: ['id'],
      replicaIdentity: 'default',
    };

    it('schema, with missing values absent, null and present', () => {
      const [decoded] = expectRoundTrip([{ kind: 'schema', schema }]);
      const decodedColumns = decoded?.kind === 'schema' ? decoded.schema.columns : [];
      expect('missingValue' in decodedColumns[0]!).toBe(false);
      expect(decodedColumns[2]).toHaveProperty('missingValue', null);
      for (const replicaIdentity of ['nothing', 'full', 'index'] as const) {
        expectRoundTrip([{ kind: 'schema', schema: { ...schema, replicaIdentity, key: [] } }]);
      }
    });

    it('schema with attribute numbers, some unknown; a message without them reads as before', () => {
      const numbered = columns.map((c, i) => (i === 2 ? c : { ...c, attnum: i + 1 }));
      const [decoded] = expectRoundTrip([{ kind: 'schema', schema: { ...schema, columns: numbered } }]);
      const decodedColumns = decoded?.kind === 'schema' ? decoded.schema.columns : [];
      expect(decodedColumns.map((c) => c.attnum)).toEqual([1, 2, undefined, 4]);
      expect('attnum' in decodedColumns[2]!).toBe(false);
      // without any, the item keeps its six elements (what builds before attnum wrote)
      const [plain] = expectRoundTrip([{ kind: 'schema', schema }]);
      expect(plain?.kind === 'schema' && plain.schema.columns.some((c) => 'attnum' in c)).toBe(false);
    });

    it('change of every operation, with and without before, pk and unchanged columns', () => {
      expectRoundTrip([
        change(),
        change({
          op: 'update',
          before: row(['id', 0n]),
          row: row(['id', 1n]),
          unchanged: ['note', 'blob'],
          position: { commitLsn: 0x16_b374_d848n, ordinal: 1 },
        }),
        change({ op: 'delete', row: null, before: row(['id', 1n], ['note', null]), pk: row(['id', 1n]) }),
        change({ op: 'delete', row: null, before: null, pk: null }),
        change({
          op: 'truncate',
          pk: null,
          row: null,
          truncate: { cascade: true, restartIdentity: false },
          position: { commitLsn: 2n ** 64n - 1n, ordinal: Number.MAX_SAFE_INTEGER - 1 },
        }),
      ]);
    });

    it('truncate options only where the event has them', () => {
      const [plain, truncate] = expectRoundTrip([
        change({ op: 'truncate', pk: null, row: null }),
        change({ op: 'truncate', pk: null, row: null, truncate: { cascade: false, restartIdentity: true } }),
      ]);
      expect(plain?.kind === 'change' && 'truncate' in plain.event).toBe(false);
      expect(truncate?.kind === 'change' && truncate.event.truncate).toStrictEqual({
        cascade: false,
        restartIdentity: true,
      });
    });

    it('message, transactional or not', () => {
      expectRoundTrip([
        {
          kind: 'message',
          message: {
            transactional: true,
            lsn: 0x16_b374_d000n,
            prefix: 'tributary.marker',
            content: Uint8Array.from([0, 1, 254, 255]),
            position: { commitLsn: 0x16_b374_d848n, ordinal: 3 },
          },
        },
        {
          kind: 'message',
          message: {
            transactional: false,
            lsn: 0n,
            prefix: '',
            content: new Uint8Array(0),
            position: { commitLsn: 0n, ordinal: -1 },
          },
        },
      ]);
    });

    it('commit', () => {
      expectRoundTrip([
        {
          kind: 'commit',
          commitLsn: 0x16_b374_d848n,
          endLsn: 0x16_b374_d878n,
          xid: 4_294_967_295,
          commitTime: new PgTimestampTz(INFINITY_MICROS),
          changes: 0,
        },
      ]);
    });

    it('a whole transaction, several tables and versions in one message', () => {
      const other: TableRef = { schema: 'Sales "EU"', name: 'order.items' };
      expectRoundTrip([
        { kind: 'schema', schema },
        change(),
        change({ table: other, schemaVersion: 'aaaa', row: row(['x', 1]), pk: null }),
        change({ table: other, schemaVersion: 'bbbb', row: row(['x', 2], ['y', 3]), pk: null }),
        { kind: 'schema', schema: { ...schema, table: other, version: 'bbbb' } },
        {
          kind: 'commit',
          commitLsn: 0x16_b374_d848n,
          endLsn: 0x16_b374_d878n,
          xid: 731,
          commitTime: COMMIT_TIME,
          changes: 3,
        },
      ]);
      expect(encodeItems([])).toStrictEqual(encodeItems([]));
      expect(decodeItems(encodeItems([]))).toStrictEqual([]);
    });

    it('does not confuse tables whose names would join to the same text', () => {
      expectRoundTrip([
        change({ table: { schema: 'a.b', name: 'c' } }),
        change({ table: { schema: 'a', name: 'b.c' } }),
        change({ table: { schema: 'a', name: 'b' }, schemaVersion: 'c' }),
        change({ table: { schema: 'a', name: 'bc' }, schemaVersion: '' }),
      ]);
    });
  });

  describe('rows', () => {
    const HOSTILE = [
      '__proto__',
      'constructor',
      'prototype',
      'toString',
      'hasOwnProperty',
      'valueOf',
      '__defineGetter__',
      'then',
      '',
      ' ',
      '"quoted"',
      'a.b',
      'Ünïcödé 💥',
      '\u0000',
      '10',
      '2',
      '-1',
    ];

    it('are null-prototype objects in which any name is just a column', () => {
      const hostile = row(...HOSTILE.map((name, i): [string, Value] => [name, i % 2 ? i : `${i}`]));
      const [decoded] = expectRoundTrip([
        change({ row: hostile, pk: row(['__proto__', 'key']), before: hostile }),
      ]);
      const event = decoded?.kind === 'change' ? decoded.event : null;
      expect(Object.getPrototypeOf(event?.row)).toBeNull();
      expect(Object.getPrototypeOf(event?.pk)).toBeNull();
      expect(Object.getPrototypeOf(event?.before)).toBeNull();
      expect(Object.keys(event!.row!)).toEqual(Object.keys(hostile)); // integer-like names first, as JS orders them
      expect(Object.keys(event!.row!)).toHaveLength(HOSTILE.length);
      expect(Object.hasOwn(event!.pk!, '__proto__')).toBe(true);
      expect(Object.getOwnPropertyDescriptor(event!.pk!, '__proto__')?.value).toBe('key');
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('0');
    });

    it('keep the order of their keys', () => {
      const a = row(['b', 1], ['a', 2], ['c', 3]);
      const b = row(['c', 3], ['a', 2], ['b', 1]);
      const [first, second] = expectRoundTrip([change({ row: a }), change({ row: b })]);
      expect(first?.kind === 'change' && Object.keys(first.event.row!)).toEqual(['b', 'a', 'c']);
      expect(second?.kind === 'change' && Object.keys(second.event.row!)).toEqual(['c', 'a', 'b']);
    });

    it('name their columns once per message, not once per row', () => {
      const items = Array.from({ length: 1000 }, (_, i) =>
        change({ row: row(['id', BigInt(i)], ['a_rather_long_column_name', i]), pk: row(['id', BigInt(i)]) }),
      );
      const bytes = Buffer.from(encodeItems(items));
      const occurrences = bytes.toString('latin1').split('a_rather_long_column_name').length - 1;
      expect(occurrences).toBe(1);
      expect(bytes.length / items.length).toBeLessThan(60);
    });

    it('of different column sets that share a prefix stay apart', () => {
      expectRoundTrip([
        change({ row: row(['a', 1]) }),
        change({ row: row(['a', 1], ['b', 2]) }),
        change({ row: row() }),
        change({ row: row(['', 0]) }),
        change({ row: row(['a', 1], ['b', 2], ['c', 3]) }),
        change({ row: row(['a', 1]) }),
      ]);
    });
  });

  it('round-trips a large batch', () => {
    const statuses = ['new', 'paid', 'shipped'];
    const items: StreamItem[] = [];
    for (let i = 0; i < 20_000; i++) {
      const id = BigInt(1_000_000 + i);
      items.push(
        change({
          op: i % 3 === 0 ? 'update' : 'insert',
          pk: row(['id', id]),
          row: row(
            ['id', id],
            ['customer_id', (i * 7919) % 50_000],
            ['status', statuses[i % 3]!],
            ['total', new Decimal(`${i}.${String(i % 100).padStart(2, '0')}`)],
            ['created_at', new PgTimestampTz(1_700_000_000_000_000n + BigInt(i) * 1_234_567n)],
            ['note', i % 5 ? null : `note ${i}`],
          ),
          position: { commitLsn: 0x16_0000_0000n + BigInt(i >> 4), ordinal: i & 15 },
        }),
      );
    }
    expectRoundTrip(items);
  });

  describe('refuses to encode what is not a value', () => {
    for (const [name, value] of [
      ['undefined', undefined],
      ['a Date', new Date(0)],
      ['a plain object', { a: 1 }],
      ['an Int16Array', new Int16Array(2)],
      ['a function', () => 1],
      ['arrays nested 40 deep', Array.from({ length: 40 }).reduce<unknown>((inner) => [inner], [])],
    ] as [string, unknown][]) {
      it(name, () => {
        expect(() => encodeItems([carrying(value as Value)])).toThrow(
          expect.objectContaining({
            code: 'INTERNAL',
            message: expect.stringMatching(/^column "v": the feed codec/),
          }),
        );
      });
    }
  });
});

describe('decodeItems on what is not a feed message', () => {
  const SAMPLE = encodeItems([
    {
      kind: 'schema',
      schema: { table: ORDERS, relationOid: 1, version: 'v', columns: [], key: [], replicaIdentity: 'full' },
    },
    change({
      row: row(['id', 1n], ['when', new PgTimestampTz(INFINITY_MICROS)], ['n', [-0, new Decimal('1')]]),
    }),
    {
      kind: 'message',
      message: {
        transactional: false,
        lsn: 5n,
        prefix: 'p',
        content: Uint8Array.of(1),
        position: { commitLsn: 5n, ordinal: -1 },
      },
    },
    { kind: 'commit', commitLsn: 9n, endLsn: 10n, xid: 1, commitTime: COMMIT_TIME, changes: 1 },
  ]);

  /** A message with `body` as its MessagePack document, encoded with the codec's extensions. */
  function message(body: unknown): Uint8Array {
    const encoded = new Encoder({ extensionCodec: valueExtensions, useBigInt64: true }).encode(body);
    return Uint8Array.of(0xc1, FEED_FORMAT_VERSION, ...encoded);
  }

  /** The document of a valid message with one change, whose row's value is `value`. */
  function changeDocument(value: unknown): unknown[] {
    return [
      [['public', 'orders', 'v']],
      [['id', 'v']],
      [[1, 0, 0, 5n, 0, 1, COMMIT_TIME, null, [0, 1n, value], null, []]],
    ];
  }

  it('decodes the sample these tests break', () => {
    expect(decodeItems(SAMPLE)).toHaveLength(4);
    expect(decodeItems(message(changeDocument('fine')))).toHaveLength(1);
  });

  it('rejects what does not start like one, saying so', () => {
    expectRejected(new Uint8Array(0), /not a feed message/);
    expectRejected(Uint8Array.of(0xc1), /not a feed message/);
    expectRejected(Buffer.from('{"kind":"change"}'), /not a feed message.*7b226b696e64/);
    expectRejected(SAMPLE.subarray(2), /not a feed message/);
  });

  it('rejects a version it does not know, naming it', () => {
    for (const version of [0, FEED_FORMAT_VERSION + 1, 255]) {
      const bytes = SAMPLE.slice();
      bytes[1] = version;
      expectRejected(
        bytes,
        new RegExp(`format version ${version}\\b.*reads only version ${FEED_FORMAT_VERSION}`),
      );
    }
  });

  it('rejects the sample cut short anywhere, or with bytes after it', () => {
    for (let length = 0; length < SAMPLE.length; length++) expectRejected(SAMPLE.subarray(0, length));
    expectRejected(Uint8Array.of(...SAMPLE, 0xc0), /after the end/);
  });

  it('rejects lengths that claim more than the message holds, before allocating for them', () => {
    // 100,000 nested array 16 headers claiming 65,535 elements each: @msgpack/msgpack alone
    // would allocate ~50 GB of array slots for these 300 kB
    const bomb = new Uint8Array(2 + 300_000);
    bomb.set([0xc1, FEED_FORMAT_VERSION]);
    for (let i = 2; i < bomb.length; i += 3) bomb.set([0xdc, 0xff, 0xff], i);
    expectRejected(bomb, /more object\(s\) announced but only \d+ byte\(s\) left/);
    expectRejected(Uint8Array.of(0xc1, FEED_FORMAT_VERSION, 0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0), /announced/);
    expectRejected(Uint8Array.of(0xc1, FEED_FORMAT_VERSION, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x61), /truncated/);
    expectRejected(Uint8Array.of(0xc1, FEED_FORMAT_VERSION, 0xc6, 0x7f, 0xff, 0xff, 0xff), /truncated/);
    expectRejected(Uint8Array.of(0xc1, FEED_FORMAT_VERSION, 0xc9, 0xff, 0xff, 0xff, 0xff, 0x02), /truncated/);
  });

  it('rejects arrays nested deeper than any value, without recursing off the stack', () => {
    const deep = 100_000;
    const bytes = message(changeDocument('PLACEHOLDER'));
    const at = Buffer.from(bytes).indexOf(Buffer.from('\xabPLACEHOLDER', 'latin1'));
    const hostile = Uint8Array.of(
      ...bytes.subarray(0, at),
      ...new Uint8Array(deep).fill(0x91),
      0xc0,
      ...bytes.subarray(at + 12),
    );
    expectRejected(hostile, /item 0: an array value nests over 32 deep/);
    expectRejected(
      message(changeDocument([[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]])),
      /nests/,
    );
  });

  it('rejects what the format never holds, saying what and where', () => {
    const cases: [unknown, RegExp][] = [
      [changeDocument({ a: 1 }), /a map, which the feed format never uses at byte offset/],
      [changeDocument(new ExtData(-1, new Uint8Array(4))), /extension type -1, which the feed format lacks/],
      [changeDocument(new ExtData(42, new Uint8Array(1))), /extension type 42, which the feed format lacks/],
      [changeDocument(new Date(0)), /a map, which the feed format never uses/],
      [['not', 'three', 'lists', '!'], /the message has 4 fields \(expected 3\)/],
      ['a string', /the message is a string, not an array/],
      [[[], [], [[7]]], /item 0: unknown item kind 7/],
      [[[], [], [['change']]], /item 0: unknown item kind a string/],
      [[[], [], [[]]], /item 0: unknown item kind undefined/],
      [
        [[['s', 't', 'v']], [], [[1, 0, 0, 5n, 0, 1, COMMIT_TIME, null, [0, 1n], null, []]]],
        /shape index 0 is out of range \(0\)/,
      ],
      [
        [[], [['a']], [[1, 0, 0, 5n, 0, 1, COMMIT_TIME, null, null, null, []]]],
        /the table index 0 is out of range/,
      ],
      [
        [[['s', 't', 'v']], [['id', 'v']], [[1, 9, 0, 5n, 0, 1, COMMIT_TIME, null, null, null, []]]],
        /the operation index 9/,
      ],
      [
        [[['s', 't', 'v']], [['id', 'v']], [[1, 0.5, 0, 5n, 0, 1, COMMIT_TIME, null, null, null, []]]],
        /the operation index 0.5/,
      ],
      [
        [[['s', 't', 'v']], [['id', 'v']], [[1, 0, 0, 5, 0, 1, COMMIT_TIME, null, null, null, []]]],
        /commit LSN is a number, not a bigint/,
      ],
      [
        [[['s', 't', 'v']], [['id', 'v']], [[1, 0, 0, 5n, 0, 1, 17, null, null, null, []]]],
        /commit time is a number, not a timestamptz/,
      ],
      [
        [[['s', 't', 'v']], [['id', 'v']], [[1, 0, 0, 5n, 0, 1, COMMIT_TIME, null, [0, 1n], null, []]]],
        /row has 1 values for its 2 columns/,
      ],
      [
        [[['s', 't', 'v']], [['id', 'v']], [[1, 0, 0, 5n, 0, 1, COMMIT_TIME, null, null, null, [1]]]],
        /an element of unchanged is a number/,
      ],
      [[[['s', 't', 'v']], [['id', 'id']], []], /a shape names a column twice/],
      [[[['s', 't']], [], []], /a table entry has 2 fields/],
      [[[['s', 't', 'v']], [], [[0, 0, 1, 'sideways', [], []]]], /unknown replica identity "sideways"/],
      [
        [[['s', 't', 'v']], [], [[0, 0, 1, 'full', [], [['c', 1, 2]]]]],
        /a column has 3 fields \(expected 4 or 5\)/,
      ],
      [[[], [], [[2, true, 1n, 'p', 'not bytes', 1n, 0]]], /the content is a string, not bytes/],
      [[[], [], [[3, 1n, 2n, 3, COMMIT_TIME]]], /a commit has 5 fields/],
    ];
    for (const [body, problem] of cases) expectRejected(message(body), problem);
  });

  it('rejects extension payloads of the wrong size', () => {
    const bytes = message(changeDocument(new PgDate(5)));
    const at = Buffer.from(bytes).indexOf(Buffer.from([0xd6, 0x04, 0, 0, 0, 5]));
    expect(at).toBeGreaterThan(0);
    const hostile = Uint8Array.of(...bytes.subarray(0, at), 0xd5, 0x04, 0, 5, ...bytes.subarray(at + 6));
    expectRejected(hostile, /a date payload has 2 bytes/);
    const timestamp = Uint8Array.of(...bytes.subarray(0, at), 0xc7, 0, 0x08, ...bytes.subarray(at + 6));
    expectRejected(timestamp, /timestamptz value has no integer/);
  });

  it('rejects random bytes, with or without a valid header', () => {
    const next = xorshift(0xfeed_c0de);
    for (let n = 0; n < 3000; n++) {
      const bytes = new Uint8Array(next() % 80);
      for (let i = 0; i < bytes.length; i++) bytes[i] = next() & 0xff;
      if (n % 2 && bytes.length >= 2) bytes.set([0xc1, FEED_FORMAT_VERSION]);
      expectRejected(bytes);
    }
  });

  it('decodes or rejects every mutation of a real message, and nothing else escapes', () => {
    const next = xorshift(0x0bad_f00d);
    let decoded = 0;
    for (let n = 0; n < 5000; n++) {
      const bytes = SAMPLE.slice();
      const flips = 1 + (next() % 3);
      for (let f = 0; f < flips; f++) {
        const at = 2 + (next() % (bytes.length - 2));
        bytes[at] = n % 2 ? bytes[at]! ^ (1 << (next() % 8)) : next() & 0xff;
      }
      try {
        decodeItems(bytes);
        decoded++;
      } catch (error) {
        if (!isTributaryError(error, 'PROTOCOL'))
          throw new Error(`decoding ${hex(bytes)} threw ${String(error)}`);
      }
    }
    expect(decoded).toBeGreaterThan(0); // some flips only change a value: those decode
  });
});

// ---------------------------------------------------------------------------------------------
// property: random items round-trip

function randomItems(seed: number, count: number): StreamItem[] {
  const next = xorshift(seed);
  const pick = <T>(options: readonly T[]): T => options[next() % options.length]!;
  const chars = ['a', 'b', 'Z', '0', ' ', '"', '.', '\\', '\u0000', 'é', '東', '💥', '_'];
  const text = (max: number) => Array.from({ length: next() % max }, () => pick(chars)).join('');
  const bigint = () => {
    const big = (BigInt(next()) << 64n) | (BigInt(next()) << 32n) | BigInt(next());
    return (next() & 1 ? -big : big) >> BigInt(next() % 96);
  };
  const double = () => {
    const view = new DataView(new ArrayBuffer(8));
    view.setUint32(0, next());
    view.setUint32(4, next());
    return next() % 4 ? view.getFloat64(0) : pick([0, -0, Number.NaN, Number.POSITIVE_INFINITY, -1, 2 ** 53]);
  };
  const value = (depth: number): Value => {
    switch (next() % 17) {
      case 0:
        return null;
      case 1:
        return (next() & 1) === 1;
      case 2:
        return (next() | 0) >> (next() % 32);
      case 3:
        return double();
      case 4:
        return bigint();
      case 5:
        return text(40);
      case 6:
        return Uint8Array.from({ length: next() % 20 }, () => next() & 0xff);
      case 7:
        return new Decimal(pick(['0', '-1.50', 'NaN', 'Infinity', `${next()}.${next()}`]));
      case 8:
        return new PgJson(JSON.stringify({ [text(5)]: text(5) }));
      case 9:
        return new PgDate(
          next() % 5 ? (next() | 0) >> 8 : pick([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0]),
        );
      case 10:
        return new PgTime(BigInt(next()) * 20_000n);
      case 11:
        return new PgTimeTz(BigInt(next()) * 20_000n, ((next() % 100_800) | 0) - 50_400);
      case 12:
        return new PgTimestamp(next() % 5 ? bigint() : pick([INFINITY_MICROS, NEG_INFINITY_MICROS]));
      case 13:
        return new PgTimestampTz(bigint());
      case 14:
        return new PgInterval(next() | 0, next() | 0, bigint());
      default:
        return depth < 4 ? Array.from({ length: next() % 4 }, () => value(depth + 1)) : [];
    }
  };
  const names = ['id', 'name', '__proto__', 'constructor', '7', '', 'note'];
  const randomRow = (): Row | null => {
    if (next() % 4 === 0) return null;
    const chosen = names.filter(() => next() % 2);
    if (next() % 3 === 0) chosen.push(text(8));
    return row(...[...new Set(chosen)].map((n): [string, Value] => [n, value(0)]));
  };
  const table = (): TableRef => ({
    schema: pick(['public', 'a.b', text(6)]),
    name: pick(['orders', 'x"y', text(6)]),
  });
  const lsn = () => BigInt.asUintN(64, bigint());
  const items: StreamItem[] = [];
  for (let i = 0; i < count; i++) {
    switch (next() % 6) {
      case 0:
        items.push({
          kind: 'schema',
          schema: {
            table: table(),
            relationOid: next(),
            version: text(17),
            columns: names.slice(0, next() % names.length).map((name) => {
              const column = { name, typeOid: next(), typeModifier: next() | 0, isKey: (next() & 1) === 1 };
              return next() % 3 ? column : { ...column, missingValue: value(1) };
            }),
            key: names.filter(() => next() % 3 === 0),
            replicaIdentity: pick(['default', 'nothing', 'full', 'index'] as const),
          },
        });
        break;
      case 1:
        items.push({
          kind: 'message',
          message: {
            transactional: (next() & 1) === 1,
            lsn: lsn(),
            prefix: text(10),
            content: Uint8Array.from({ length: next() % 30 }, () => next()),
            position: { commitLsn: lsn(), ordinal: pick([-1, 0, next()]) },
          },
        });
        break;
      case 2:
        items.push({
          kind: 'commit',
          commitLsn: lsn(),
          endLsn: lsn(),
          xid: next(),
          commitTime: new PgTimestampTz(bigint()),
          changes: next(),
        });
        break;
      default: {
        const op = pick(['insert', 'update', 'delete', 'truncate'] as const);
        const event = change({
          op,
          table: table(),
          pk: randomRow(),
          row: randomRow(),
          before: randomRow(),
          unchanged: names.filter(() => next() % 5 === 0),
          position: { commitLsn: lsn(), ordinal: pick([0, next(), COMMIT_ORDINAL - 1]) },
          xid: next(),
          commitTime: new PgTimestampTz(bigint()),
          schemaVersion: text(17),
          ...(op === 'truncate' && next() % 2
            ? { truncate: { cascade: (next() & 1) === 1, restartIdentity: false } }
            : {}),
        });
        items.push(event);
      }
    }
  }
  return items;
}

describe('random items', () => {
  for (const seed of [1, 2, 3, 0xdecade, 0x5eed]) {
    it(`round-trip exactly (seed ${seed})`, () => {
      for (let batch = 0; batch < 20; batch++)
        expectRoundTrip(randomItems(seed * 1000 + batch, 1 + batch * 5));
    });
  }
});
