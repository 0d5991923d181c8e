/**
 * SQL text for hints: statements a user or DBA can paste. Identifiers always go through
 * `quoteIdentifier`; string values through `quoteLiteral`. (Queries Tributary runs itself bind
 * values as parameters; this file is only for text shown to people.)
 */
import { qualifiedName, type TableRef } from '../../../core/table-ref.js';

export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** `"public"."a", "s"."B"`. */
export function tableListSql(tables: readonly TableRef[]): string {
  return tables.map(qualifiedName).join(', ');
}
