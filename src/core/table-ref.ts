/** A schema-qualified table name, and the one place names are quoted for SQL and for display. */

export interface TableRef {
  readonly schema: string;
  readonly name: string;
}

const PLAIN_IDENTIFIER = /^[a-z_][a-z0-9_$]*$/;

/** Quotes an identifier for Postgres (and DuckDB): always safe, whatever the name holds. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes only where needed, for messages and the `--tables` syntax users type. */
export function displayIdentifier(name: string): string {
  return PLAIN_IDENTIFIER.test(name) ? name : quoteIdentifier(name);
}

export function qualifiedName(table: TableRef): string {
  return `${quoteIdentifier(table.schema)}.${quoteIdentifier(table.name)}`;
}

export function displayName(table: TableRef): string {
  return `${displayIdentifier(table.schema)}.${displayIdentifier(table.name)}`;
}

export function sameTable(a: TableRef, b: TableRef): boolean {
  return a.schema === b.schema && a.name === b.name;
}
