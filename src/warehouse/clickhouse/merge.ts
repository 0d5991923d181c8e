/**
 * One table's part of a batch → the rows to insert into its ClickHouse storage (tables.ts).
 * Reads only; the caller writes. Every row carries the version of the change it stands for
 * (layout.ts), so writing the same rows again — a batch redelivered after a crash between its
 * data and its checkpoint — changes nothing a reader of the view can see.
 *
 * What was stored before the part is read "as of" the part's first position: per row identity,
 * the latest row with a lower version, above the table's truncation watermark as it was then
 * (state.ts). So a redelivered part reads exactly what its first delivery read, even when that
 * delivery's rows were already written, and produces the same rows.
 *
 * - A keyed table folds each key's changes (../fold.ts): an upsert is a row at its last change's
 *   version; a delete a tombstone (the key, deleted = 1); a key move the old key's tombstone and
 *   the new key's row. An unchanged TOASTed column takes the stored row's field as ClickHouse
 *   printed it (inserted back as it is, so no value crosses a decoder), read by key through a
 *   bound JSON parameter; a row the warehouse does not hold fails the part, never a NULL.
 * - A table without a primary key is a multiset of copies, each with an identity of its own
 *   (tables.ts): an insert creates the copy identified by its change's version; a delete (or an
 *   update's old row) ends the OLDEST live copy holding the same values (matched NULL-safely),
 *   as a tombstone of that identity at the delete's version, and fails the part when there is
 *   none. Which copy ends depends only on the state just before the change, so a part split
 *   differently on redelivery ends the same copies. Every copy the part touched is written in
 *   its final state (a copy made and ended inside the part as a tombstone), so the rows an
 *   earlier, differently split delivery wrote are always superseded.
 * - A truncate (the part's last) is returned for the caller to record as the table's watermark;
 *   what the fold keeps after it has higher versions.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { ChangeEvent, Row } from '../../core/change-event.js';
import { TributaryError } from '../../core/errors.js';
import { formatPosition, type Position } from '../../core/position.js';
import { displayName } from '../../core/table-ref.js';
import type { Value } from '../../core/values.js';
import { describeKey, foldTable, type NetUpsert } from '../fold.js';
import { rowString } from '../fold-counts.js';
import { quoteName as q } from './connect.js';
import { DELETED_COLUMN, LSN_COLUMN, positionVersion, VERSION_COLUMN } from './layout.js';
import { watermarkBefore } from './state.js';
import {
  type ChTable,
  COPY_COLUMN,
  COPY_SEQ_COLUMN,
  columnType,
  type DdlContext,
  qualified,
  quoteString,
} from './tables.js';
import type { ClickHouseColumnType } from './type-mapping.js';

/** A storage row as a JSONEachRow object. */
export type StorageRow = Record<string, unknown>;

export interface TablePlan {
  readonly table: ChTable;
  readonly rows: StorageRow[];
  /** The part's last truncate of the table, if any. */
  readonly truncatedAt: Position | null;
  readonly first: Position;
  readonly last: Position;
  /**
   * Keys whose update left TOASTed columns unsent for a row the warehouse does not hold, written
   * without those columns because a snapshot job will copy the row (`mayPark`): to be parked.
   */
  readonly parked: Row[];
}

/** Whether a missing row's partial update may be written and parked (the table has an active keyed snapshot job). */
export type MayPark = () => Promise<boolean>;

export interface Reader {
  readonly client: ClickHouseClient;
  readonly context: DdlContext;
}

const INDEX = '_tributary_i';

/** JSON for ClickHouse: bigints as their digits. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

function encode(table: ChTable, column: string, value: Value | undefined): unknown {
  if (value === undefined || value === null) return null;
  return (table.types.get(column) as ClickHouseColumnType).encode(value);
}

/**
 * The part of `events` (one table's, in position order, none at or before the checkpoint) as
 * rows; `stored` false for a table the part creates (nothing stored to read).
 */
