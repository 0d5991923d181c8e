/**
 * The relation a metric reads, found in the warehouse: a curated model (DuckDB schema `models`)
 * of that name first, else a replicated table by the `--tables` rules (`orders` is
 * `public.orders`, kept in DuckDB's `main`; `sales.orders` in `sales`). Its columns and their
 * types come from information_schema; the expressions a definition writes are checked here too.
 */
import { TributaryError } from '../core/errors.js';
import { quoteIdentifier as q } from '../core/table-ref.js';
import { parseTableList } from '../source/postgres/setup/tables.js';
import type { Db } from '../warehouse/duckdb/db.js';
import { duckSchemaOf } from '../warehouse/duckdb/tables.js';

import type { Relation } from './metrics-engine.js';

export type { Relation };

export const MODELS_SCHEMA = 'models';

async function columnsOf(db: Db, schema: string, table: string): Promise<Map<string, string>> {
  const rows = await db.rows(
    `SELECT column_name, upper(data_type) FROM information_schema.columns
      WHERE table_catalog = current_database() AND table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
    [schema, table],
  );
  return new Map(rows.map((r) => [String(r[0]), String(r[1])]));
}

/** The relation `model` names, or null when neither a model nor a table of that name exists. */
export async function findRelation(db: Db, model: string): Promise<Relation | null> {
  const asModel = await columnsOf(db, MODELS_SCHEMA, model);
  if (asModel.size > 0) return { model, sql: `${q(MODELS_SCHEMA)}.${q(model)}`, columns: asModel };
  let tables: ReturnType<typeof parseTableList>;
  try {
    tables = parseTableList(model);
  } catch {
    return null;
  }
  const [table] = tables;
  if (!table || tables.length !== 1) return null;
  const schema = duckSchemaOf(table);
  const columns = await columnsOf(db, schema, table.name);
  if (columns.size === 0) return null;
  return { model, sql: `${q(schema)}.${q(table.name)}`, columns };
}

/** What kind of time a column holds, or null when it is not a time. */
export function timeKind(type: string): 'TIMESTAMPTZ' | 'TIMESTAMP' | 'DATE' | null {
  if (type === 'TIMESTAMP WITH TIME ZONE') return 'TIMESTAMPTZ';
  if (type === 'DATE') return 'DATE';
  if (/^TIMESTAMP(_S|_MS|_NS)?$/.test(type) || type === 'TIMESTAMP WITHOUT TIME ZONE') return 'TIMESTAMP';
  return null;
}

/**
 * Checks that `text` is one SQL expression and nothing else: DuckDB's own parser reads
 * `SELECT (<text>)`, which must give one statement selecting one expression from nothing, with
 * no subquery anywhere (a definition reads its model, not other tables). Returns a problem, or null.
 */
export async function expressionProblem(db: Db, text: string): Promise<string | null> {
  const rows = await db.rows('SELECT json_serialize_sql($1::VARCHAR)::VARCHAR', [`SELECT (${text})`]);
  const tree = JSON.parse(String(rows[0]?.[0])) as {
    error: boolean;
    error_message?: string;
    statements?: { node: Record<string, unknown> }[];
  };
  if (tree.error) return `not a SQL expression (${tree.error_message ?? 'does not parse'})`;
  const statements = tree.statements ?? [];
  const node = statements[0]?.node;
  if (
    statements.length !== 1 ||
    !node ||
    node.type !== 'SELECT_NODE' ||
    !Array.isArray(node.select_list) ||
    node.select_list.length !== 1 ||
    (node.from_table as { type?: string } | undefined)?.type !== 'EMPTY' ||
    node.where_clause !== null ||
    node.having !== null ||
    node.qualify !== null ||
    (Array.isArray(node.group_expressions) && node.group_expressions.length > 0) ||
    (Array.isArray(node.modifiers) && node.modifiers.length > 0)
  )
    return 'not a single expression';
  if (JSON.stringify(node.select_list).includes('"class":"SUBQUERY"')) return 'a subquery is not allowed';
  return null;
}

/** Prepares (never runs) `sql` against the warehouse: the message of DuckDB's error, or null. */
export async function prepareProblem(db: Db, sql: string): Promise<string | null> {
  try {
    await db.connection.prepare(sql);
    return null;
  } catch (error) {
    return (error as Error).message.split('\n')[0] ?? 'does not prepare';
  }
}

/** What a model may name in a DuckDB warehouse. */
export const DUCKDB_MODEL_HINT = `name a curated model (schema ${MODELS_SCHEMA}) or a replicated table (orders, sales.orders); \`tributary query "SHOW ALL TABLES"\` lists them`;

export function unknownModel(model: string, where: string, hint: string): TributaryError {
  return new TributaryError('CONFIG', `${where}: unknown model ${JSON.stringify(model)}`, { hint });
}
