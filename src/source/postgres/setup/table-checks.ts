/**
 * Checks the tables to replicate before anything is created: each must exist
 * (TABLE_NOT_FOUND, with "did you mean" suggestions), be something logical replication can carry
 * — an ordinary or partitioned, permanent table, not a view, materialized view, foreign or
 * unlogged table (TABLE_NOT_REPLICABLE) — and be fully readable by the role, since the initial
 * copy reads it with SELECT: schema USAGE, table SELECT, and no row-level security policy hiding
 * rows from the role, which would silently shorten the copy (TABLE_PRIVILEGE).
 *
 * Every problem of a kind is reported in one error. A partition asked for together with its root
 * is dropped from the set: the root publishes its changes (publish_via_partition_root).
 */
import type pg from 'pg';
import { TributaryError } from '../../../core/errors.js';
import { displayName, quoteIdentifier, type TableRef } from '../../../core/table-ref.js';
import { closeMatches } from './close-matches.js';
import { tableListSql } from './sql-text.js';

export interface ResolvedTables {
  /** The tables to publish, in the order asked, partitions under a listed root removed. */
  readonly tables: readonly TableRef[];
  readonly coveredPartitions: readonly { readonly partition: TableRef; readonly root: TableRef }[];
}

interface Row {
  relkind: string | null;
  relpersistence: string | null;
  root_schema: string | null;
  root_name: string | null;
  schema_usage: boolean | null;
  can_select: boolean | null;
  rls_active: boolean | null;
  role: string;
  database: string;
}

const KINDS: Readonly<Record<string, string>> = {
  v: 'a view',
  m: 'a materialized view',
  f: 'a foreign table',
  S: 'a sequence',
  c: 'a composite type',
  i: 'an index',
  I: 'an index',
  t: 'a TOAST table',
};

export async function resolveTables(client: pg.Client, wanted: readonly TableRef[]): Promise<ResolvedTables> {
  const { rows } = await client.query<Row>(
    `SELECT c.relkind, c.relpersistence, rn.nspname AS root_schema, rc.relname AS root_name,
            has_schema_privilege(n.oid, 'USAGE') AS schema_usage,
            has_table_privilege(c.oid, 'SELECT') AS can_select,
            row_security_active(c.oid) AS rls_active,
            current_user::text AS role, current_database()::text AS database
     FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS w(schema, name, i)
     LEFT JOIN pg_namespace n ON n.nspname = w.schema
     LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.name
     LEFT JOIN pg_class rc ON c.relispartition AND rc.oid = pg_partition_root(c.oid)
     LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
     ORDER BY w.i`,
    [wanted.map((t) => t.schema), wanted.map((t) => t.name)],
  );
  const found = wanted.map((table, i) => ({ table, row: rows[i]! }));
  const role = rows[0]?.role ?? '';
  const database = rows[0]?.database ?? '';

  const missing = found.filter((f) => f.row.relkind === null).map((f) => f.table);
  if (missing.length > 0) throw await notFoundError(client, missing, database);

  const unfit = found.filter((f) => f.row.relkind !== 'r' && f.row.relkind !== 'p');
  const unlogged = found.filter((f) => !unfit.includes(f) && f.row.relpersistence !== 'p');
  if (unfit.length + unlogged.length > 0) {
    const what = [
      ...unfit.map(
        (f) => `${displayName(f.table)} is ${KINDS[f.row.relkind!] ?? `of kind ${f.row.relkind}`}`,
      ),
      ...unlogged.map(
        (f) => `${displayName(f.table)} is ${f.row.relpersistence === 't' ? 'temporary' : 'UNLOGGED'}`,
      ),
    ];
    const hints = [
      'logical replication carries only ordinary and partitioned tables whose changes are logged',
    ];
    if (unfit.length > 0)
      hints.push('leave the others out of --tables (for a view, list the tables it reads)');
    for (const f of unlogged.filter((u) => u.row.relpersistence === 'u'))
      hints.push(`ALTER TABLE ${tableListSql([f.table])} SET LOGGED;`);
    throw new TributaryError('TABLE_NOT_REPLICABLE', `cannot replicate ${what.join('; ')}`, {
      hint: hints.join('\n'),
    });
  }

  const unreadable = found.filter((f) => !f.row.schema_usage || !f.row.can_select);
  if (unreadable.length > 0) {
    const schemas = [...new Set(unreadable.filter((f) => !f.row.schema_usage).map((f) => f.table.schema))];
    const grants = [
      ...schemas.map((s) => `GRANT USAGE ON SCHEMA ${quoteIdentifier(s)} TO ${quoteIdentifier(role)};`),
      `GRANT SELECT ON ${tableListSql(unreadable.map((f) => f.table))} TO ${quoteIdentifier(role)};`,
    ];
    throw new TributaryError(
      'TABLE_PRIVILEGE',
      `role ${JSON.stringify(role)} may not read ${unreadable.map((f) => displayName(f.table)).join(', ')}; Tributary reads each table for its initial copy`,
      { hint: `as the tables' owner or a superuser run:\n${grants.join('\n')}` },
    );
  }

  const hidden = found.filter((f) => f.row.rls_active);
  if (hidden.length > 0)
    throw new TributaryError(
      'TABLE_PRIVILEGE',
      `row-level security hides rows of ${hidden.map((f) => displayName(f.table)).join(', ')} from role ${JSON.stringify(role)}, so the initial copy would silently miss them (the WAL carries every row)`,
      { hint: `as a superuser run: ALTER ROLE ${quoteIdentifier(role)} BYPASSRLS;` },
    );

  const clashing = wanted.filter((t) => reservedName(t));
  if (clashing.length > 0) {
    throw new TributaryError(
      'TABLE_NOT_REPLICABLE',
      `cannot replicate ${clashing.map(displayName).join(', ')}: ${[...new Set(clashing.map((t) => reservedName(t)))].join('; ')}`,
      {
        hint: `leave ${clashing.length === 1 ? 'it' : 'them'} out of --tables, or move ${clashing.length === 1 ? 'it' : 'them'} to another schema (ALTER TABLE … SET SCHEMA …)`,
      },
    );
  }
  const reserved = await reservedColumns(client, wanted);
  if (reserved.length > 0) throw reservedColumnsError(reserved);

  const isWanted = (schema: string | null, name: string | null) =>
    wanted.some((t) => t.schema === schema && t.name === name);
  const covered = found.filter(
    (f) => f.row.root_name !== null && isWanted(f.row.root_schema, f.row.root_name),
  );
  return {
    tables: found.filter((f) => !covered.includes(f)).map((f) => f.table),
    coveredPartitions: covered.map((f) => ({
      partition: f.table,
      root: { schema: f.row.root_schema!, name: f.row.root_name! },
    })),
  };
}