export async function planTable(
  reader: Reader,
  table: ChTable,
  events: readonly ChangeEvent[],
  stored = true,
  mayPark: MayPark = async () => false,
): Promise<TablePlan> {
  const first = (events[0] as ChangeEvent).position;
  const last = (events[events.length - 1] as ChangeEvent).position;
  const truncatedAt = events.findLast((e) => e.op === 'truncate')?.position ?? null;
  const read = stored ? reader : null;
  const parked: Row[] = [];
  const rows = table.keyless
    ? await planCopies(read, table, events)
    : await planKeyed(read, table, events, mayPark, parked);
  return { table, rows, truncatedAt, first, last, parked };
}

async function planKeyed(
  reader: Reader | null,
  table: ChTable,
  events: readonly ChangeEvent[],
  mayPark: MayPark,
  parked: Row[],
): Promise<StorageRow[]> {
  const folded = foldTable(events, table.keyColumns);
  const needing = [...folded.changes.values()].filter(
    (net): net is NetUpsert => net.kind === 'upsert' && net.unchanged.length > 0,
  );
  const keyOf = (net: NetUpsert): Row => net.copyFrom ?? net.row;
  const stored =
    needing.length === 0 || folded.truncated || !reader
      ? new Map<number, StorageRow>()
      : await readStored(reader, table, needing.map(keyOf), (events[0] as ChangeEvent).position);
  const out: StorageRow[] = [];
  let i = -1;
  for (const net of folded.changes.values()) {
    const meta = {
      [LSN_COLUMN]: net.position.commitLsn.toString(),
      [VERSION_COLUMN]: positionVersion(net.position),
    };
    if (net.kind === 'delete') {
      const row: StorageRow = { ...meta, [DELETED_COLUMN]: 1 };
      for (const c of table.schema.columns)
        row[c.name] = table.keyColumns.includes(c.name) ? encode(table, c.name, net.key[c.name]) : null;
      out.push(row);
      continue;
    }
    let held: StorageRow | undefined;
    if (net.unchanged.length > 0) {
      i++;
      held = stored.get(i);
      if (!held && (await mayPark())) {
        // the snapshot's copy of the row comes later and outranks this partial row (snapshot-store.ts)
        parked.push(pickKey(net.row, table.keyColumns));
      } else if (!held) {
        throw new TributaryError(
          'SINK',
          `${displayName(table.schema.table)}: the change at ${formatPosition(net.position)} keeps unchanged TOASTed column(s) ${net.unchanged.join(', ')} of key ${describeKey(pickKey(keyOf(net), table.keyColumns))}, but the warehouse does not hold that row`,
          { hint: 'backfill the table to reload its rows' },
        );
      }
    }
    const row: StorageRow = { ...meta, [DELETED_COLUMN]: 0 };
    for (const c of table.schema.columns) {
      row[c.name] = !net.unchanged.includes(c.name)
        ? encode(table, c.name, net.row[c.name])
        : held
          ? held[c.name]
          : null;
    }
    out.push(row);
  }
  return out;
}

function pickKey(row: Row, key: readonly string[]): Row {
  return Object.fromEntries(key.map((k) => [k, row[k] ?? null]));
}

/** `structure` argument of format(): names and storage types. */
function structure(table: ChTable, columns: readonly string[], withIndex: boolean): string {
  const parts = columns.map((name) => {
    const column = table.schema.columns.find((c) => c.name === name);
    if (!column) throw new TributaryError('INTERNAL', `${table.view} has no column ${name}`);
    return `${q(name)} ${columnType(table, column)}`;
  });
  if (withIndex) parts.unshift(`${q(INDEX)} UInt32`);
  return quoteString(parts.join(', '));
}

/**
 * The stored rows, as of before `before`, of the keys `keys` (index i → the row of keys[i]);
 * absent where the warehouse holds none.
 */
