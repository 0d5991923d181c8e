/**
 * A published table as a snapshot reads it: the same `TableSchema` (and so the same version)
 * the stream's Relation message gives it, the SELECT that yields exactly what the publication
 * streams (its column list and row filter, Postgres 15+; partitions through their root when the
 * publication publishes via the root), and the size figures a chunk plan needs.
 *
 * Read inside the snapshot's transaction: catalog tables queried with SQL show the catalog as
 * of the snapshot, so the shape matches the rows.
 */
import type pg from 'pg';
import type { TableSchema } from '../../../core/change-event.js';
import { TributaryError } from '../../../core/errors.js';
import { displayName, quoteIdentifier as q, type TableRef } from '../../../core/table-ref.js';
import type { Value } from '../../../core/values.js';
import type { ReplicaIdentity } from '../pgoutput/messages.js';
import { RESERVED_COLUMN_PREFIX, reservedColumnsError } from '../setup/table-checks.js';
import { relationSchema } from '../stream/relation-schema.js';
import type { ColumnDecoder } from '../stream/row-builder.js';
import { loadTypeInfo } from '../values/type-catalog.js';
import type { TypeRegistry } from '../values/type-registry.js';

export interface SnapshotTable {
  readonly table: TableRef;
  readonly schema: TableSchema;
  /** One per column of `schema.columns`, in order. */
  readonly decoders: readonly ColumnDecoder[];
  /** `SELECT <columns> FROM <table>` with the publication's row filter as a WHERE, if any. */
  readonly select: string;
  /** Whether `select` already has a WHERE (further conditions are ANDed). */
  readonly filtered: boolean;
  /** Heap pages of the table now, or of its largest partition (chunks are page ranges). */
  readonly pages: number;
  /** The planner's row estimate (all partitions), or null when the table was never analysed. */
  readonly rowsEstimate: number | null;
  /** SQL types of the key columns, for reading rows by key (`format_type`). */
  readonly keyTypes: readonly string[];
}

interface AttributeRow {
  name: string;
  attnum: number;
  type_oid: number;
  type_modifier: number;
  type_sql: string;
  generated: string;
  missing: string | null;
}

