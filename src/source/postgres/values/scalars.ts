/**
 * The simple scalars: boolean ('t' / 'f'), json and jsonb (`PgJson` holding the exact text, so
 * big numbers, key order and duplicate keys survive), and every type kept as its exact text
 * (text, varchar, bpchar with its padding, name, "char", uuid, inet, cidr, macaddr, money, xml,
 * bit, tsvector, geometric types, ranges, enums, composites, extension types, ...).
 */
import { PgJson } from '../../../core/values.js';
import { decodeError } from './decode-error.js';

export function decodeBool(text: string): boolean {
  if (text === 't') return true;
  if (text === 'f') return false;
  throw decodeError('boolean', text);
}

export function decodeJson(text: string): PgJson {
  return new PgJson(text);
}

export function decodeText(text: string): string {
  return text;
}