async function readStored(
  reader: Reader,
  table: ChTable,
  keys: readonly Row[],
  before: Position,
): Promise<Map<number, StorageRow>> {
  const { client, context } = reader;
  const version = positionVersion(before);
  const watermark = await watermarkBefore(client, context, table.view, version);
  const key = table.keyColumns;
  const data = keys
    .map((row, i) =>
      toJson({ [INDEX]: i, ...Object.fromEntries(key.map((k) => [k, encode(table, k, row[k])])) }),
    )
    .join('\n');
  const keyList = key.map(q).join(', ');
  const columns = table.schema.columns.map((c) => `s.${q(c.name)} AS ${q(c.name)}`).join(', ');
  const query = `SELECT l.${q(INDEX)} AS ${q(INDEX)}, ${columns}
    FROM format(JSONEachRow, ${structure(table, key, true)}, {keys:String}) AS l
    INNER JOIN (
      SELECT * FROM ${qualified(context, table.target)}
      WHERE ${q(VERSION_COLUMN)} < {before:UInt128}
        AND (${keyList}) IN (SELECT ${keyList} FROM format(JSONEachRow, ${structure(table, key, true)}, {keys:String}))
      ORDER BY ${q(VERSION_COLUMN)} DESC LIMIT 1 BY ${keyList}
    ) AS s USING (${keyList})
    WHERE s.${q(DELETED_COLUMN)} = 0 AND s.${q(VERSION_COLUMN)} > {watermark:UInt128}`;
  const found = await (
    await client.query({
      query,
      format: 'JSONEachRow',
      query_params: { keys: data, before: version, watermark },
    })
  ).json<StorageRow>();
  return new Map(found.map((row) => [Number(row[INDEX]), row]));
}

interface Copy {
  readonly copy: bigint;
  readonly seq: bigint;
}

const compareCopies = (a: Copy, b: Copy): number =>
  a.copy === b.copy ? (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0) : a.copy < b.copy ? -1 : 1;

async function planCopies(
  reader: Reader | null,
  table: ChTable,
  events: readonly ChangeEvent[],
): Promise<StorageRow[]> {
  const columns = table.keyColumns;
  // the old rows the part ends copies of, each once
  const wanted = new Map<string, Row>();
  for (const event of events) {
    if (event.op === 'delete' || event.op === 'update') {
      const old = oldRow(event, event.op === 'delete' ? (event.before ?? event.pk) : event.before, columns);
      wanted.set(rowString(old, columns), old);
    }
  }
  const stored =
    wanted.size === 0 || !reader
      ? new Map<string, Copy[]>()
      : await storedCopies(reader, table, [...wanted.values()], (events[0] as ChangeEvent).position);
  const live = new Map<string, Copy[]>();
  let truncated = false;
  const liveOf = (key: string): Copy[] => {
    let list = live.get(key);
    if (!list) {
      list = truncated ? [] : [...(stored.get(key) ?? [])];
      live.set(key, list);
    }
    return list;
  };
  const writes = new Map<string, StorageRow>();
  const write = (copy: Copy, row: Row, position: Position, deleted: boolean): void => {
    const out: StorageRow = {
      [LSN_COLUMN]: position.commitLsn.toString(),
      [VERSION_COLUMN]: positionVersion(position),
      [DELETED_COLUMN]: deleted ? 1 : 0,
      [COPY_COLUMN]: copy.copy.toString(),
      [COPY_SEQ_COLUMN]: copy.seq.toString(),
    };
    for (const c of columns) out[c] = encode(table, c, row[c]);
    writes.set(`${copy.copy}:${copy.seq}`, out);
  };
  const end = (event: ChangeEvent, old: Row): void => {
    const list = liveOf(rowString(old, columns));
    const oldest = list.shift();
    if (!oldest) {
      throw new TributaryError(
        'SINK',
        `${displayName(table.schema.table)}: the ${event.op} at ${formatPosition(event.position)} removes a row the warehouse does not hold (a table without a primary key: the warehouse no longer matches the source)`,
        { hint: `backfill ${displayName(table.schema.table)} to reload its rows` },
      );
    }
    write(oldest, old, event.position, true);
  };
  const make = (event: ChangeEvent): void => {
    const row = newRow(event, columns);
    const copy = { copy: BigInt(positionVersion(event.position)), seq: 0n };
    const list = liveOf(rowString(row, columns));
    list.push(copy);
    list.sort(compareCopies);
    write(copy, row, event.position, false);
  };
  for (const event of events) {
    switch (event.op) {
      case 'truncate':
        truncated = true;
        live.clear();
        break;
      case 'insert':
        make(event);
        break;
      case 'delete':
        end(event, oldRow(event, event.before ?? event.pk, columns));
        break;
      case 'update':
        end(event, oldRow(event, event.before, columns));
        make(event);
        break;
    }
  }
  return [...writes.values()];
}

