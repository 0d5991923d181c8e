/**
 * Reading a table's rows at a snapshot that is paired with a position of the stream.
 *
 * - `exportSnapshot` creates a replication slot with EXPORT_SNAPSHOT: the exported snapshot
 *   shows exactly the transactions that committed before the slot's consistent point, and the
 *   slot streams every one that commits at or after it. A temporary slot (dropped with its
 *   session) serves a backfill or a resumed snapshot; the first run uses Tributary's own slot,
 *   so the stream starts where the copy ends.
 * - `SnapshotWorker`s import it (`SET TRANSACTION SNAPSHOT`, REPEATABLE READ, READ ONLY) and read
 *   chunks with `COPY (SELECT ...) TO STDOUT`, each under a statement timeout; the exporting
 *   session may end once every worker imported. Several workers read different chunks of one
 *   snapshot in parallel.
 * - A chunk is a range of heap pages (`ctid` between `(from,0)` and `(to,0)`, a TID range scan
 *   on Postgres 14+): every row of the snapshot is in exactly one chunk, and the last chunk is
 *   open-ended. `readKeys` reads given keys instead (re-reading parked keys), with the keys as
 *   bound arrays.
 */

import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { Row } from '../../../core/change-event.js';
import { TributaryError } from '../../../core/errors.js';
import { valueToJson } from '../../../core/event-json.js';
import { type Lsn, parseLsn } from '../../../core/lsn.js';
import { quoteIdentifier as q } from '../../../core/table-ref.js';
import type { Value } from '../../../core/values.js';
import { withSessionSettings } from '../session-settings.js';
import { connectClient } from '../setup/connect.js';
import type { SourceConfig } from '../setup/connection-config.js';
import { quoteLiteral } from '../setup/sql-text.js';
import type { ColumnDecoder } from '../stream/row-builder.js';
import { CopyTextParser } from './copy-text.js';
import type { SnapshotTable } from './snapshot-table.js';

export interface ExportedSnapshot {
  readonly name: string;
  readonly consistentPoint: Lsn;
  /**
   * The source's clock just before the slot was created: no transaction after the consistent
   * point committed earlier. The event time of the snapshot's rows in the raw zone.
   */
  readonly takenAt: Date;
  /** Ends the exporting session (a temporary slot goes with it). Call once every worker imported. */
  release(): Promise<void>;
}

/** Creates a slot (temporary unless `slot` names Tributary's own) and keeps its snapshot exported. */
export async function exportSnapshot(
  config: SourceConfig,
  slot: { readonly name: string; readonly temporary: boolean },
): Promise<ExportedSnapshot> {
  const client = await connectClient(
    { ...withSessionSettings(config), replication: 'database' } as SourceConfig,
    { applicationName: 'tributary snapshot' },
  );
  try {
    const clock = await client.query<{ now: Date }>('SELECT clock_timestamp() AS now');
    const takenAt = clock.rows[0]?.now ?? new Date();
    const result = await client.query<{ consistent_point: string; snapshot_name: string }>(
      `CREATE_REPLICATION_SLOT ${q(slot.name)} ${slot.temporary ? 'TEMPORARY ' : ''}LOGICAL pgoutput EXPORT_SNAPSHOT`,
    );
    const row = result.rows[0];
    if (!row?.snapshot_name)
      throw new TributaryError('PROTOCOL', 'CREATE_REPLICATION_SLOT exported no snapshot');
    let released = false;
    return {
      name: row.snapshot_name,
      consistentPoint: parseLsn(row.consistent_point),
      takenAt,
      release: async () => {
        if (released) return;
        released = true;
        await client.end().catch(() => {});
      },
    };
  } catch (error) {
    await client.end().catch(() => {});
    const message = (error as Error).message;
    if (/all replication slots are in use|max_replication_slots/i.test(message)) {
      throw new TributaryError('NO_FREE_SLOT', `cannot start a snapshot: ${message}`, {
        cause: error,
        hint: 'a snapshot or backfill needs one free replication slot for a moment: raise max_replication_slots (restart needed) or drop unused slots',
      });
    }
    if (/number of requested standby connections|max_wal_senders/i.test(message)) {
      throw new TributaryError('NO_FREE_WAL_SENDER', `cannot start a snapshot: ${message}`, {
        cause: error,
        hint: 'a snapshot or backfill needs one more WAL sender for a moment: raise max_wal_senders (restart needed)',
      });
    }
    throw error;
  }
}

export interface WorkerOptions {
  /** Per statement (one chunk's COPY); 0 for none. */
  readonly statementTimeoutMs: number;
}

/** A connection whose transaction reads at an exported snapshot. */
export class SnapshotWorker {
  readonly #client: pg.Client;

  private constructor(client: pg.Client) {
    this.#client = client;
  }

