import { describe, expect, it } from 'vitest';
import { Decimal, PgDate, PgInterval, PgJson, PgTimestampTz, type Value } from '../../../core/values.js';
import { BUILTIN_TYPES } from './builtin-types.js';
import { type TypeInfo, TypeRegistry } from './type-registry.js';

const MONEY_DOMAIN: TypeInfo = {
  oid: 20_001,
  schema: 'public',
  name: 'price',
  kind: 'domain',
  baseTypeOid: 1700,
  delimiter: ',',
};
const PRICE_ARRAY: TypeInfo = {
  oid: 20_002,
  schema: 'public',
  name: '_price',
  kind: 'array',
  elementOid: 20_001,
};
const INTS_DOMAIN: TypeInfo = {
  oid: 20_003,
  schema: 'public',
  name: 'ints',
  kind: 'domain',
  baseTypeOid: 1007,
};
const MOOD: TypeInfo = { oid: 20_004, schema: 'Odd Schema', name: 'mood', kind: 'enum', delimiter: ',' };
const MOOD_ARRAY: TypeInfo = {
  oid: 20_005,
  schema: 'Odd Schema',
  name: '_mood',
  kind: 'array',
  elementOid: 20_004,
};
const BOX_DOMAIN: TypeInfo = {
  oid: 20_006,
  schema: 'public',
  name: 'frame',
  kind: 'domain',
  baseTypeOid: 603,
  delimiter: ';',
};
const BOX_DOMAIN_ARRAY: TypeInfo = {
  oid: 20_007,
  schema: 'public',
  name: '_frame',
  kind: 'array',
  elementOid: 20_006,
};
const INTS_DOMAIN_ARRAY: TypeInfo = {
  oid: 20_008,
  schema: 'public',
  name: '_ints',
  kind: 'array',
  elementOid: 20_003,
};
const DOMAIN_OVER_DOMAIN: TypeInfo = {
  oid: 20_009,
  schema: 'public',
  name: 'cheap',
  kind: 'domain',
  baseTypeOid: 20_001,
};

function registry(...infos: TypeInfo[]): TypeRegistry {
  const r = new TypeRegistry();
  r.registerAll(infos);
  return r;
}

