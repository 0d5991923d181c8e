/**
 * The relations a model's SQL reads, from DuckDB's own parser: `json_serialize_sql()` gives the
 * parsed statement as JSON, and every `BASE_TABLE` in it is a relation read — except a name
 * that a WITH clause in scope defines (a CTE is not a dependency). Table functions
 * (`read_parquet(...)`, `range(...)`) are not relations. The serializer accepts SELECT
 * statements only, so anything else (and more than one statement) is refused here too.
 */
import type { DuckDBConnection } from '@duckdb/node-api';

/** A relation as the SQL names it; empty strings where it gives no schema or catalog. */
export interface RelationRef {
  readonly catalog: string;
  readonly schema: string;
  readonly name: string;
}

export type ParsedModelSql =
  | { readonly ok: true; readonly refs: readonly RelationRef[] }
  | { readonly ok: false; readonly problem: string };

/** Parses `sql` with DuckDB (`connection` may be any, e.g. an in-memory database's). */
export async function parseModelSql(connection: DuckDBConnection, sql: string): Promise<ParsedModelSql> {
  const reader = await connection.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql]);
  const text = String(reader.getRows()[0]?.[0] ?? '');
  return readSerialized(JSON.parse(text) as Serialized);
}

interface Serialized {
  readonly error: boolean;
  readonly error_message?: string;
  readonly statements?: readonly unknown[];
}

/** The relations of a `json_serialize_sql()` result, or what is wrong with the SQL. */
export function readSerialized(parsed: Serialized): ParsedModelSql {
  if (parsed.error) {
    const message = parsed.error_message ?? 'it does not parse';
    return {
      ok: false,
      problem: /Only SELECT/i.test(message)
        ? 'it is not a SELECT (a model is one SELECT statement)'
        : message,
    };
  }
  const statements = parsed.statements ?? [];
  if (statements.length !== 1) {
    return {
      ok: false,
      problem: `it holds ${statements.length} statements; a model is one SELECT statement`,
    };
  }
  const refs: RelationRef[] = [];
  visit(statements[0], new Set(), refs);
  const seen = new Set<string>();
  return {
    ok: true,
    refs: refs.filter((r) => {
      const key = `${r.catalog}\u0000${r.schema}\u0000${r.name}`.toLowerCase();
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    }),
  };
}

function visit(value: unknown, ctes: ReadonlySet<string>, out: RelationRef[]): void {
  if (Array.isArray(value)) {
    for (const v of value) visit(v, ctes, out);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const node = value as Record<string, unknown>;
  let scope = ctes;
  const map = (node.cte_map as { map?: unknown } | undefined)?.map;
  if (Array.isArray(map) && map.length > 0) {
    const names = new Set(ctes);
    for (const entry of map) {
      const key = (entry as { key?: unknown }).key;
      if (typeof key === 'string') names.add(key.toLowerCase());
    }
    scope = names;
  }
  if (node.type === 'BASE_TABLE' && typeof node.table_name === 'string') {
    const ref: RelationRef = {
      catalog: typeof node.catalog_name === 'string' ? node.catalog_name : '',
      schema: typeof node.schema_name === 'string' ? node.schema_name : '',
      name: node.table_name,
    };
    if (ref.catalog !== '' || ref.schema !== '' || !scope.has(ref.name.toLowerCase())) out.push(ref);
  }
  for (const child of Object.values(node)) visit(child, scope, out);
}
