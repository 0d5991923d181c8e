/**
 * The JSON form of stream items, for `tributary tail` and any consumer that reads lines.
 * Values keep their exactness as text: bigint and numeric as strings, timestamps as ISO 8601
 * with microseconds (UTC for timestamptz), bytea as `\x` hex, json as its own text, NaN,
 * ±Infinity and -0 as strings. Positions are `LSN#ordinal`.
 */
import type { Row, StreamItem } from './change-event.js';
import { formatLsn } from './lsn.js';
import { formatPosition } from './position.js';
import { displayName } from './table-ref.js';
import { Decimal, PgJson, type Value } from './values.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export function valueToJson(value: Value): JsonValue {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (Object.is(value, -0)) return '-0'; // JSON numbers cannot carry the sign of zero
    return Number.isFinite(value) ? value : String(value);
  }
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array)
    return `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
  if (Array.isArray(value)) return value.map(valueToJson);
  if (value instanceof Decimal || value instanceof PgJson) return value.text;
  return (value as { toJSON(): string }).toJSON();
}

export function rowToJson(row: Row | null): { [key: string]: JsonValue } | null {
  if (row === null) return null;
  const out: { [key: string]: JsonValue } = {};
  for (const name of Object.keys(row)) {
    Object.defineProperty(out, name, {
      value: valueToJson(row[name]!),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

export function itemToJson(item: StreamItem): { [key: string]: JsonValue } {
  switch (item.kind) {
    case 'change': {
      const e = item.event;
      return {
        kind: 'change',
        op: e.op,
        table: displayName(e.table),
        position: formatPosition(e.position),
        xid: e.xid,
        commitTime: e.commitTime.toJSON(),
        pk: rowToJson(e.pk),
        row: rowToJson(e.row),
        before: rowToJson(e.before),
        unchanged: [...e.unchanged],
        schemaVersion: e.schemaVersion,
        ...(e.truncate ? { truncate: { ...e.truncate } } : {}),
      };
    }
    case 'commit':
      return {
        kind: 'commit',
        commitLsn: formatLsn(item.commitLsn),
        endLsn: formatLsn(item.endLsn),
        xid: item.xid,
        commitTime: item.commitTime.toJSON(),
        changes: item.changes,
      };
    case 'message':
      return {
        kind: 'message',
        transactional: item.message.transactional,
        position: formatPosition(item.message.position),
        lsn: formatLsn(item.message.lsn),
        prefix: item.message.prefix,
        content: Buffer.from(item.message.content).toString('base64'),
      };
    case 'schema':
      return {
        kind: 'schema',
        table: displayName(item.schema.table),
        version: item.schema.version,
        key: [...item.schema.key],
        replicaIdentity: item.schema.replicaIdentity,
        columns: item.schema.columns.map((c) => ({
          name: c.name,
          typeOid: c.typeOid,
          typeModifier: c.typeModifier,
          ...(c.missingValue === undefined ? {} : { missingValue: valueToJson(c.missingValue) }),
        })),
      };
  }
}
