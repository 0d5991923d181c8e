/**
 * Turns a pgoutput Relation message into a `TableSchema`: which columns identify a row, and a
 * version fingerprint of the shape. The key is what the replica identity lets every change
 * carry, so deletes and key updates can always be matched:
 *
 * - REPLICA IDENTITY DEFAULT: the primary key (the columns pgoutput flags as key);
 * - FULL: the primary key when there is one (every column is flagged, but the old row carries
 *   all of them), else every column;
 * - USING INDEX: the index's columns (flagged);
 * - NOTHING: no key (such tables are refused at setup; one altered later streams inserts only).
 *
 * The version fingerprints the shape only (names, types, key, identity), not `missingValue` nor
 * `attnum`.
 */
import { createHash } from 'node:crypto';
import type { ColumnSchema, TableSchema } from '../../../core/change-event.js';
import type { Value } from '../../../core/values.js';
import type { PgoutputMessage } from '../pgoutput/messages.js';

export type RelationMessage = Extract<PgoutputMessage, { tag: 'relation' }>;

const IDENTITY = { d: 'default', n: 'nothing', f: 'full', i: 'index' } as const;

export function relationSchema(
  message: RelationMessage,
  primaryKey: readonly string[] | null,
  missingValues: ReadonlyMap<string, Value> = new Map(),
  attnums: ReadonlyMap<string, number> = new Map(),
): TableSchema {
  const identity = IDENTITY[message.replicaIdentity];
  const names = new Set(message.columns.map((c) => c.name));
  const pkUsable = primaryKey !== null && primaryKey.length > 0 && primaryKey.every((n) => names.has(n));
  let key: readonly string[];
  if (identity === 'full') {
    key = pkUsable ? primaryKey : message.columns.map((c) => c.name);
  } else if (identity === 'default' && pkUsable) {
    key = primaryKey;
  } else {
    key = message.columns.filter((c) => c.isKey).map((c) => c.name);
  }
  const keySet = new Set(key);
  const columns: ColumnSchema[] = message.columns.map((c) => {
    const attnum = attnums.get(c.name);
    const column: ColumnSchema = {
      name: c.name,
      typeOid: c.typeOid,
      typeModifier: c.typeModifier,
      isKey: keySet.has(c.name),
      ...(attnum === undefined ? {} : { attnum }),
    };
    const missing = missingValues.get(c.name);
    return missing === undefined ? column : { ...column, missingValue: missing };
  });
  const table = { schema: message.schema, name: message.name };
  const fingerprint = createHash('sha256')
    .update(
      JSON.stringify([
        table.schema,
        table.name,
        identity,
        key,
        columns.map((c) => [c.name, c.typeOid, c.typeModifier]),
      ]),
    )
    .digest('hex')
    .slice(0, 16);
  return {
    table,
    relationOid: message.relationOid,
    version: fingerprint,
    columns,
    key,
    replicaIdentity: identity,
  };
}