  static async open(config: SourceConfig, snapshot: string, options: WorkerOptions): Promise<SnapshotWorker> {
    const client = await connectClient(withSessionSettings(config), {
      applicationName: 'tributary snapshot',
    });
    try {
      // the server's idle-in-transaction limit would end a worker waiting for the stream
      await client.query('SET idle_in_transaction_session_timeout = 0');
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      await client.query(`SET TRANSACTION SNAPSHOT ${quoteLiteral(snapshot)}`);
      await client.query(
        `SET LOCAL statement_timeout = ${Math.max(0, Math.floor(options.statementTimeoutMs))}`,
      );
      return new SnapshotWorker(client);
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
  }

  get client(): pg.Client {
    return this.#client;
  }

  /**
   * Streams the rows of pages `[fromPage, toPage)` (`toPage` null: to the end) matching
   * `predicate`, in batches of up to `batchRows`; `onBatch` is awaited before reading on.
   */
  async readChunk(
    table: SnapshotTable,
    range: { readonly fromPage: number; readonly toPage: number | null },
    predicate: string | null,
    batchRows: number,
    onBatch: (rows: Row[]) => Promise<void>,
  ): Promise<number> {
    const sql = `${chunkQuery(table, range, predicate)} TO STDOUT`;
    const parser = new CopyTextParser(table.schema.columns.length);
    const stream = this.#client.query(copyTo(sql));
    let batch: Row[] = [];
    let total = 0;
    const decode = rowDecoder(table);
    const onRow = (fields: (string | null)[]) => batch.push(decode(fields));
    for await (const chunk of stream) {
      parser.push(chunk as Buffer, onRow);
      if (batch.length >= batchRows) {
        const full = batch;
        batch = [];
        total += full.length;
        await onBatch(full);
      }
    }
    parser.end();
    total += batch.length;
    if (batch.length > 0) await onBatch(batch);
    return total;
  }

  /**
   * Writes the rows of pages `[fromPage, toPage)` matching `predicate` to the file `path` as
   * `COPY ... TO STDOUT (FORMAT csv)` (NULL an unquoted empty field, the empty string `""`);
   * returns how many rows Postgres wrote.
   */
  async copyCsv(
    table: SnapshotTable,
    range: { readonly fromPage: number; readonly toPage: number | null },
    predicate: string | null,
    path: string,
  ): Promise<number> {
    const stream = this.#client.query(
      copyTo(`${chunkQuery(table, range, predicate)} TO STDOUT (FORMAT csv)`),
    );
    await pipeline(stream, createWriteStream(path));
    return stream.rowCount;
  }

  /** The rows with these keys (those that still exist at the snapshot). */
  async readKeys(table: SnapshotTable, keys: readonly Row[]): Promise<Row[]> {
    const key = table.schema.key;
    const arrays = key.map((k) => keys.map((row) => keyParameter(row[k] ?? null)));
    const unnest = key.map((_, i) => `$${i + 1}::text[]::${table.keyTypes[i]}[]`).join(', ');
    const sql = `${table.select} ${table.filtered ? 'AND' : 'WHERE'} (${key.map(q).join(', ')}) IN (SELECT * FROM unnest(${unnest}))`;
    const result = await this.#client.query({
      text: sql,
      values: arrays,
      rowMode: 'array',
      // the output functions' text, decoded as the stream's values are
      types: { getTypeParser: () => (text: string) => text },
    });
    return (result.rows as (string | null)[][]).map(rowDecoder(table));
  }

  async close(): Promise<void> {
    await this.#client.query('COMMIT').catch(() => {});
    await this.#client.end().catch(() => {});
  }
}

/** `COPY (<the chunk's SELECT>)`. */
function chunkQuery(
  table: SnapshotTable,
  range: { readonly fromPage: number; readonly toPage: number | null },
  predicate: string | null,
): string {
  const conditions = [`ctid >= '(${Math.floor(range.fromPage)},0)'::tid`];
  if (range.toPage !== null) conditions.push(`ctid < '(${Math.floor(range.toPage)},0)'::tid`);
  if (predicate) conditions.push(`(${predicate})`);
  return `COPY (${table.select} ${table.filtered ? 'AND' : 'WHERE'} ${conditions.join(' AND ')})`;
}

/** A row of the table from its fields' texts (as the output functions printed them, null for NULL). */
export function rowDecoder(table: SnapshotTable): (fields: (string | null)[]) => Row {
  const names = table.schema.columns.map((c) => c.name);
  return (fields) => decodeRow(names, table.decoders, fields);
}

function decodeRow(
  names: readonly string[],
  decoders: readonly ColumnDecoder[],
  fields: (string | null)[],
): Row {
  const row: Record<string, Value> = Object.create(null);
  for (let i = 0; i < names.length; i++) {
    const text = fields[i];
    row[names[i] as string] =
      text === null || text === undefined ? null : (decoders[i] as ColumnDecoder)(text);
  }
  return row;
}

/** A key value as text Postgres reads back into its type. */
function keyParameter(value: Value): string | null {
  if (value === null) return null;
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString('hex')}`;
  const json = valueToJson(value);
  return typeof json === 'string' ? json : JSON.stringify(json);
}
