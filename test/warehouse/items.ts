/** Hand-built stream items for warehouse tests. */
import type { ChangeEvent, ColumnSchema, Row, StreamItem, TableSchema } from '../../src/core/change-event.js';
import type { TableRef } from '../../src/core/table-ref.js';
import type { Value } from '../../src/core/values.js';
import { PgTimestampTz } from '../../src/core/values.js';

export const T: TableRef = { schema: 'public', name: 'items' };

export function col(name: string, typeOid: number, isKey = false, typeModifier = -1): ColumnSchema {
  return { name, typeOid, typeModifier, isKey };
}

export function schemaItem(columns: readonly ColumnSchema[], version: string, table = T): StreamItem {
  const schema: TableSchema = {
    table,
    relationOid: 1,
    version,
    columns,
    key: columns.filter((c) => c.isKey).map((c) => c.name),
    replicaIdentity: 'default',
  };
  return { kind: 'schema', schema };
}

/**
 * A table without a primary key under REPLICA IDENTITY FULL, as the source describes it: every
 * column is the key (relation-schema.ts), so the warehouse keeps it as a multiset.
 */
export function keylessSchemaItem(columns: readonly ColumnSchema[], version: string, table = T): StreamItem {
  const all = columns.map((c) => ({ ...c, isKey: true }));
  const schema: TableSchema = {
    table,
    relationOid: 1,
    version,
    columns: all,
    key: all.map((c) => c.name),
    replicaIdentity: 'full',
  };
  return { kind: 'schema', schema };
}

/**
 * A change of a REPLICA IDENTITY FULL table without a key: `before` is the whole old row, and
 * `pk` (every column) comes from the new row, else the old one.
 */
export function fullChange(
  op: ChangeEvent['op'],
  lsn: bigint,
  ordinal: number,
  values: { row?: Record<string, Value>; before?: Record<string, Value> },
  table = T,
): StreamItem {
  const pk = values.row ?? values.before;
  return change(op, lsn, ordinal, { ...values, ...(pk ? { pk } : {}) }, table);
}

function row(values: Record<string, Value>): Row {
  return Object.assign(Object.create(null), values);
}

export function change(
  op: ChangeEvent['op'],
  lsn: bigint,
  ordinal: number,
  values: {
    row?: Record<string, Value>;
    pk?: Record<string, Value>;
    before?: Record<string, Value>;
    unchanged?: string[];
    /** Commit time, microseconds since the epoch (default 0). */
    time?: bigint;
  },
  table = T,
): StreamItem {
  return {
    kind: 'change',
    event: {
      op,
      table,
      pk: values.pk ? row(values.pk) : values.row ? row({ id: values.row.id ?? null }) : null,
      row: values.row ? row(values.row) : null,
      before: values.before ? row(values.before) : null,
      unchanged: values.unchanged ?? [],
      position: { commitLsn: lsn, ordinal },
      xid: 1,
      commitTime: new PgTimestampTz(values.time ?? 0n),
      schemaVersion: 'v',
    },
  };
}

export function commit(lsn: bigint, changes = 1): StreamItem {
  return {
    kind: 'commit',
    commitLsn: lsn,
    endLsn: lsn + 1n,
    xid: 1,
    commitTime: new PgTimestampTz(0n),
    changes,
  };
}