describe('TypeRegistry', () => {
  it('knows the built-in scalars and their arrays statically', () => {
    const r = new TypeRegistry();
    expect(r.decoderFor(23)('42')).toBe(42);
    expect(r.decoderFor(20)('42')).toBe(42n);
    expect(r.decoderFor(1007)('{1,NULL}')).toEqual([1, null]);
    expect(r.decoderFor(1016)('{9223372036854775807}')).toEqual([9223372036854775807n]);
    expect((r.decoderFor(1231)('{1.50}') as Value[])[0]).toEqual(new Decimal('1.50'));
    expect((r.decoderFor(1185)('{"1970-01-01 00:00:00+00"}') as Value[])[0]).toEqual(new PgTimestampTz(0n));
    expect((r.decoderFor(1182)('{1970-01-02}') as Value[])[0]).toEqual(new PgDate(1));
    expect((r.decoderFor(3807)('{"{\\"a\\": 1}"}') as Value[])[0]).toEqual(new PgJson('{"a": 1}'));
    expect((r.decoderFor(1187)('{"1 day"}') as Value[])[0]).toEqual(new PgInterval(0, 1, 0n));
    expect(r.decoderFor(1000)('{t,f,NULL}')).toEqual([true, false, null]);
    expect(r.decoderFor(1020)('{(1,1),(0,0);(2,2),(1,1)}')).toEqual(['(1,1),(0,0)', '(2,2),(1,1)']);
    expect(r.decoderFor(22)('1 2 3')).toBe('1 2 3');
    expect(r.unknownOids([23, 1007, 1020, 3904, 705])).toEqual([]);
  });

  it('has an array entry for every built-in array OID the task lists', () => {
    for (const oid of [
      1007, 1016, 1231, 1185, 1115, 1182, 199, 3807, 2951, 1001, 1009, 1000, 1021, 1022, 1183, 1270, 1187,
      1041,
    ]) {
      expect(BUILTIN_TYPES.get(oid)?.elementOid, String(oid)).toBeTypeOf('number');
    }
  });

  it('decodes unknown OIDs as exact text, never throwing', () => {
    const r = new TypeRegistry();
    expect(r.decoderFor(987_654)('anything {at} all')).toBe('anything {at} all');
    expect(r.unknownOids([987_654, 23, 987_654, 987_655])).toEqual([987_654, 987_655]);
  });

  it('decodes domains as their base type, recursively', () => {
    const r = registry(MONEY_DOMAIN, INTS_DOMAIN, DOMAIN_OVER_DOMAIN);
    expect(r.decoderFor(MONEY_DOMAIN.oid)('12.50')).toEqual(new Decimal('12.50'));
    expect(r.decoderFor(DOMAIN_OVER_DOMAIN.oid)('-1')).toEqual(new Decimal('-1'));
    expect(r.decoderFor(INTS_DOMAIN.oid)('{{1,2},{3,NULL}}')).toEqual([
      [1, 2],
      [3, null],
    ]);
  });

  it("decodes arrays of user types through the element's decoder and delimiter", () => {
    const r = registry(MONEY_DOMAIN, PRICE_ARRAY, MOOD, MOOD_ARRAY, BOX_DOMAIN, BOX_DOMAIN_ARRAY);
    expect(r.decoderFor(PRICE_ARRAY.oid)('{1.0,NULL}')).toEqual([new Decimal('1.0'), null]);
    expect(r.decoderFor(MOOD_ARRAY.oid)('{happy,"so so",NULL}')).toEqual(['happy', 'so so', null]);
    expect(r.decoderFor(MOOD.oid)('happy')).toBe('happy');
    expect(r.decoderFor(BOX_DOMAIN_ARRAY.oid)('{(1,1),(0,0);(2,2),(1,1)}')).toEqual([
      '(1,1),(0,0)',
      '(2,2),(1,1)',
    ]);
  });

  it('decodes arrays of domains over arrays', () => {
    const r = registry(INTS_DOMAIN, INTS_DOMAIN_ARRAY);
    expect(r.decoderFor(INTS_DOMAIN_ARRAY.oid)('{"{1,2}",NULL,"{}"}')).toEqual([[1, 2], null, []]);
  });

  it('names the array type in element errors', () => {
    const r = registry(MONEY_DOMAIN, PRICE_ARRAY);
    expect(() => r.decoderFor(PRICE_ARRAY.oid)('{1,')).toThrow(
      expect.objectContaining({ message: expect.stringContaining('public.price[]') }),
    );
    expect(() => r.decoderFor(PRICE_ARRAY.oid)('{x}')).toThrow(
      expect.objectContaining({ message: expect.stringContaining('numeric') }),
    );
  });

  it('reports the base and element types it still needs', () => {
    const r = registry(PRICE_ARRAY, MOOD_ARRAY, INTS_DOMAIN);
    expect(r.unknownOids([PRICE_ARRAY.oid, MOOD_ARRAY.oid, INTS_DOMAIN.oid, 30_000])).toEqual([
      MONEY_DOMAIN.oid,
      MOOD.oid,
      30_000,
    ]);
    // Until then, the elements are text.
    expect(r.decoderFor(PRICE_ARRAY.oid)('{1.0}')).toEqual(['1.0']);
    r.register(MONEY_DOMAIN);
    expect(r.decoderFor(PRICE_ARRAY.oid)('{1.0}')).toEqual([new Decimal('1.0')]);
  });

  it('decodes enums, composites, ranges, multiranges, pseudo and extension base types as text', () => {
    const r = registry(
      { oid: 21_001, schema: 's', name: 'pair', kind: 'composite' },
      { oid: 21_002, schema: 's', name: 'floatrange', kind: 'range' },
      { oid: 21_003, schema: 's', name: 'floatmultirange', kind: 'multirange' },
      { oid: 21_004, schema: 's', name: 'hstore', kind: 'base' },
      { oid: 21_005, schema: 's', name: 'whatever', kind: 'pseudo' },
    );
    for (const [oid, text] of [
      [21_001, '(1,"a b")'],
      [21_002, '[1.5,2)'],
      [21_003, '{[1,2)}'],
      [21_004, '"a"=>"b"'],
      [21_005, 'x'],
    ] as const) {
      expect(r.decoderFor(oid)(text)).toBe(text);
    }
  });

  it('survives cyclic or dangling catalog info', () => {
    const r = registry(
      { oid: 22_001, schema: 's', name: 'a', kind: 'domain', baseTypeOid: 22_002 },
      { oid: 22_002, schema: 's', name: 'b', kind: 'domain', baseTypeOid: 22_001 },
      { oid: 22_003, schema: 's', name: 'c', kind: 'array' },
    );
    expect(r.decoderFor(22_001)('x')).toBe('x');
    expect(r.decoderFor(22_003)('{1}')).toBe('{1}');
    expect(r.unknownOids([22_001, 22_003])).toEqual([]);
  });

  it('ignores attempts to redefine built-in OIDs', () => {
    const r = registry({ oid: 23, schema: 'evil', name: 'int4', kind: 'enum' });
    expect(r.decoderFor(23)('1')).toBe(1);
  });

  it('names types', () => {
    const r = registry(MOOD, MOOD_ARRAY);
    expect(r.nameOf(23)).toBe('int4');
    expect(r.nameOf(1007)).toBe('int4[]');
    expect(r.nameOf(MOOD.oid)).toBe('Odd Schema.mood');
    expect(r.nameOf(1)).toBe('#1');
    expect(r.info(MOOD.oid)).toEqual(MOOD);
  });
});