async function notFoundError(
  client: pg.Client,
  missing: TableRef[],
  database: string,
): Promise<TributaryError> {
  const { rows: existing } = await client.query<TableRef>(
    `SELECT n.nspname AS schema, c.relname AS name
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'`,
  );
  const hints = missing.map((table) => {
    const [best, ...others] = closeMatches(table, existing);
    if (!best) return `${displayName(table)}: no similar table; \\dt *.* in psql lists them`;
    const alternatives = others.length > 0 ? ` (or ${others.map(displayName).join(', ')})` : '';
    let why = '';
    if (best.name.toLowerCase() === table.name.toLowerCase() && best.name !== table.name)
      why =
        best.name === best.name.toLowerCase()
          ? ' A quoted name keeps its case: write it without quotes.'
          : ` Unquoted names fold to lower case, so quote it: ${displayName(best)}.`;
    return `${displayName(table)}: did you mean ${displayName(best)}${alternatives}?${why}`;
  });
  const names = missing.map(displayName).join(', ');
  return new TributaryError(
    'TABLE_NOT_FOUND',
    missing.length === 1
      ? `table ${names} does not exist in database ${JSON.stringify(database)}`
      : `${missing.length} tables do not exist in database ${JSON.stringify(database)}: ${names}`,
    { hint: `fix --tables:\n${hints.join('\n')}` },
  );
}

/**
 * Why a source table cannot be replicated under its name, or null: Tributary keeps its state in
 * schemas named `_tributary…` (a source table `_tributary.checkpoint` met Tributary's own) and,
 * on ClickHouse, in tables named `_tributary_…` of the one database; DuckDB's `main` holds the
 * source's `public`, so a source schema `main` would share it.
 */
export function reservedName(table: TableRef): string | null {
  if (table.schema.startsWith('_tributary'))
    return "schemas named _tributary… hold Tributary's own state in the warehouse";
  if (table.schema === 'main') return "the warehouse's schema main holds the source's public";
  if (table.name.startsWith('_tributary'))
    return "tables named _tributary… are Tributary's own state in a ClickHouse warehouse";
  return null;
}

/**
 * Tributary's own columns in the warehouse start with `_tributary_` (`_tributary_lsn`,
 * `_tributary_synced_at`, the raw zone's metadata): a source column of that name would collide
 * with one (DuckDB refused the table: "Column with name _tributary_lsn already exists").
 */
export const RESERVED_COLUMN_PREFIX = '_tributary_';

async function reservedColumns(
  client: pg.Client,
  tables: readonly TableRef[],
): Promise<{ table: TableRef; column: string }[]> {
  const { rows } = await client.query<{ schema: string; name: string; column: string }>(
    `SELECT w.schema, w.name, a.attname AS column
       FROM unnest($1::text[], $2::text[]) AS w(schema, name)
       JOIN pg_namespace n ON n.nspname = w.schema
       JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.name
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE starts_with(a.attname, $3)
      ORDER BY w.schema, w.name, a.attnum`,
    [tables.map((t) => t.schema), tables.map((t) => t.name), RESERVED_COLUMN_PREFIX],
  );
  return rows.map((r) => ({ table: { schema: r.schema, name: r.name }, column: r.column }));
}

/** The error for source columns named like Tributary's own (at setup, or met mid-stream). */
export function reservedColumnsError(found: readonly { table: TableRef; column: string }[]): TributaryError {
  const list = found.map((f) => `${displayName(f.table)}.${quoteIdentifier(f.column)}`).join(', ');
  return new TributaryError(
    'TABLE_NOT_REPLICABLE',
    `cannot replicate ${list}: column names starting with ${RESERVED_COLUMN_PREFIX} are Tributary's own in the warehouse`,
    {
      hint: found
        .map(
          (f) =>
            `ALTER TABLE ${tableListSql([f.table])} RENAME COLUMN ${quoteIdentifier(f.column)} TO ${quoteIdentifier(f.column.slice(1))};`,
        )
        .concat('(or leave the table out of --tables)')
        .join('\n'),
    },
  );
}
