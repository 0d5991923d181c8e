/**
 * Widening a ClickHouse column (docs/clickhouse.md "Values a type cannot hold"): when a value
 * arrives that a column's mapped type refuses (`UnfitValue` from type-mapping.ts — 'infinity'
 * timestamps, dates before 1900, NaN in numeric(p,s), multi-dimensional arrays), the column
 * becomes its type's `widening` (a String holding every value's exact text) instead of the
 * batch stopping for good. Contract:
 *
 * - The storage column is rewritten on the server: the stored values become the exact text the
 *   widened `encode` gives, through the widening's `convertSql` (never ClickHouse's own CAST,
 *   which drops a Decimal's trailing zeros). A non-key column: a temporary column
 *   `_tributary_widen_<column>` is added, filled by an ALTER UPDATE (mutations_sync), the old
 *   column dropped and the temporary one renamed to it. A key column (part of the sorting key,
 *   which ClickHouse cannot alter): the storage is rebuilt (tables.ts `rebuildStorage`) with
 *   the expression in place of the cast.
 * - Every step is chosen from what `system.columns` shows, so a widening interrupted anywhere
 *   (a crash, an error) is finished by the next attempt and a finished one is not done twice:
 *   the column already of the widened type → nothing; the column gone and the temporary one
 *   there → only the rename; otherwise from the start (the temporary column dropped first).
 * - The caller then creates the view again and records the shape with the column in its
 *   `widened` set (state.ts), last: a crash before the record leaves the storage widened and the
 *   record not, and the batch's redelivery meets the same value, widens again (a no-op on the
 *   storage) and records it.
 * - A widened column stays widened through renames and later shapes (`carriedWidenings`) until
 *   the source retypes it (another type oid or modifier): then it takes the new type's mapping,
 *   and the stored texts must survive the warehouse's retype check (text → new type → text
 *   unchanged) or the retype stops with an error naming the column — which a NaN still stored,
 *   or a Decimal text with trailing zeros, does not: NOT converted in place yet.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { TableSchema } from '../../core/change-event.js';
import { TributaryError } from '../../core/errors.js';
import { displayName } from '../../core/table-ref.js';
import { columnRenames } from '../duckdb/tables.js';
import { quoteName as q } from './connect.js';
import {
  type ChTable,
  chTable,
  columnType,
  type Ddl,
  type DdlContext,
  hasPresence,
  identity,
  onCluster,
  presenceColumn,
  qualified,
  rebuildName,
  rebuildStorage,
} from './tables.js';
import { clickhouseType, UnfitValue } from './type-mapping.js';

/** The column of `table` that `error` says refused a value and that can still be widened, else null. */
export function widenableColumn(error: unknown, table: ChTable): string | null {
  if (!(error instanceof UnfitValue) || error.column === undefined) return null;
  const column = error.column;
  if (table.widened.has(column)) return null;
  return table.types.get(column)?.widening ? column : null;
}

/** `table` with `column` widened too. */
export function widenedTable(table: ChTable, column: string, context: DdlContext): ChTable {
  return chTable(table.schema, context, new Set([...table.widened, column]));
}

/**
 * The widened columns of `current` that stay widened in `nextSchema` (under their new names):
 * those kept (renamed or not) with the same source type; a column the source retyped, dropped,
 * or replaced by another under its name is not.
 */
export function carriedWidenings(
  current: ChTable,
  nextSchema: TableSchema,
  context: DdlContext,
): Set<string> {
  const renames = columnRenames(current.schema, nextSchema);
  const kept = new Set<string>();
  for (const name of current.widened) {
    const before = current.schema.columns.find((c) => c.name === name);
    const afterName = renames.get(name) ?? name;
    const after = nextSchema.columns.find((c) => c.name === afterName);
    if (!before || !after) continue;
    const replaced =
      !renames.has(name) &&
      before.attnum !== undefined &&
      after.attnum !== undefined &&
      before.attnum !== after.attnum;
    const retyped = before.typeOid !== after.typeOid || before.typeModifier !== after.typeModifier;
    if (!replaced && !retyped && clickhouseType(after, context.lookup).widening) kept.add(afterName);
  }
  return kept;
}

/** The temporary column a widening fills before it replaces the column. */
export function wideningColumn(column: string): string {
  return `_tributary_widen_${column}`;
}

async function storageColumns(
  client: ClickHouseClient,
  context: DdlContext,
  storage: string,
): Promise<Map<string, string>> {
  const result = await client.query({
    query: 'SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {t:String}',
    query_params: { db: context.database, t: storage },
    format: 'JSONEachRow',
  });
  return new Map((await result.json<{ name: string; type: string }>()).map((r) => [r.name, r.type]));
}

/**
 * The statements that bring `table`'s storage to `widened` (the same table with `column`
 * widened), as far as the storage is not there yet (see the header); empty when it is.
 */
export async function wideningDdl(
  client: ClickHouseClient,
  context: DdlContext,
  table: ChTable,
  widened: ChTable,
  column: string,
): Promise<Ddl[]> {
  const schemaColumn = widened.schema.columns.find((c) => c.name === column);
  const from = table.types.get(column);
  if (!schemaColumn || !from?.widening) {
    throw new TributaryError('INTERNAL', `${displayName(table.schema.table)}.${column} has no widening`);
  }
  const target = columnType(widened, schemaColumn);
  const held = await storageColumns(client, context, table.storage);
  const storage = qualified(context, table.storage);
  const alter = (clause: string): Ddl => ({ sql: `ALTER TABLE ${storage}${onCluster(context)} ${clause}` });
  const temporary = wideningColumn(column);
  const isKey = !table.keyless && table.schema.key.includes(column);
  if (isKey) {
    const leftover = { sql: `DROP TABLE IF EXISTS ${qualified(context, rebuildName(table))}` };
    if (held.get(column) === target) return [leftover];
    const convert = new Map([[column, from.widening.convertSql(q(column))]]);
    return rebuildStorage(table, widened, new Map(), context, convert);
  }
  // an array's presence flag (tables.ts) says which stored [] are NULL; the String holds NULL itself
  const flag = hasPresence(table, column) ? presenceColumn(column) : null;
  const dropFlag = flag !== null && held.has(flag) ? [alter(`DROP COLUMN IF EXISTS ${q(flag)}`)] : [];
  if (held.get(column) === target) {
    return [...(held.has(temporary) ? [alter(`DROP COLUMN IF EXISTS ${q(temporary)}`)] : []), ...dropFlag];
  }
  if (!held.has(column) && held.get(temporary) === target) {
    return [alter(`RENAME COLUMN ${q(temporary)} TO ${q(column)}`), ...dropFlag];
  }
  const value = from.widening.convertSql(`assumeNotNull(${q(column)})`);
  const isNull = flag === null ? `isNull(${q(column)})` : `${q(flag)} = 0`;
  return [
    alter(`DROP COLUMN IF EXISTS ${q(temporary)}`),
    alter(`ADD COLUMN ${q(temporary)} ${target}${identity(schemaColumn)} AFTER ${q(column)}`),
    alter(`UPDATE ${q(temporary)} = if(${isNull}, NULL, ${value}) WHERE 1`),
    alter(`DROP COLUMN ${q(column)}`),
    alter(`RENAME COLUMN ${q(temporary)} TO ${q(column)}`),
    ...(flag === null ? [] : [alter(`DROP COLUMN IF EXISTS ${q(flag)}`)]),
  ];
}
