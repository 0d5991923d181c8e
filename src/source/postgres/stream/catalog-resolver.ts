/**
 * Resolves a Relation message against the source catalog, over an ordinary (non-replication)
 * connection: loads the definitions of column types the registry does not know yet (enums,
 * domains, arrays of them, extension types) and the table's primary key. Relation messages are
 * rare (one per table per session, and after schema changes), so this is off the hot path.
 *
 * It also reads the value rows that predate an added column have (`ColumnSchema.missingValue`,
 * from `pg_attribute.attmissingval`, decoded with the column's decoder under the session
 * settings every decoded text uses), and each column's attribute number (`ColumnSchema.attnum`:
 * a rename keeps it, a drop and re-add changes it; the warehouse tells them apart by it).
 *
 * The catalog is read as it is now, not as it was when the change was written, so the message's
 * columns are matched to the catalog's by position where that is sure (column-match.ts): a
 * column renamed after the message still gets its attribute number. A type's kind
 * and a table's primary key are stable enough for decoding; a dropped type decodes as text. For
 * missing values this means: a table rewritten since the ADD COLUMN (VACUUM FULL, a rewriting
 * ALTER) no longer has one, and a column dropped and added again under the same name has the
 * newer one.
 */

import type { Value } from '../../../core/values.js';
import { loadTypeInfo } from '../values/type-catalog.js';
import type { TypeRegistry } from '../values/type-registry.js';
import type { CatalogConnection } from './catalog-connection.js';
import type { RelationResolver, ResolvedRelation } from './change-assembler.js';
import { matchColumns } from './column-match.js';
import { type RelationMessage, relationSchema } from './relation-schema.js';

const PRIMARY_KEY_SQL = `
  SELECT a.attname AS name
    FROM pg_index i
    CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
   WHERE i.indrelid = $1 AND i.indisprimary
   ORDER BY k.n`;

// each column's attribute number, and its missing value: `attmissingval` is an anyarray of one
// element; through text[] its element's own text comes out
const COLUMNS_SQL = `
  SELECT attname AS name, attnum::int AS attnum, attisdropped AS dropped, attgenerated <> '' AS generated,
         CASE WHEN atthasmissing AND NOT attisdropped THEN (attmissingval::text::text[])[1] END AS text,
         atthasmissing AND NOT attisdropped AS missing
    FROM pg_attribute
   WHERE attrelid = $1 AND attnum > 0`;

export class CatalogResolver implements RelationResolver {
  readonly #catalog: CatalogConnection;
  readonly #types: TypeRegistry;
  /** Per relation, the attribute numbers its last message was matched to. */
  readonly #matched = new Map<number, ReadonlySet<number> | null>();

  constructor(catalog: CatalogConnection, types: TypeRegistry) {
    this.#catalog = catalog;
    this.#types = types;
  }

  async resolve(message: RelationMessage): Promise<ResolvedRelation> {
    const unknown = this.#types.unknownOids(message.columns.map((c) => c.typeOid));
    if (unknown.length > 0) {
      const infos = await this.#catalog.use((client) => loadTypeInfo(client, unknown));
      for (const info of infos) this.#types.register(info);
    }
    const pk = await this.#catalog.query<{ name: string }>(PRIMARY_KEY_SQL, [message.relationOid]);
    const catalog = await this.#catalog.query<{
      name: string;
      attnum: number;
      dropped: boolean;
      generated: boolean;
      text: string | null;
      missing: boolean;
    }>(COLUMNS_SQL, [message.relationOid]);
    const missingValues = new Map<string, Value>();
    const attnums = new Map<string, number>();
    // the catalog is as it is now: which of its columns each of the message's is (column-match.ts)
    const { columns: matched, byPosition } = matchColumns(
      message.columns.map((c) => c.name),
      catalog.rows,
      this.#matched.get(message.relationOid) ?? null,
    );
    for (const column of message.columns) {
      const row = matched.get(column.name);
      if (!row) continue;
      attnums.set(column.name, row.attnum);
      if (row.missing && row.text !== null)
        missingValues.set(column.name, this.#types.decoderFor(column.typeOid)(row.text));
    }
    // what a later message may rely on: only a match by position says which columns were live
    this.#matched.set(message.relationOid, byPosition ? new Set(attnums.values()) : null);
    const schema = relationSchema(
      message,
      pk.rows.length > 0 ? pk.rows.map((r) => r.name) : null,
      missingValues,
      attnums,
    );
    return { schema, decoders: message.columns.map((c) => this.#types.decoderFor(c.typeOid)) };
  }
}
