/**
 * SQL a caller sends over the network (`POST /api/sql`): one SELECT that reads the warehouse's
 * tables and nothing else — not the machine's files, not its environment, not other databases.
 *
 * Checked by DuckDB's own parser (`json_serialize_sql`, which serializes SELECT statements
 * only), then on the parsed tree:
 * - exactly one statement, and it is a SELECT (INSERT, UPDATE, DELETE, CREATE, DROP, ATTACH, COPY,
 *   PRAGMA, SET, INSTALL, LOAD, CALL... are refused by the serializer);
 * - every table it names (outside its own WITH clause) exists in the warehouse, and no name looks
 *   like a path or URL: DuckDB reads `FROM 'file.csv'` as a file when no table has that name;
 * - table functions only from a short list that reads no file (range, unnest, the catalog's);
 * - no function that reads files, the environment or settings (read_*, glob, getenv,
 *   current_setting, query, ...), nor one that runs SQL given as text.
 * Then it runs prepared (a SELECT again) on a connection of its own, in a READ ONLY transaction
 * that is rolled back, reading at most `maxRows` rows (plus one, to know it was cut).
 */
import { type DuckDBConnection, StatementType } from '@duckdb/node-api';
import { TributaryError } from '../../core/errors.js';
import { type RelationRef, readSerialized } from '../../models/model-refs.js';

export interface ReadOnlyAnswer {
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  /** JSON-friendly values: bigints and decimals as strings, lists as arrays, structs as objects. */
  readonly rows: readonly (readonly unknown[])[];
  readonly truncated: boolean;
}

/** Table functions that read only what the query gives them or the catalog. */
const TABLE_FUNCTIONS = new Set([
  'range',
  'generate_series',
  'unnest',
  'duckdb_tables',
  'duckdb_views',
  'duckdb_columns',
  'duckdb_schemas',
  'duckdb_types',
  'duckdb_constraints',
]);
/** Functions (scalar or table) that read files, the environment or settings, or run SQL text. */
const REFUSED_FUNCTIONS = new Set([
  'getenv',
  'current_setting',
  'glob',
  'query',
  'query_table',
  'sniff_csv',
  'json_execute_serialized_sql',
  'duckdb_secrets',
  'duckdb_settings',
  'duckdb_extensions',
  'which_secret',
  'load_aws_credentials',
]);
const REFUSED_PREFIXES = [
  'read_',
  'parquet_',
  'sqlite_',
  'postgres_',
  'mysql_',
  'iceberg_',
  'delta_',
  'http',
];
const PATH_LIKE = /[./\\:*?~]/;

const HINT =
  'send one SELECT over the warehouse tables (SELECT country, sum(total) FROM orders GROUP BY 1); ' +
  'the warehouse holds exactly the source rows: write to the source and let Tributary carry the change';

function refused(what: string): TributaryError {
  return new TributaryError('USAGE', `the SQL is refused: ${what}`, { hint: HINT });
}

/** Throws a USAGE error saying what is refused unless `sql` is one SELECT that reads only the warehouse. */
export async function checkReadOnly(connection: DuckDBConnection, sql: string): Promise<void> {
  const reader = await connection.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql]);
  const tree = JSON.parse(String(reader.getRows()[0]?.[0] ?? '{"error":true}')) as {
    error: boolean;
    error_message?: string;
    statements?: readonly unknown[];
  };
  if (tree.error) {
    const message = tree.error_message ?? 'it does not parse';
    throw /Only SELECT/i.test(message)
      ? refused('only one SELECT statement may run here (no INSERT, CREATE, COPY, ATTACH, SET, PRAGMA...)')
      : new TributaryError('USAGE', `the SQL does not parse: ${message}`, { hint: HINT });
  }
  const statements = tree.statements ?? [];
  if (statements.length !== 1) throw refused(`it holds ${statements.length} statements; send one SELECT`);
  const parsed = readSerialized(tree);
  if (!parsed.ok) throw refused(parsed.problem);
  for (const name of functionsOf(statements[0])) {
    const lower = name.function.toLowerCase();
    if (REFUSED_FUNCTIONS.has(lower) || REFUSED_PREFIXES.some((p) => lower.startsWith(p)))
      throw refused(`${name.function}() reads outside the warehouse`);
    if (name.table && !TABLE_FUNCTIONS.has(lower))
      throw refused(`the table function ${name.function}() may read outside the warehouse`);
  }
  for (const ref of parsed.refs) await checkRelation(connection, ref);
}

