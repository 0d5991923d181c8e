import { describe, expect, it } from 'vitest';
import { Decimal, type Value } from '../../../core/values.js';
import { decodeArray } from './array.js';
import { decodeInt4 } from './integers.js';
import { decodeNumeric } from './numeric.js';
import { decodeText } from './scalars.js';

const COMMA = 44;
const SEMICOLON = 59;
const text = (s: string): Value => decodeArray(s, COMMA, decodeText, 'text[]');
const ints = (s: string): Value => decodeArray(s, COMMA, decodeInt4, 'int4[]');

describe('decodeArray', () => {
  it('decodes flat arrays with NULLs', () => {
    expect(ints('{1,2,NULL}')).toEqual([1, 2, null]);
    expect(ints('{-2147483648,2147483647}')).toEqual([-2147483648, 2147483647]);
    expect(ints('{}')).toEqual([]);
    expect(ints('{NULL}')).toEqual([null]);
  });

  it('treats only unquoted NULL, in any case, as null', () => {
    expect(text('{"a,b","\\"q\\"","NULL",null,NuLl,"null"}')).toEqual([
      'a,b',
      '"q"',
      'NULL',
      null,
      null,
      'null',
    ]);
    expect(text('{NULLx,xNULL}')).toEqual(['NULLx', 'xNULL']);
  });

  it('unescapes backslashes inside and outside quotes', () => {
    expect(text('{"\\\\","a\\\\b","\\"","\\x"}')).toEqual(['\\', 'a\\b', '"', 'x']);
    expect(text('{a\\,b,c\\"d,\\N\\U\\L\\L,e\\ }')).toEqual(['a,b', 'c"d', 'NULL', 'e ']);
    expect(text('{"\\\\\\"\\\\"}')).toEqual(['\\"\\']);
  });

  it('keeps what array_out quotes: empty, braces, whitespace, delimiters, unicode', () => {
    const printed = '{a,"b c","","NULL",NULL,"\\\\","\\"q\\"","{x}"," lead","trail ","a,b",ü€😀,"\\t",";"}';
    expect(text(printed)).toEqual([
      'a',
      'b c',
      '',
      'NULL',
      null,
      '\\',
      '"q"',
      '{x}',
      ' lead',
      'trail ',
      'a,b',
      'ü€😀',
      't',
      ';',
    ]);
    expect(text('{"\t\n"}')).toEqual(['\t\n']);
  });

  it('ignores whitespace around elements and braces, as array_in does', () => {
    expect(ints(' { 1 , 2 ,\tNULL\n} ')).toEqual([1, 2, null]);
    expect(text('{ "a" , b c , d }')).toEqual(['a', 'b c', 'd']);
    expect(ints('{ { 1 , 2 } , { 3 , 4 } }')).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it('decodes nested arrays of any depth', () => {
    expect(ints('{{1,2},{3,4}}')).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(ints('{{{1}},{{2}}}')).toEqual([[[1]], [[2]]]);
    expect(ints('{{NULL,NULL}}')).toEqual([[null, null]]);
    expect(text('{{"{",a},{"}",NULL}}')).toEqual([
      ['{', 'a'],
      ['}', null],
    ]);
    const deep = `${'{'.repeat(6)}7${'}'.repeat(6)}`;
    expect(ints(deep)).toEqual([[[[[[7]]]]]]);
  });

  it("splits on the element type's delimiter (box uses ';')", () => {
    expect(decodeArray('{(1,1),(0,0);(3,3),(2,2)}', SEMICOLON, decodeText, 'box[]')).toEqual([
      '(1,1),(0,0)',
      '(3,3),(2,2)',
    ]);
    expect(decodeArray('{{"a;b";c};{d;NULL}}', SEMICOLON, decodeText, 'box[]')).toEqual([
      ['a;b', 'c'],
      ['d', null],
    ]);
  });

  it('runs every element through the element decoder', () => {
    const value = decodeArray('{1.50,NaN,-0.001}', COMMA, decodeNumeric, 'numeric[]') as Value[];
    expect(value.map((v) => (v as Decimal).text)).toEqual(['1.50', 'NaN', '-0.001']);
    expect(value[0]).toBeInstanceOf(Decimal);
    expect(() => ints('{1,x}')).toThrow(expect.objectContaining({ code: 'DECODE' }));
  });

  it('returns the exact text for non-default lower bounds, after checking it', () => {
    expect(ints('[0:1]={1,2}')).toBe('[0:1]={1,2}');
    expect(ints('[-3:-2][1:2]={{1,2},{3,4}}')).toBe('[-3:-2][1:2]={{1,2},{3,4}}');
    expect(ints('[0:1][2:3]={{1,2},{3,4}}')).toBe('[0:1][2:3]={{1,2},{3,4}}');
    for (const bad of ['[0:1]{1,2}', '[0-1]={1}', '[0:1]=', '[a:1]={1}', '[0:1]={1,x}']) {
      expect(() => ints(bad), bad).toThrow(expect.objectContaining({ code: 'DECODE' }));
    }
  });

  it('decodes big arrays', () => {
    const n = 100_000;
    const literal = `{${Array.from({ length: n }, (_, i) => (i % 7 === 0 ? 'NULL' : String(i))).join(',')}}`;
    const value = ints(literal) as Value[];
    expect(value).toHaveLength(n);
    expect(value[7]).toBeNull();
    expect(value[n - 1]).toBe(n - 1);
  });

  it('rejects malformed literals naming the array type', () => {
    for (const bad of [
      '',
      '1,2',
      '{',
      '{1',
      '{1,',
      '{1,}',
      '{,1}',
      '{1}}',
      '{1} x',
      '{{1}',
      '{"a}',
      '{"a"b}',
      '{a"b}',
      '{a{b}',
      '{1 2,}',
      '{a\\}',
    ]) {
      expect(() => text(bad), bad).toThrow(
        expect.objectContaining({ code: 'DECODE', message: expect.stringContaining('text[]') }),
      );
    }
  });
});