/** The live copies, as of before `before`, of each of `wanted` (by rowString), oldest first. */
async function storedCopies(
  reader: Reader,
  table: ChTable,
  wanted: readonly Row[],
  before: Position,
): Promise<Map<string, Copy[]>> {
  const { client, context } = reader;
  const columns = table.keyColumns;
  const version = positionVersion(before);
  const watermark = await watermarkBefore(client, context, table.view, version);
  const data = wanted
    .map((row, i) =>
      toJson({ [INDEX]: i, ...Object.fromEntries(columns.map((c) => [c, encode(table, c, row[c])])) }),
    )
    .join('\n');
  const list = columns.map(q).join(', ');
  const on = columns.map((c) => `isNotDistinctFrom(l.${q(c)}, s.${q(c)})`).join(' AND ');
  const copy = `${q(COPY_COLUMN)}, ${q(COPY_SEQ_COLUMN)}`;
  const query = `SELECT l.${q(INDEX)} AS i, toString(s.${q(COPY_COLUMN)}) AS copy, toString(s.${q(COPY_SEQ_COLUMN)}) AS seq
    FROM format(JSONEachRow, ${structure(table, columns, true)}, {rows:String}) AS l
    INNER JOIN (
      SELECT * FROM ${qualified(context, table.target)}
      WHERE ${q(VERSION_COLUMN)} < {before:UInt128}
        AND (${list}) IN (SELECT ${list} FROM format(JSONEachRow, ${structure(table, columns, true)}, {rows:String}))
      ORDER BY ${q(VERSION_COLUMN)} DESC LIMIT 1 BY ${copy}
    ) AS s ON ${on}
    WHERE s.${q(DELETED_COLUMN)} = 0 AND s.${q(VERSION_COLUMN)} > {watermark:UInt128}`;
  const found = await (
    await client.query({
      query,
      format: 'JSONEachRow',
      query_params: { rows: data, before: version, watermark },
      clickhouse_settings: { transform_null_in: 1 },
    })
  ).json<{ i: number; copy: string; seq: string }>();
  const out = new Map<string, Copy[]>();
  for (const f of found) {
    const key = rowString(wanted[Number(f.i)] as Row, columns);
    const copies = out.get(key) ?? [];
    copies.push({ copy: BigInt(f.copy), seq: BigInt(f.seq) });
    out.set(key, copies);
  }
  for (const copies of out.values()) copies.sort(compareCopies);
  return out;
}

/** The old row of an update or delete of a multiset: it must hold every column to tell which copy it was. */
function oldRow(event: ChangeEvent, old: Row | null, columns: readonly string[]): Row {
  const missing = old ? columns.filter((c) => !Object.hasOwn(old, c)) : columns;
  if (old && missing.length === 0) return old;
  throw new TributaryError(
    'SINK',
    `${displayName(event.table)}: the ${event.op} at ${formatPosition(event.position)} does not carry the old row's ${missing.join(', ')}, so the warehouse cannot tell which row of a table without a primary key it changed`,
    {
      hint: `set REPLICA IDENTITY FULL on ${displayName(event.table)} (or give it a primary key), then backfill it`,
    },
  );
}

/** The new row of a multiset; unchanged TOASTed columns are the old row's values (REPLICA IDENTITY FULL sends them). */
function newRow(event: ChangeEvent, columns: readonly string[]): Row {
  const row = event.row ?? Object.create(null);
  const unchanged = event.unchanged.filter((c) => !Object.hasOwn(row, c));
  if (unchanged.length === 0) return row;
  const before = event.before;
  if (!before || unchanged.some((c) => !Object.hasOwn(before, c))) {
    throw new TributaryError(
      'SINK',
      `${displayName(event.table)}: the ${event.op} at ${formatPosition(event.position)} keeps unchanged TOASTed column(s) ${unchanged.join(', ')} without the old row's values, so the new row of a table without a primary key is unknown`,
      { hint: `set REPLICA IDENTITY FULL on ${displayName(event.table)}, then backfill it` },
    );
  }
  const filled: Record<string, Value> = Object.assign(Object.create(null), row);
  for (const c of columns) if (unchanged.includes(c)) filled[c] = before[c] ?? null;
  return filled;
}
