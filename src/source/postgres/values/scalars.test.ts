import { describe, expect, it } from 'vitest';
import { PgJson } from '../../../core/values.js';
import { decodeBool, decodeJson, decodeText } from './scalars.js';

describe('scalar decoders', () => {
  it('decodes booleans and nothing else', () => {
    expect(decodeBool('t')).toBe(true);
    expect(decodeBool('f')).toBe(false);
    for (const bad of ['true', 'false', 'T', '1', '0', '', 'yes']) {
      expect(() => decodeBool(bad), bad).toThrow(
        expect.objectContaining({ code: 'DECODE', message: expect.stringContaining('boolean') }),
      );
    }
  });

  it('keeps json text exactly: big numbers, key order, duplicate keys, whitespace', () => {
    const texts = [
      '{"b": 1, "a": 12345678901234567890123}',
      '{"a":1,"a":2}',
      '[1.0, 1e400, -0]',
      '"\\u0000 ü 😀"',
      'null',
      '  {"x" :  [ ] }  ',
    ];
    for (const text of texts) {
      const value = decodeJson(text);
      expect(value).toBeInstanceOf(PgJson);
      expect(value.text).toBe(text);
    }
    expect(decodeJson('{"a": [1, 2]}').parse()).toEqual({ a: [1, 2] });
  });

  it('keeps text exactly: empty, unicode, padding, control characters', () => {
    for (const text of ['', ' ', 'abc  ', 'ü€😀', '\t\n\r', 'a\\b"c', 'NULL', '\u{10FFFF}', '\uD800']) {
      expect(decodeText(text)).toBe(text);
    }
  });
});
