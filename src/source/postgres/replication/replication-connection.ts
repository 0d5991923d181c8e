/**
 * A walsender connection (`replication=database`) over the `pg` client: replication commands
 * as simple queries, then START_REPLICATION in CopyBoth mode. `pg` parses the wire protocol and
 * hands each CopyData payload to `onFrame` synchronously; the payload is a view into the
 * client's read buffer, valid only until `onFrame` returns. Backpressure pauses the socket.
 *
 * Only what `pg` does not do is here: the CopyBoth loop and sending CopyData frames back.
 */
import type pg from 'pg';
import { TributaryError } from '../../../core/errors.js';
import { formatLsn, type Lsn, parseLsn } from '../../../core/lsn.js';
import { quoteIdentifier } from '../../../core/table-ref.js';

export interface SlotCreated {
  readonly slotName: string;
  readonly consistentPoint: Lsn;
  /** Set when the slot was created with `snapshot: 'export'`; valid while this connection is idle. */
  readonly snapshotName: string | null;
}

export interface StartOptions {
  readonly slot: string;
  readonly startLsn: Lsn;
  readonly pluginOptions: Readonly<Record<string, string>>;
  /** Called for each CopyData payload, synchronously, in order. */
  readonly onFrame: (payload: Buffer) => void;
}

function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

export class ReplicationConnection {
  readonly #client: pg.Client;
  #streaming = false;
  #closed = false;

  constructor(client: pg.Client) {
    this.#client = client;
  }

  get client(): pg.Client {
    return this.#client;
  }

  async serverVersionNum(): Promise<number> {
    const result = await this.#client.query<{ server_version_num: string }>('SHOW server_version_num');
    return Number(result.rows[0]?.server_version_num);
  }

  async identifySystem(): Promise<{
    systemId: string;
    timeline: number;
    xlogPos: Lsn;
    database: string | null;
  }> {
    const result = await this.#client.query<{
      systemid: string;
      timeline: string;
      xlogpos: string;
      dbname: string | null;
    }>('IDENTIFY_SYSTEM');
    const row = result.rows[0];
    if (!row) throw new TributaryError('PROTOCOL', 'IDENTIFY_SYSTEM returned no row');
    return {
      systemId: row.systemid,
      timeline: Number(row.timeline),
      xlogPos: parseLsn(row.xlogpos),
      database: row.dbname,
    };
  }

  /**
   * Creates a logical slot with pgoutput. `export` keeps a snapshot of the slot's consistent
   * point that other sessions may import (until this connection runs another command).
   */
  async createSlot(name: string, snapshot: 'nothing' | 'export' | 'use' = 'nothing'): Promise<SlotCreated> {
    const mode = { nothing: 'NOEXPORT_SNAPSHOT', export: 'EXPORT_SNAPSHOT', use: 'USE_SNAPSHOT' }[snapshot];
    const result = await this.#client.query<{
      slot_name: string;
      consistent_point: string;
      snapshot_name: string | null;
    }>(`CREATE_REPLICATION_SLOT ${quoteIdentifier(name)} LOGICAL pgoutput ${mode}`);
    const row = result.rows[0];
    if (!row) throw new TributaryError('PROTOCOL', 'CREATE_REPLICATION_SLOT returned no row');
    return {
      slotName: row.slot_name,
      consistentPoint: parseLsn(row.consistent_point),
      snapshotName: row.snapshot_name,
    };
  }

  /** Streams until the server ends the copy (resolves) or the connection fails (rejects). */
  startReplication(options: StartOptions): Promise<void> {
    const pluginOptions = Object.entries(options.pluginOptions)
      .map(([name, value]) => `${quoteIdentifier(name)} ${quoteLiteral(value)}`)
      .join(', ');
    const sql = `START_REPLICATION SLOT ${quoteIdentifier(options.slot)} LOGICAL ${formatLsn(options.startLsn)} (${pluginOptions})`;
    const connection = (this.#client as unknown as { connection: PgConnection }).connection;
    const onCopyData = (message: { chunk: Buffer }) => options.onFrame(message.chunk);
    connection.on('copyData', onCopyData);
    this.#streaming = true;
    return this.#client
      .query(sql)
      .then(() => undefined)
      .finally(() => {
        connection.off('copyData', onCopyData);
        this.#streaming = false;
      });
  }

  /** Sends one CopyData frame (a standby status update) while streaming. */
  send(frame: Buffer): void {
    if (!this.#streaming || this.#closed) return;
    const connection = (this.#client as unknown as { connection: PgConnection }).connection;
    connection.sendCopyFromChunk(frame);
  }

  pause(): void {
    this.#socket()?.pause();
  }

  resume(): void {
    this.#socket()?.resume();
  }

  #socket(): { pause(): void; resume(): void } | undefined {
    return (this.#client as unknown as { connection: PgConnection }).connection.stream;
  }

  /** Ends the copy and the connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const connection = (this.#client as unknown as { connection: PgConnection }).connection;
    if (this.#streaming) {
      try {
        connection.endCopyFrom();
      } catch {
        // the socket may already be gone
      }
    }
    await Promise.race([this.#client.end().catch(() => {}), new Promise((r) => setTimeout(r, 2000))]);
    this.destroy();
  }

  /** Drops the socket at once (no goodbye), as a crash would. */
  destroy(): void {
    this.#closed = true;
    const connection = (this.#client as unknown as { connection: PgConnection }).connection;
    connection.stream?.destroy?.();
  }
}

interface PgConnection {
  on(event: 'copyData', listener: (message: { chunk: Buffer }) => void): void;
  off(event: 'copyData', listener: (message: { chunk: Buffer }) => void): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  stream?: { pause(): void; resume(): void; destroy?: () => void };
}
