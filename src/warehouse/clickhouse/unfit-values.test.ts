/**
 * Values a ClickHouse type cannot hold, against a real ClickHouse engine (chdb): each is refused
 * by `encode` with an UnfitValue naming the column and the type — never clamped, rounded or
 * nulled — and the type's widening holds it: the stored values of the original type, converted on
 * the server by `convertSql`, read back as the widened text, and the widened String column holds
 * every value, the unfit ones included, exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshClickHouse, type TestClickHouse } from '../../../test/helpers/clickhouse.js';
import {
  column,
  day,
  exact,
  lookup,
  micros,
  numericMod,
  roundTrip,
} from '../../../test/helpers/clickhouse-types.js';
import type { ColumnSchema } from '../../core/change-event.js';
import { valueToJson } from '../../core/event-json.js';
import {
  Decimal,
  INFINITY_MICROS,
  NEG_INFINITY_MICROS,
  PgDate,
  PgTimestamp,
  PgTimestampTz,
  type Value,
} from '../../core/values.js';
import { quoteName } from './connect.js';
import {
  DATE32_MAX_DAYS,
  DATE32_MIN_DAYS,
  DATETIME64_MAX_MICROS,
  DATETIME64_MIN_MICROS,
} from './scalar-codecs.js';
import { clickhouseType, UnfitValue } from './type-mapping.js';

/** Values each type refuses (never clamps), with a value it holds, for its widening. */
const UNFIT: readonly { column: ColumnSchema; fits: Value; unfit: readonly Value[] }[] = [
  {
    column: column('u_numeric', 1700, numericMod(12, 4)),
    fits: new Decimal('-12.5000'),
    unfit: [
      new Decimal('NaN'),
      new Decimal('Infinity'),
      new Decimal('123456789.0000'),
      new Decimal('0.00001'),
    ],
  },
  {
    column: column('u_date', 1082),
    fits: new PgDate(day(2024, 2, 29)),
    unfit: [
      new PgDate(Number.POSITIVE_INFINITY),
      new PgDate(Number.NEGATIVE_INFINITY),
      new PgDate(DATE32_MIN_DAYS - 1),
      new PgDate(DATE32_MAX_DAYS + 1),
      new PgDate(day(-4712, 1, 1)),
      new PgDate(day(5_874_897, 12, 31)),
    ],
  },
  {
    column: column('u_timestamptz', 1184),
    fits: new PgTimestampTz(micros(2024, 2, 29, 1n)),
    unfit: [
      new PgTimestampTz(INFINITY_MICROS),
      new PgTimestampTz(NEG_INFINITY_MICROS),
      new PgTimestampTz(DATETIME64_MIN_MICROS - 1n),
      new PgTimestampTz(DATETIME64_MAX_MICROS + 1n),
      new PgTimestampTz(micros(294_276, 12, 31, 86_399_999_999n)),
      new PgTimestampTz(micros(-4713, 11, 24)),
    ],
  },
  {
    column: column('u_timestamp', 1114),
    fits: new PgTimestamp(-1n),
    unfit: [new PgTimestamp(INFINITY_MICROS), new PgTimestamp(micros(1000, 1, 1))],
  },
  {
    column: column('u_int4s', 1007),
    fits: [1, null, -3],
    unfit: [
      [
        [1, 2],
        [3, 4],
      ],
      '[0:1]={1,2}',
      [[null]],
    ],
  },
  {
    column: column('u_dates', 1182),
    fits: [new PgDate(0), null],
    unfit: [[new PgDate(Number.POSITIVE_INFINITY), null], [[new PgDate(0)]]],
  },
  {
    column: column('u_numerics', 1231, numericMod(5, 2)),
    fits: [new Decimal('1.50'), null, new Decimal('-999.99')],
    unfit: [[new Decimal('NaN')]],
  },
  {
    column: column('u_texts', 1009),
    fits: ['a"b', null, 'ü/\\', ''],
    unfit: [
      [
        ['a', 'b'],
        ['c', null],
      ],
    ],
  },
  {
    column: column('u_floats', 1022),
    fits: [Number.NaN, null, -0, 1e300, -Infinity],
    unfit: [[[0.5]]],
  },
  {
    column: column('u_int_list', 90_004),
    fits: [[1, 2], [null]],
    unfit: [[[1], null], [[[1]]]],
  },
];

describe('values a ClickHouse type cannot hold', () => {
  let ch: TestClickHouse;
  beforeAll(async () => {
    ch = await freshClickHouse('unfit');
  }, 60_000);
  afterAll(async () => ch?.drop());

  it.each(UNFIT)(
    '$column.name refuses each, naming the column, and its widening holds them exactly',
    async (u) => {
      const type = clickhouseType(u.column, lookup);
      for (const value of u.unfit) {
        let refused: unknown = null;
        try {
          type.encode(value);
        } catch (error) {
          refused = error;
        }
        expect(refused, JSON.stringify(valueToJson(value))).toBeInstanceOf(UnfitValue);
        expect((refused as UnfitValue).message).toMatch(new RegExp(`^${u.column.name}: `));
        expect((refused as UnfitValue).sql).toBe(type.sql);
      }
      const widening = type.widening;
      expect(widening).toBeDefined();
      if (!widening) return;
      // the stored value of the original type, converted on the server, reads as the widened text
      const table = `w_${u.column.name}`;
      await roundTrip(ch, table, type, [u.fits]);
      const converted = await ch.rows<{ t: string | null }>(
        `SELECT if(isNull(v), NULL, ${widening.convertSql('v')}) AS t FROM ${quoteName(table)} ORDER BY id`,
      );
      const first = converted[0]?.t;
      expect(typeof first).toBe('string');
      expect(valueToJson(widening.type.decode(first))).toEqual(valueToJson(u.fits));
      // and the widened String column holds every value, the unfit ones included
      const all = [u.fits, ...u.unfit];
      const back = await roundTrip(ch, `s_${u.column.name}`, widening.type, all);
      expect(exact(back)).toEqual(exact([...all, null]));
    },
  );
});
