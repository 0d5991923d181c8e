/**
 * Resolves a Relation message against the source catalog, over an ordinary (non-replication)
 * connection: loads the definitions of column types the registry does not know yet (enums,
 * domains, arrays of them, extension types) and the table's primary key. Relation messages are
 * rare (one per table per session, and after schema changes), so this is off the hot path.
 *
 * The catalog is read as it is now, not as it was when the change was written: a type's kind
 * and a table's primary key are stable enough for decoding; a dropped type decodes as text.
 */

import { loadTypeInfo } from '../values/type-catalog.js';
import type { TypeRegistry } from '../values/type-registry.js';
import type { CatalogConnection } from './catalog-connection.js';
import type { RelationResolver, ResolvedRelation } from './change-assembler.js';
import { type RelationMessage, relationSchema } from './relation-schema.js';

const PRIMARY_KEY_SQL = `
  SELECT a.attname AS name
    FROM pg_index i
    CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
   WHERE i.indrelid = $1 AND i.indisprimary
   ORDER BY k.n`;

export class CatalogResolver implements RelationResolver {
  readonly #catalog: CatalogConnection;
  readonly #types: TypeRegistry;

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
    const schema = relationSchema(message, pk.rows.length > 0 ? pk.rows.map((r) => r.name) : null);
    return { schema, decoders: message.columns.map((c) => this.#types.decoderFor(c.typeOid)) };
  }
}
