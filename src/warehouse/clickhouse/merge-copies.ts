/**
 * A table without a primary key (a multiset, REPLICA IDENTITY FULL) → the rows to insert into
 * its ClickHouse storage. Each copy of a row is a row of its own with an identity
 * (`_tributary_copy`, `_tributary_copy_seq`, tables.ts): the version of the change that created
 * it (or of the snapshot read, with a sequence number per chunk).
 *
 * - An insert creates the copy identified by its change's version. A delete (or an update's old
 *   row) ends the OLDEST live copy holding the same values (matched NULL-safely), as a tombstone
 *   of that identity at the delete's version; none held fails the batch (the warehouse no longer
 *   matches the source), naming the table.
 * - Which copy ends depends only on the state just before the change — read "as of" the part's
 *   first position (merge.ts) — so a part split differently on redelivery ends the same copies.
 *   Every copy the part touched is written in its final state (one made and ended inside the
 *   part as a tombstone), so what an earlier, differently split delivery wrote is superseded.
 * - Why not a signed count per row (a CollapsingMergeTree, or fold-counts.ts's counts): counts
 *   are not idempotent — a redelivered part would count twice — while identities with versions
 *   are, and they let the view stay a plain `FINAL` without deleted rows, like keyed tables.
 * - Cost: ending copies reads the table's rows that hold the deleted values (an IN over the
 *   value columns, then the latest row per identity); a table without a key has no index to
 *   help, so a delete-heavy multiset reads more than a keyed table.
 */
import type { ChangeEvent, Row } from '../../core/change-event.js';
import { TributaryError } from '../../core/errors.js';
import { formatPosition, type Position } from '../../core/position.js';
import { displayName } from '../../core/table-ref.js';
import type { Value } from '../../core/values.js';
import { rowString } from '../fold-counts.js';
import { quoteName as q } from './connect.js';
import { DELETED_COLUMN, LSN_COLUMN, positionVersion, VERSION_COLUMN } from './layout.js';
import { watermarkBefore } from './state.js';
import {
  encode,
  INDEX,
  type Reader,
  type StorageRow,
  setPresence,
  structure,
  toJson,
} from './storage-rows.js';
import {
  type ChTable,
  COPY_COLUMN,
  COPY_SEQ_COLUMN,
  presenceColumn,
  presenceOf,
  qualified,
} from './tables.js';

interface Copy {
  readonly copy: bigint;
  readonly seq: bigint;
}

const compareCopies = (a: Copy, b: Copy): number =>
  a.copy === b.copy ? (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0) : a.copy < b.copy ? -1 : 1;

export async function planCopies(
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
    setPresence(table, out, (name) => row[name] !== undefined && row[name] !== null);
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
  // a NULL array and an empty one are both stored as [], told apart by the presence flag
  const columns = [...table.keyColumns, ...presenceOf(table).map(presenceColumn)];
  const version = positionVersion(before);
  const watermark = await watermarkBefore(client, context, table.view, version);
  const data = wanted
    .map((row, i) =>
      toJson(
        setPresence(
          table,
          {
            [INDEX]: i,
            ...Object.fromEntries(table.keyColumns.map((c) => [c, encode(table, c, row[c])])),
          },
          (name) => row[name] !== undefined && row[name] !== null,
        ),
      ),
    )
    .join('\n');
  const list = columns.map(q).join(', ');
  const on = columns.map((c) => `isNotDistinctFrom(l.${q(c)}, s.${q(c)})`).join(' AND ');
  const copy = `${q(COPY_COLUMN)}, ${q(COPY_SEQ_COLUMN)}`;
  const query = `SELECT l.${q(INDEX)} AS ${q(INDEX)}, toString(s.${q(COPY_COLUMN)}) AS _tributary_copy_text, toString(s.${q(COPY_SEQ_COLUMN)}) AS _tributary_seq_text
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
  ).json<Record<string, string | number>>();
  const out = new Map<string, Copy[]>();
  for (const f of found) {
    const key = rowString(wanted[Number(f[INDEX])] as Row, table.keyColumns);
    const copies = out.get(key) ?? [];
    copies.push({
      copy: BigInt(f._tributary_copy_text as string),
      seq: BigInt(f._tributary_seq_text as string),
    });
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
