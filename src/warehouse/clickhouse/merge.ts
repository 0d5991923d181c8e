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
 *   bound JSON parameter; a row the warehouse does not hold fails the part, never a NULL —
 *   unless a snapshot job copies the table (`Parking`): then the row is written with
 *   placeholders (NULL) for those columns and its key parked with them, for the job's copy of the
 *   row to fill (snapshot-store.ts). Later changes of a parked key narrow or resolve its park.
 * - A table without a primary key is a multiset of copies: merge-copies.ts.
 * - A truncate (the part's last) is returned for the caller to record as the table's watermark;
 *   what the fold keeps after it has higher versions.
 */
import type { ChangeEvent, Row } from '../../core/change-event.js';
import { TributaryError } from '../../core/errors.js';
import { formatPosition, type Position } from '../../core/position.js';
import { displayName } from '../../core/table-ref.js';
import { describeKey, foldTable, type NetUpsert } from '../fold.js';
import { quoteName as q } from './connect.js';
import { DELETED_COLUMN, LSN_COLUMN, positionVersion, VERSION_COLUMN } from './layout.js';
import { planCopies } from './merge-copies.js';
import { watermarkBefore } from './state.js';
import {
  encode,
  INDEX,
  pickKey,
  type Reader,
  type StorageRow,
  setPresence,
  structure,
  toJson,
} from './storage-rows.js';
import { type ChTable, presenceColumn, presenceOf, qualified } from './tables.js';

export interface TablePlan {
  readonly table: ChTable;
  readonly rows: StorageRow[];
  /** The part's last truncate of the table, if any. */
  readonly truncatedAt: Position | null;
  readonly first: Position;
  readonly last: Position;
  /** What the part changes in the table's parks (snapshot-store.ts): written after its rows. */
  readonly parks: ParkUpdate[];
}

/**
 * An open park: the key's stored row, written by an update that left TOASTed columns unsent
 * while the warehouse did not hold the row, has placeholders (NULL) in `unknown`.
 */
export interface ParkState {
  readonly version: bigint;
  readonly unknown: readonly string[];
}

/** A key's park opened or narrowed (`unknown` the placeholders left) or resolved (`unknown` null). */
export interface ParkUpdate {
  readonly key: Row;
  readonly version: string;
  readonly unknown: readonly string[] | null;
}

/** What planning asks of the table's parks (snapshot-store.ts). */
export interface Parking {
  /**
   * Whether parks matter for the table: a keyed snapshot job is active (a partial update of a
   * row not held yet may be written and parked) or some park is still open.
   */
  active(): Promise<boolean>;
  /** Each key's open park, or null. */
  states(keys: readonly Row[]): Promise<(ParkState | null)[]>;
}

const NO_PARKING: Parking = { active: async () => false, states: async (keys) => keys.map(() => null) };

/**
 * The part of `events` (one table's, in position order, none at or before the checkpoint) as
 * rows; `stored` false for a table the part creates (nothing stored to read).
 */
export async function planTable(
  reader: Reader,
  table: ChTable,
  events: readonly ChangeEvent[],
  stored = true,
  parking: Parking = NO_PARKING,
): Promise<TablePlan> {
  const first = (events[0] as ChangeEvent).position;
  const last = (events[events.length - 1] as ChangeEvent).position;
  const truncatedAt = events.findLast((e) => e.op === 'truncate')?.position ?? null;
  const read = stored ? reader : null;
  const parks: ParkUpdate[] = [];
  const rows = table.keyless
    ? await planCopies(read, table, events)
    : await planKeyed(read, table, events, parking, parks);
  return { table, rows, truncatedAt, first, last, parks };
}

async function planKeyed(
  reader: Reader | null,
  table: ChTable,
  events: readonly ChangeEvent[],
  parking: Parking,
  parks: ParkUpdate[],
): Promise<StorageRow[]> {
  const folded = foldTable(events, table.keyColumns);
  const changes = [...folded.changes.values()];
  const needing = changes.filter(
    (net): net is NetUpsert => net.kind === 'upsert' && net.unchanged.length > 0,
  );
  const keyOf = (net: NetUpsert): Row => net.copyFrom ?? net.row;
  const stored =
    needing.length === 0 || folded.truncated || !reader
      ? new Map<number, StorageRow>()
      : await readStored(reader, table, needing.map(keyOf), (events[0] as ChangeEvent).position);
  // Parks (snapshot-store.ts): a key's open park says which columns of its stored row are
  // placeholders. A change of the key narrows them to what it left unsent too (carried forward,
  // they are still placeholders in the new row), a full row or a delete resolves the park — so
  // the snapshot's copy can fill exactly the placeholders, whatever order it arrives in.
  const active = changes.length > 0 && (await parking.active());
  const states = active
    ? await parking.states(
        changes.map((net) => pickKey(net.kind === 'delete' ? net.key : keyOf(net), table.keyColumns)),
      )
    : [];
  const out: StorageRow[] = [];
  let i = -1;
  for (const [j, net] of changes.entries()) {
    const version = positionVersion(net.position);
    const meta = { [LSN_COLUMN]: net.position.commitLsn.toString(), [VERSION_COLUMN]: version };
    const state = states[j] ?? null;
    if (net.kind === 'delete') {
      if (state) parks.push({ key: pickKey(net.key, table.keyColumns), version, unknown: null });
      const row: StorageRow = { ...meta, [DELETED_COLUMN]: 1 };
      for (const c of table.schema.columns)
        row[c.name] = table.keyColumns.includes(c.name) ? encode(table, c.name, net.key[c.name]) : null;
      out.push(setPresence(table, row, () => false));
      continue;
    }
    const key = pickKey(net.row, table.keyColumns);
    let held: StorageRow | undefined;
    if (net.unchanged.length > 0) {
      i++;
      held = stored.get(i);
      if (!held && active) {
        // the snapshot's copy of the row comes later and fills what this partial row lacks
        parks.push({ key, version, unknown: net.unchanged });
      } else if (!held) {
        throw new TributaryError(
          'SINK',
          `${displayName(table.schema.table)}: the change at ${formatPosition(net.position)} keeps unchanged TOASTed column(s) ${net.unchanged.join(', ')} of key ${describeKey(pickKey(keyOf(net), table.keyColumns))}, but the warehouse does not hold that row`,
          { hint: 'backfill the table to reload its rows' },
        );
      } else if (state) {
        const left = state.unknown.filter((c) => net.unchanged.includes(c));
        parks.push({ key, version, unknown: left.length > 0 ? left : null });
      }
    } else if (state) {
      parks.push({ key, version, unknown: null });
    }
    const row: StorageRow = { ...meta, [DELETED_COLUMN]: 0 };
    for (const c of table.schema.columns) {
      row[c.name] = !net.unchanged.includes(c.name)
        ? encode(table, c.name, net.row[c.name])
        : held
          ? held[c.name]
          : null;
    }
    // a placeholder (no held row) is NULL until the snapshot's copy fills it
    setPresence(table, row, (name) =>
      !net.unchanged.includes(name)
        ? net.row[name] !== undefined && net.row[name] !== null
        : held !== undefined && Number(held[presenceColumn(name)]) === 1,
    );
    out.push(row);
  }
  return out;
}

/**
 * The stored rows, as of before `before`, of the keys `keys` (index i → the row of keys[i]);
 * absent where the warehouse holds none.
 */
function readStored(
  reader: Reader,
  table: ChTable,
  keys: readonly Row[],
  before: Position,
): Promise<Map<number, StorageRow>> {
  return readKeys(reader, table, keys, positionVersion(before), false);
}

/**
 * The latest stored rows of `keys` (index i → the row of keys[i]) with their version, LSN and
 * deleted flag; absent where the warehouse holds none above the truncation watermark.
 */
export function readLatest(
  reader: Reader,
  table: ChTable,
  keys: readonly Row[],
): Promise<Map<number, StorageRow>> {
  return readKeys(reader, table, keys, ((1n << 128n) - 1n).toString(), true);
}

async function readKeys(
  reader: Reader,
  table: ChTable,
  keys: readonly Row[],
  version: string,
  withMeta: boolean,
): Promise<Map<number, StorageRow>> {
  const { client, context } = reader;
  const watermark = await watermarkBefore(client, context, table.view, version);
  const key = table.keyColumns;
  const data = keys
    .map((row, i) =>
      toJson({ [INDEX]: i, ...Object.fromEntries(key.map((k) => [k, encode(table, k, row[k])])) }),
    )
    .join('\n');
  const keyList = key.map(q).join(', ');
  const names = [
    ...table.schema.columns.map((c) => c.name),
    ...presenceOf(table).map(presenceColumn),
    ...(withMeta ? [VERSION_COLUMN, LSN_COLUMN, DELETED_COLUMN] : []),
  ];
  const columns = names.map((name) => `s.${q(name)} AS ${q(name)}`).join(', ');
  const query = `SELECT l.${q(INDEX)} AS ${q(INDEX)}, ${columns}
    FROM format(JSONEachRow, ${structure(table, key, true)}, {keys:String}) AS l
    INNER JOIN (
      SELECT * FROM ${qualified(context, table.target)}
      WHERE ${q(VERSION_COLUMN)} < {before:UInt128}
        AND (${keyList}) IN (SELECT ${keyList} FROM format(JSONEachRow, ${structure(table, key, true)}, {keys:String}))
      ORDER BY ${q(VERSION_COLUMN)} DESC LIMIT 1 BY ${keyList}
    ) AS s USING (${keyList})
    WHERE ${withMeta ? '1' : `s.${q(DELETED_COLUMN)} = 0`} AND s.${q(VERSION_COLUMN)} > {watermark:UInt128}`;
  const found = await (
    await client.query({
      query,
      format: 'JSONEachRow',
      query_params: { keys: data, before: version, watermark },
    })
  ).json<StorageRow>();
  return new Map(found.map((row) => [Number(row[INDEX]), row]));
}