export async function describeForSnapshot(
  client: pg.ClientBase,
  table: TableRef,
  publication: string,
  types: TypeRegistry,
): Promise<SnapshotTable> {
  const rel = await client.query<{ oid: number; relkind: string; replident: ReplicaIdentity }>(
    `SELECT c.oid::int8::float8 AS oid, c.relkind::text AS relkind, c.relreplident::text AS replident
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2`,
    [table.schema, table.name],
  );
  const relation = rel.rows[0];
  if (!relation) {
    throw new TributaryError('TABLE_NOT_FOUND', `${displayName(table)} no longer exists on the source`, {
      hint: 'the job for it cannot run; it was dropped or renamed since it was published',
    });
  }
  const oid = Number(relation.oid);
  const attributes = await client.query<AttributeRow>(
    `SELECT attname AS name, attnum::int AS attnum, atttypid::int8::float8 AS type_oid, atttypmod AS type_modifier,
            format_type(atttypid, atttypmod) AS type_sql, attgenerated::text AS generated,
            CASE WHEN atthasmissing THEN (attmissingval::text::text[])[1] END AS missing
       FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [oid],
  );
  const published = await publicationEntry(client, publication, table);
  // a `_tributary_…` column added since setup is left out, as the stream leaves it out
  // (change-assembler.ts); one in the key cannot be
  const reserved = attributes.rows.filter((a) => a.name.startsWith(RESERVED_COLUMN_PREFIX));
  const columns = attributes.rows.filter(
    (a) =>
      (published.columns ? published.columns.includes(a.name) : a.generated === '') && !reserved.includes(a),
  );
  const identityColumns = await replicaIdentityColumns(client, oid, relation.replident);
  const primaryKey = await client.query<{ name: string }>(
    `SELECT a.attname AS name FROM pg_index i
       CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1 AND i.indisprimary ORDER BY k.n`,
    [oid],
  );
  const reservedKey = reserved.filter(
    (a) => identityColumns.includes(a.name) || primaryKey.rows.some((k) => k.name === a.name),
  );
  if (reservedKey.length > 0) throw reservedColumnsError(reservedKey.map((a) => ({ table, column: a.name })));
  const unknown = types.unknownOids(columns.map((c) => Number(c.type_oid)));
  if (unknown.length > 0) types.registerAll(await loadTypeInfo(client, unknown));
  const decoders = columns.map((c) => types.decoderFor(Number(c.type_oid)));
  const missing = new Map<string, Value>();
  columns.forEach((c, i) => {
    if (c.missing !== null) missing.set(c.name, (decoders[i] as ColumnDecoder)(c.missing));
  });
  const schema = relationSchema(
    {
      tag: 'relation',
      xid: null,
      relationOid: oid,
      schema: table.schema,
      name: table.name,
      replicaIdentity: relation.replident,
      columns: columns.map((c) => ({
        isKey: relation.replident === 'f' || identityColumns.includes(c.name),
        name: c.name,
        typeOid: Number(c.type_oid),
        typeModifier: Number(c.type_modifier),
      })),
    },
    primaryKey.rows.length > 0 ? primaryKey.rows.map((r) => r.name) : null,
    missing,
    new Map(columns.map((c) => [c.name, Number(c.attnum)])),
  );
  // pages as they are now (relpages waits for VACUUM or ANALYZE); rows scaled from the last
  // analysis to the current size, as the planner does, or unknown when never analysed
  const size = await client.query<{ pages: string; tuples: string | null }>(
    `SELECT coalesce(max(p.pages), 0)::int8 AS pages,
            CASE WHEN bool_or(p.reltuples >= 0) THEN
              sum(CASE WHEN p.reltuples < 0 THEN 0 WHEN p.relpages > 0 THEN p.reltuples / p.relpages * p.pages
                       ELSE p.reltuples END)::int8 END AS tuples
       FROM (SELECT c.relpages, c.reltuples,
                    pg_relation_size(c.oid) / current_setting('block_size')::int8 AS pages
               FROM (SELECT $1::regclass AS relid UNION SELECT relid FROM pg_partition_tree($1::regclass)) t
               JOIN pg_class c ON c.oid = t.relid
              WHERE c.relkind IN ('r', 'm')) p`,
    [oid],
  );
  const partitioned = relation.relkind === 'p';
  const columnList = schema.columns.map((c) => q(c.name)).join(', ');
  const from = `${partitioned ? '' : 'ONLY '}${q(table.schema)}.${q(table.name)}`;
  const filter = published.rowFilter;
  const byName = new Map(columns.map((c) => [c.name, c]));
  return {
    table,
    schema,
    decoders,
    select: `SELECT ${columnList} FROM ${from}${filter ? ` WHERE (${filter})` : ''}`,
    filtered: filter !== null,
    pages: Number(size.rows[0]?.pages ?? 0),
    rowsEstimate: size.rows[0]?.tuples == null ? null : Number(size.rows[0].tuples),
    keyTypes: schema.key.map((k) => byName.get(k)?.type_sql ?? 'text'),
  };
}

/** The publication's column list and row filter for the table (Postgres 15+; none before). */
async function publicationEntry(
  client: pg.ClientBase,
  publication: string,
  table: TableRef,
): Promise<{ columns: string[] | null; rowFilter: string | null }> {
  const has = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM information_schema.columns
      WHERE table_schema = 'pg_catalog' AND table_name = 'pg_publication_tables' AND column_name IN ('attnames', 'rowfilter')`,
  );
  if (Number(has.rows[0]?.n ?? 0) < 2) return { columns: null, rowFilter: null };
  const entry = await client.query<{ attnames: string[] | null; rowfilter: string | null }>(
    `SELECT attnames::text[] AS attnames, rowfilter FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3`,
    [publication, table.schema, table.name],
  );
  const row = entry.rows[0];
  if (!row) {
    throw new TributaryError(
      'PUBLICATION_MISMATCH',
      `${displayName(table)} is not in the publication ${publication}`,
      {
        hint: 'a snapshot copies only published tables; add it to the publication (or to --tables)',
      },
    );
  }
  return { columns: row.attnames, rowFilter: row.rowfilter };
}

/** The columns pgoutput flags as key: the primary key (DEFAULT) or the replica identity index (INDEX). */
async function replicaIdentityColumns(
  client: pg.ClientBase,
  oid: number,
  identity: ReplicaIdentity,
): Promise<string[]> {
  if (identity !== 'd' && identity !== 'i') return [];
  const rows = await client.query<{ name: string }>(
    `SELECT a.attname AS name FROM pg_index i
       CROSS JOIN LATERAL unnest(i.indkey) AS k(attnum)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1 AND ${identity === 'd' ? 'i.indisprimary' : 'i.indisreplident'}`,
    [oid],
  );
  return rows.rows.map((r) => r.name);
}
