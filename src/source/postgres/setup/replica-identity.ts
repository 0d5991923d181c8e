/**
 * Replica identity: which old-row columns Postgres writes to the WAL for UPDATE and DELETE, so a
 * change can say which row it touched. Usable: a primary key (REPLICA IDENTITY DEFAULT), REPLICA
 * IDENTITY USING INDEX (whose index still exists), or FULL.
 *
 * Why this blocks: once a table without a usable replica identity is in a publication that
 * publishes updates and deletes, Postgres makes the application's own UPDATE and DELETE on it
 * fail ("cannot update table ... because it does not have a replica identity and publishes
 * updates"). Tributary must never publish such a table, so these checks run before any table is
 * added to a publication, and report every offending table at once.
 *
 * A partitioned table is checked together with each of its leaf partitions: UPDATE and DELETE
 * check the partition they touch, and partitions do not inherit REPLICA IDENTITY FULL (or USING
 * INDEX) from their parent.
 */
import type pg from 'pg';
import { TributaryError } from '../../../core/errors.js';
import { displayName, quoteIdentifier, type TableRef } from '../../../core/table-ref.js';
import { tableListSql } from './sql-text.js';

export interface IdentityProblem {
  readonly table: TableRef;
  /** The listed partitioned table when `table` is one of its partitions, else null. */
  readonly partitionOf: TableRef | null;
  readonly identity: 'default' | 'nothing' | 'index';
  readonly hasPrimaryKey: boolean;
  /** A unique index over NOT NULL columns that could serve as the identity, if there is one. */
  readonly candidateIndex: string | null;
}

interface Row {
  root_schema: string;
  root_name: string;
  schema: string;
  name: string;
  identity: string;
  has_pk: boolean;
  has_identity_index: boolean;
  candidate_index: string | null;
}

export async function findTablesWithoutReplicaIdentity(
  client: pg.Client,
  tables: readonly TableRef[],
): Promise<IdentityProblem[]> {
  if (tables.length === 0) return [];
  const { rows } = await client.query<Row>(
    `WITH listed AS (
       SELECT c.oid AS root, w.i
       FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS w(schema, name, i)
       JOIN pg_namespace n ON n.nspname = w.schema
       JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.name
     ), checked AS (
       SELECT l.root, l.i, l.root AS oid, 0 AS level FROM listed l
       UNION ALL -- pg_partition_tree lists nothing for a table that is not partitioned
       SELECT l.root, l.i, t.relid, t.level
       FROM listed l, LATERAL pg_partition_tree(l.root) t
       WHERE t.isleaf AND t.relid <> l.root
     )
     SELECT rn.nspname AS root_schema, rc.relname AS root_name, n.nspname AS schema, c.relname AS name,
            CASE c.relreplident WHEN 'd' THEN 'default' WHEN 'n' THEN 'nothing' WHEN 'i' THEN 'index' ELSE 'full' END
              AS identity,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS has_pk,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident) AS has_identity_index,
            (SELECT ic.relname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
             WHERE i.indrelid = c.oid AND i.indisunique AND NOT i.indisprimary AND i.indimmediate
               AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL
               AND NOT EXISTS (SELECT 1 FROM pg_attribute a
                               WHERE a.attrelid = c.oid AND a.attnum = ANY (i.indkey::int2[]) AND NOT a.attnotnull)
             ORDER BY ic.relname LIMIT 1) AS candidate_index
     FROM checked k
     JOIN pg_class c ON c.oid = k.oid JOIN pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_class rc ON rc.oid = k.root JOIN pg_namespace rn ON rn.oid = rc.relnamespace
     WHERE c.relkind IN ('r', 'p')
     ORDER BY k.i, k.level, n.nspname, c.relname`,
    [tables.map((t) => t.schema), tables.map((t) => t.name)],
  );
  return rows
    .filter((r) => {
      const usable =
        r.identity === 'full' ||
        (r.identity === 'default' && r.has_pk) ||
        (r.identity === 'index' && r.has_identity_index);
      return !usable;
    })
    .map((r) => {
      const table = { schema: r.schema, name: r.name };
      const root = { schema: r.root_schema, name: r.root_name };
      const isPartition = root.schema !== table.schema || root.name !== table.name;
      return {
        table,
        partitionOf: isPartition ? root : null,
        identity: r.identity as IdentityProblem['identity'],
        hasPrimaryKey: r.has_pk,
        candidateIndex: r.candidate_index,
      };
    });
}

/** What is wrong with one table, e.g. `public.events (no primary key, REPLICA IDENTITY DEFAULT)`. */
export function describeIdentityProblem(problem: IdentityProblem): string {
  const partition = problem.partitionOf ? `partition of ${displayName(problem.partitionOf)}, ` : '';
  const state =
    problem.identity === 'nothing'
      ? 'REPLICA IDENTITY NOTHING'
      : problem.identity === 'index'
        ? 'its REPLICA IDENTITY index was dropped'
        : 'no primary key, REPLICA IDENTITY DEFAULT';
  return `${displayName(problem.table)} (${partition}${state})`;
}

/** The statements that would fix one table, best first. */
export function identityFixes(problem: IdentityProblem): string[] {
  const table = tableListSql([problem.table]);
  if (problem.hasPrimaryKey) return [`ALTER TABLE ${table} REPLICA IDENTITY DEFAULT;`];
  const fixes = [
    `ALTER TABLE ${table} ADD PRIMARY KEY (<key columns>);`,
    `ALTER TABLE ${table} REPLICA IDENTITY FULL;`,
  ];
  if (problem.candidateIndex)
    fixes.unshift(
      `ALTER TABLE ${table} REPLICA IDENTITY USING INDEX ${quoteIdentifier(problem.candidateIndex)};`,
    );
  return fixes;
}

export function noReplicaIdentityError(problems: readonly IdentityProblem[]): TributaryError {
  const listed = problems.map(describeIdentityProblem).join(', ');
  const count = problems.length === 1 ? 'a table' : `${problems.length} tables`;
  const fixes = problems.map((p) => identityFixes(p).join('   -- or: '));
  const partitions = problems.some((p) => p.partitionOf)
    ? '\n(partitions do not inherit REPLICA IDENTITY from their parent; set it on each, and on partitions added later)'
    : '';
  return new TributaryError(
    'NO_REPLICA_IDENTITY',
    `Tributary will not publish ${count} without a replica identity: ${listed}. Postgres makes every UPDATE and DELETE on a published table without a replica identity fail, so publishing it would break the application's own writes.`,
    {
      hint: `give each a key, then run again (FULL works without a key but logs whole old rows):\n${fixes.join('\n')}${partitions}\nor leave these tables out of --tables`,
    },
  );
}
