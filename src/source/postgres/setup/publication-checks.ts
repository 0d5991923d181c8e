/**
 * What a publication that already exists must do for Tributary (the one it creates always does):
 * publish insert, update, delete and truncate, and publish partitioned tables via their root,
 * or the warehouse copy would silently miss changes (PUBLICATION_MISMATCH, with the ALTER for
 * its owner). Row filters and column lists (PG15+) on wanted tables are not refused, since the
 * publication is the user's, but reported: the copy of such a table is partial.
 */
import type pg from 'pg';
import { TributaryError } from '../../../core/errors.js';
import { displayName, quoteIdentifier, type TableRef } from '../../../core/table-ref.js';
import { type ExistingPublication, includes, PUBLICATION_OPTIONS } from './publication-catalog.js';
import { serverVersionNum } from './server-version.js';

export async function checkPublishes(
  client: pg.Client,
  name: string,
  p: ExistingPublication,
  wanted: readonly TableRef[],
): Promise<void> {
  const skipped = (['insert', 'update', 'delete', 'truncate'] as const).filter((op) => !p[`pub${op}`]);
  let partitioned: TableRef[] = [];
  if (!p.pubviaroot && wanted.length > 0) {
    const { rows } = await client.query<TableRef>(
      `SELECT w.schema, w.name FROM unnest($1::text[], $2::text[]) AS w(schema, name)
       JOIN pg_namespace n ON n.nspname = w.schema
       JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.name AND c.relkind = 'p'`,
      [wanted.map((t) => t.schema), wanted.map((t) => t.name)],
    );
    partitioned = rows;
  }
  if (skipped.length === 0 && partitioned.length === 0) return;
  const problems = [
    ...(skipped.length > 0 ? [`does not publish ${skipped.join(', ')}`] : []),
    ...(partitioned.length > 0
      ? [
          `publishes partitioned ${partitioned.map(displayName).join(', ')} per partition (publish_via_partition_root is off)`,
        ]
      : []),
  ];
  throw new TributaryError(
    'PUBLICATION_MISMATCH',
    `publication ${JSON.stringify(name)} ${problems.join(' and ')}, so the warehouse copy would miss changes`,
    {
      hint: `as its owner (${JSON.stringify(p.owner)}) run: ALTER PUBLICATION ${quoteIdentifier(name)} SET (${PUBLICATION_OPTIONS}); or give Tributary another publication name with --publication`,
    },
  );
}

/** PG15+ publications can filter rows or columns of a table: the copy would then be partial. */
export async function filterWarnings(
  client: pg.Client,
  name: string,
  wanted: readonly TableRef[],
): Promise<string[]> {
  if ((await serverVersionNum(client)) < 150000) return [];
  const { rows } = await client.query<TableRef & { rowfilter: string | null; columns: boolean }>(
    `SELECT n.nspname AS schema, c.relname AS name, pg_get_expr(pr.prqual, pr.prrelid) AS rowfilter,
            pr.prattrs IS NOT NULL AS columns
     FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid
     JOIN pg_class c ON c.oid = pr.prrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE p.pubname = $1 AND (pr.prqual IS NOT NULL OR pr.prattrs IS NOT NULL)`,
    [name],
  );
  return rows
    .filter((r) => includes(wanted, r))
    .map(
      (r) =>
        `publication ${JSON.stringify(name)} sends only ${[r.rowfilter ? `rows WHERE ${r.rowfilter}` : null, r.columns ? 'some columns' : null].filter(Boolean).join(' and ')} of ${displayName(r)}: the warehouse copy of it will be partial`,
    );
}