async function checkRelation(connection: DuckDBConnection, ref: RelationRef): Promise<void> {
  const shown = [ref.catalog, ref.schema, ref.name].filter((p) => p !== '').join('.');
  if (PATH_LIKE.test(ref.name))
    throw refused(`${JSON.stringify(shown)} names a file or URL, not a warehouse table`);
  const found = await connection.runAndReadAll(
    `SELECT count(*)::INTEGER FROM (
       SELECT database_name, schema_name, table_name AS name FROM duckdb_tables()
       UNION ALL SELECT database_name, schema_name, view_name FROM duckdb_views())
     WHERE lower(name) = lower($1) AND ($2 = '' OR lower(schema_name) = lower($2))
       AND ($3 = '' OR lower(database_name) = lower($3))`,
    [ref.name, ref.schema, ref.catalog],
  );
  if (Number(found.getRows()[0]?.[0] ?? 0) === 0)
    throw new TributaryError('USAGE', `the warehouse has no table ${JSON.stringify(shown)}`, {
      hint: 'name a replicated table (orders, sales.orders) or a model; SELECT * FROM duckdb_tables() lists them',
    });
}

/** Every function the tree calls, and whether it is called as a table function. */
function functionsOf(tree: unknown): { function: string; table: boolean }[] {
  const out: { function: string; table: boolean }[] = [];
  const visit = (value: unknown, table: boolean) => {
    if (Array.isArray(value)) {
      for (const v of value) visit(v, false);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const node = value as Record<string, unknown>;
    if (node.class === 'FUNCTION' && typeof node.function_name === 'string')
      out.push({ function: node.function_name, table });
    for (const [key, child] of Object.entries(node))
      visit(child, node.type === 'TABLE_FUNCTION' && key === 'function');
  };
  visit(tree, false);
  return out;
}

/** Checks `sql` (checkReadOnly), then runs it read-only; at most `maxRows` rows, `truncated` beyond. */
export async function runReadOnly(
  connection: DuckDBConnection,
  sql: string,
  maxRows: number,
): Promise<ReadOnlyAnswer> {
  await checkReadOnly(connection, sql);
  await connection.run('BEGIN TRANSACTION READ ONLY');
  try {
    const statement = await failing(() => connection.prepare(sql));
    if (statement.statementType !== StatementType.SELECT) throw refused('it is not a SELECT');
    const reader = await failing(() => statement.streamAndReadUntil(maxRows + 1));
    const names = reader.columnNames();
    const types = reader.columnTypes();
    const rows = reader.getRowsJson();
    return {
      columns: names.map((name, i) => ({ name, type: String(types[i]) })),
      rows: rows.slice(0, maxRows),
      truncated: rows.length > maxRows,
    };
  } finally {
    await connection.run('ROLLBACK').catch(() => {});
  }
}

async function failing<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw new TributaryError('USAGE', `the query failed: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * `runReadOnly` on a new connection from `connect`, closed after; a query still running after
 * `timeoutMs` (or when `signal` aborts: the caller went away) is interrupted.
 */
export async function readOnlyOnOwnConnection(
  connect: () => Promise<DuckDBConnection>,
  sql: string,
  options: { readonly maxRows: number; readonly timeoutMs: number; readonly signal?: AbortSignal },
): Promise<ReadOnlyAnswer> {
  const connection = await connect();
  let timedOut = false;
  const interrupt = () => connection.interrupt();
  const timer = setTimeout(() => {
    timedOut = true;
    interrupt();
  }, options.timeoutMs);
  options.signal?.addEventListener('abort', interrupt, { once: true });
  try {
    return await runReadOnly(connection, sql, options.maxRows);
  } catch (error) {
    if (timedOut)
      throw new TributaryError('USAGE', `the query ran longer than ${options.timeoutMs / 1000} s`, {
        hint: 'narrow it (a WHERE, a LIMIT, fewer joins), or run it with tributary query',
        cause: error,
      });
    throw error;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', interrupt);
    connection.closeSync();
  }
}
