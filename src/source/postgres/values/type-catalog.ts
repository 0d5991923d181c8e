/**
 * Reads what the TypeRegistry needs about user-defined types from pg_type: for the OIDs asked
 * and, recursively, for the base types of domains and the element types of arrays they
 * reference (built-in types are known statically and not read). One query per level of
 * references, each with the OIDs bound as an array parameter. An OID that is not in pg_type
 * (a type dropped meanwhile) is simply absent from the result; its values decode as text.
 *
 * A base type counts as an array when its output function is array_out and it has an element
 * type: that is what makes its text an array literal (int2vector, also subscriptable, prints
 * '1 2 3' and is not one).
 */
import type pg from 'pg';
import { BUILTIN_TYPES } from './builtin-types.js';
import type { TypeInfo, TypeKind } from './type-registry.js';

const QUERY = `
SELECT t.oid, n.nspname AS schema, t.typname AS name, t.typtype AS typtype,
       t.typbasetype AS base, t.typelem AS elem, t.typdelim AS delim,
       t.typoutput = 'pg_catalog.array_out'::pg_catalog.regproc AS array_out
  FROM pg_catalog.pg_type t
  JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
 WHERE t.oid = ANY($1::pg_catalog.oid[])`;

interface Row {
  oid: number | string;
  schema: string;
  name: string;
  typtype: string;
  base: number | string;
  elem: number | string;
  delim: string;
  array_out: boolean;
}

const KINDS: Readonly<Record<string, TypeKind>> = {
  b: 'base',
  c: 'composite',
  d: 'domain',
  e: 'enum',
  p: 'pseudo',
  r: 'range',
  m: 'multirange',
};

/** Levels of domain-over-array-of-domain references followed before giving up. */
const MAX_LEVELS = 32;

export async function loadTypeInfo(client: pg.ClientBase, oids: readonly number[]): Promise<TypeInfo[]> {
  const found: TypeInfo[] = [];
  const asked = new Set<number>();
  let pending = [...new Set(oids)].filter((oid) => !BUILTIN_TYPES.has(oid));
  for (let level = 0; pending.length > 0 && level < MAX_LEVELS; level++) {
    for (const oid of pending) asked.add(oid);
    const { rows } = await client.query<Row>(QUERY, [pending]);
    const next = new Set<number>();
    for (const row of rows) {
      const info = toTypeInfo(row);
      found.push(info);
      for (const ref of [info.baseTypeOid, info.elementOid]) {
        if (ref !== undefined && !asked.has(ref) && !BUILTIN_TYPES.has(ref)) next.add(ref);
      }
    }
    pending = [...next];
  }
  return found;
}

function toTypeInfo(row: Row): TypeInfo {
  const oid = Number(row.oid);
  const base = Number(row.base);
  const elem = Number(row.elem);
  let kind = KINDS[row.typtype] ?? 'base';
  if (kind === 'base' && row.array_out && elem !== 0) kind = 'array';
  return {
    oid,
    schema: row.schema,
    name: row.name,
    kind,
    ...(kind === 'domain' && base !== 0 ? { baseTypeOid: base } : {}),
    ...(kind === 'array' ? { elementOid: elem } : {}),
    delimiter: row.delim,
  };
}
