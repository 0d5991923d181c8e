/**
 * A metric definition checked against a ClickHouse warehouse (metrics-engine.ts's
 * DefinitionChecks): the relation a model names is the analyst's view (or table) of that name in
 * the warehouse's database (warehouse/clickhouse/layout.ts: `orders` for public.orders,
 * `sales.orders` for another schema), its columns from system.columns; an expression is
 * checked with ClickHouse's own parser (`EXPLAIN AST`) to be one expression reading only the
 * relation's row: no subquery, no table, no dictionary or join-table lookup, no settings, no
 * comment or second statement. Every statement here runs with `readonly` set.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { parseTableList } from '../../source/postgres/setup/tables.js';
import { quoteName } from '../../warehouse/clickhouse/connect.js';
import { viewName } from '../../warehouse/clickhouse/layout.js';
import type { DefinitionChecks, PrepareProblem, Relation } from '../metrics-engine.js';
import type { Leaf } from '../plan.js';
import { CLICKHOUSE_METRIC_SETTINGS, readRows } from './read-rows.js';

export function clickhouseChecks(client: ClickHouseClient): DefinitionChecks {
  return {
    findRelation: (model) => findRelation(client, model),
    modelHint:
      'name a replicated table by its view (orders for public.orders, sales.orders for another schema) or a table of the warehouse database; `tributary query "SHOW TABLES"` lists them',
    timeKind,
    expressionProblem: (text) => expressionProblem(client, text),
    prepareProblem: (sql) => prepareProblem(client, sql),
  };
}

async function findRelation(client: ClickHouseClient, model: string): Promise<Relation | null> {
  let tables: ReturnType<typeof parseTableList>;
  try {
    tables = parseTableList(model);
  } catch {
    return null;
  }
  const [table] = tables;
  if (!table || tables.length !== 1) return null;
  const name = viewName(table);
  const rows = await readRows(
    client,
    `SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {name:String} ORDER BY position`,
    { name },
  );
  if (rows.length === 0) return null;
  return { model, sql: quoteName(name), columns: new Map(rows.map((r) => [String(r[0]), String(r[1])])) };
}

/** What kind of time a ClickHouse type holds: a zone written in the type makes an instant. */
export function timeKind(type: string): Leaf['timeKind'] | null {
  const bare = type.replace(/^(?:Nullable|LowCardinality)\((.*)\)$/, '$1');
  if (/^Date(32)?$/.test(bare)) return 'DATE';
  if (/^DateTime(64)?\(.*'[^']+'\)$/.test(bare)) return 'TIMESTAMPTZ';
  if (/^DateTime(64)?(\(\d+\))?$/.test(bare)) return 'TIMESTAMP';
  return null;
}

/** Functions that read something other than the row: refused in a definition's expressions. */
const OTHER_DATA = /^Function (dict\w*|joinGet\w*|getSetting\w*|hasColumnInTable|input|file|url|s3)\b/;

async function expressionProblem(client: ClickHouseClient, text: string): Promise<string | null> {
  // strings removed, no comment or statement separator may remain (the text is pasted in SQL)
  const outsideStrings = text.replace(/'(?:[^'\\]|\\.|'')*'/g, "''");
  if (/--|\/\*|#|;/.test(outsideStrings)) return 'not a single expression (a comment or a ;)';
  let tree: string[];
  try {
    const result = await client.query({
      query: `EXPLAIN AST SELECT (\n${text}\n)`,
      format: 'TabSeparatedRaw',
      clickhouse_settings: CLICKHOUSE_METRIC_SETTINGS,
    });
    // one node per line, indented by depth (chdb quotes each line)
    tree = (await result.text())
      .split('\n')
      .map((line) => line.replace(/^"(.*)"$/, '$1'))
      .filter((line) => line.trim().length > 0);
  } catch (error) {
    return `not a SQL expression (${firstLine(error)})`;
  }
  // SelectWithUnionQuery > ExpressionList (one select) > SelectQuery (only its list) > ExpressionList (one)
  if (
    !/^SelectWithUnionQuery \(children [12]\)$/.test(tree[0] ?? '') ||
    tree[1] !== ' ExpressionList (children 1)' ||
    tree[2] !== '  SelectQuery (children 1)' ||
    tree[3] !== '   ExpressionList (children 1)' ||
    tree.slice(4).some((line) => /^ {0,3}\S/.test(line) && !/^ Identifier \w+$/.test(line)) ||
    // `a, b` in parentheses reads as one tuple
    /^ {4}Function tuple\b/.test(tree[4] ?? '')
  )
    return 'not a single expression';
  const nodes = tree.slice(4).map((line) => line.trim());
  if (
    nodes.some((n) =>
      /^(Subquery|SelectWithUnionQuery|SelectQuery|TablesInSelectQuery|TableExpression)\b/.test(n),
    )
  )
    return 'a subquery is not allowed';
  if (nodes.some((n) => /^Set\b/.test(n))) return 'not a single expression (settings)';
  if (nodes.some((n) => OTHER_DATA.test(n)))
    return 'reads other data than its row (a dictionary, table or file)';
  // `x IN orders` reads a table: IN takes a list, a tuple or an array only
  for (let i = 0; i < nodes.length; i++)
    if (/^Function (global)?(not)?(null)?in\b/i.test(nodes[i] ?? '')) {
      const operands = operandsOf(tree.slice(4), i);
      const right = operands[1];
      if (right !== undefined && /^(Identifier|Function (?!tuple|array)\w+)/.test(right))
        return '`IN` reads a table or a table function: write a list (a, b)';
    }
  return null;
}

/** The operands of the function node at `index` (its ExpressionList's direct children). */
function operandsOf(lines: readonly string[], index: number): string[] {
  const depth = (line: string) => line.length - line.trimStart().length;
  const own = depth(lines[index] ?? '');
  const listDepth = own + 1;
  const operands: string[] = [];
  for (let i = index + 2; i < lines.length; i++) {
    const line = lines[i] as string;
    if (depth(line) <= listDepth) break;
    if (depth(line) === listDepth + 1) operands.push(line.trim());
  }
  return operands;
}

async function prepareProblem(client: ClickHouseClient, sql: string): Promise<PrepareProblem | null> {
  try {
    await readRows(client, `DESCRIBE TABLE (${sql})`);
    return null;
  } catch (error) {
    const message = firstLine(error);
    const column = /Unknown (?:expression (?:or function )?)?identifier `([^`]+)`/.exec(message)?.[1];
    return column ? { unknownColumn: column } : { message };
  }
}

function firstLine(error: unknown): string {
  return (
    (error instanceof Error ? error.message : String(error)).split('\n')[0]?.trim() ?? 'does not prepare'
  );
}
