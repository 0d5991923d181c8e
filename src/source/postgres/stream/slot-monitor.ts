/**
 * The slot as the server sees it, for `tributary status`. Slot lag is how much WAL the slot
 * holds back: the server's WAL end minus the slot's confirmed_flush_lsn. WAL retained is the
 * server's WAL end minus restart_lsn. Neither can be read from the stream: the source only
 * knows what it received and what it acknowledged, not how far the server has written.
 *
 * The WAL end is pg_current_wal_lsn() on a primary; a standby (logical decoding on a standby,
 * PG16+) cannot call it, so there it is the last WAL received from the primary (or replayed,
 * when nothing is streamed).
 *
 * `SlotMonitor` reads on demand over a connection the source already holds, at most once per
 * `maxAgeMs`, and waits at most `timeoutMs`: a status request never hangs on a slow or
 * unreachable server. It then gets the last reading with its age, or none; it never throws.
 */
import type pg from 'pg';
import type { Logger } from '../../../core/logger.js';
import { type Lsn, parseLsn } from '../../../core/lsn.js';

export interface SlotReading {
  /** The server's WAL end: pg_current_wal_lsn(), or on a standby the last received/replayed LSN. */
  readonly serverLsn: Lsn;
  readonly inRecovery: boolean;
  /** False when the server has no slot of that name; the slot fields are then null. */
  readonly exists: boolean;
  readonly confirmedFlushLsn: Lsn | null;
  readonly restartLsn: Lsn | null;
  /** reserved | extended | unreserved | lost. */
  readonly walStatus: string | null;
  /** Bytes of WAL that can still be written before the slot is lost; null without max_slot_wal_keep_size. */
  readonly safeWalSizeBytes: number | null;
}

interface Row {
  server_lsn: string | null;
  in_recovery: boolean;
  slot_name: string | null;
  confirmed_flush_lsn: string | null;
  restart_lsn: string | null;
  wal_status: string | null;
  safe_wal_size: string | null;
}

/**
 * One query, so the WAL end and the slot are read at the same instant. wal_status and
 * safe_wal_size exist since PG13 (Tributary needs 14). CASE is evaluated at run time, so a
 * standby never calls pg_current_wal_lsn() (which would fail there).
 */
const SLOT_POSITION_SQL = `
  SELECT (CASE WHEN pg_is_in_recovery()
               THEN coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())
               ELSE pg_current_wal_lsn() END)::text AS server_lsn,
         pg_is_in_recovery() AS in_recovery,
         s.slot_name::text AS slot_name,
         s.confirmed_flush_lsn::text AS confirmed_flush_lsn, s.restart_lsn::text AS restart_lsn,
         s.wal_status, s.safe_wal_size::text AS safe_wal_size
    FROM (SELECT 1) AS one LEFT JOIN pg_replication_slots s ON s.slot_name = $1`;

export async function readSlotPosition(client: pg.Client, slot: string): Promise<SlotReading | null> {
  const r = (await client.query<Row>(SLOT_POSITION_SQL, [slot])).rows[0];
  if (!r || r.server_lsn === null) return null;
  return {
    serverLsn: parseLsn(r.server_lsn),
    inRecovery: r.in_recovery,
    exists: r.slot_name !== null,
    confirmedFlushLsn: r.confirmed_flush_lsn === null ? null : parseLsn(r.confirmed_flush_lsn),
    restartLsn: r.restart_lsn === null ? null : parseLsn(r.restart_lsn),
    walStatus: r.wal_status,
    safeWalSizeBytes: r.safe_wal_size === null ? null : Number(r.safe_wal_size),
  };
}

/** Bytes from `from` to the server's WAL end; null when unknown, 0 when `from` is ahead (a standby catching up). */
export function bytesBehind(reading: SlotReading, from: Lsn | null): number | null {
  if (from === null) return null;
  return reading.serverLsn > from ? Number(reading.serverLsn - from) : 0;
}

export interface SlotObservation {
  readonly reading: SlotReading;
  /** How old the reading is; more than `maxAgeMs` when the server did not answer in time. */
  readonly ageMs: number;
}

export interface SlotMonitorOptions {
  /** A reading younger than this is reused. Default 1 s. */
  readonly maxAgeMs?: number;
  /** How long `observe` waits for a fresh reading. Default 1 s. */
  readonly timeoutMs?: number;
  /** Unix milliseconds; injectable for tests. */
  readonly now?: () => number;
}

export class SlotMonitor {
  readonly #read: () => Promise<SlotReading | null>;
  readonly #log: Logger;
  readonly #maxAgeMs: number;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  #last: { readonly reading: SlotReading; readonly at: number } | null = null;
  #reading: Promise<void> | null = null;
  #closed = false;

  constructor(read: () => Promise<SlotReading | null>, log: Logger, options: SlotMonitorOptions = {}) {
    this.#read = read;
    this.#log = log;
    this.#maxAgeMs = options.maxAgeMs ?? 1000;
    this.#timeoutMs = options.timeoutMs ?? 1000;
    this.#now = options.now ?? Date.now;
  }

  /** A fresh reading, or, when the server does not answer within the timeout, the last one (or null). */
  async observe(): Promise<SlotObservation | null> {
    if (!this.#closed && !this.#fresh()) await this.#refresh();
    const last = this.#last;
    return last ? { reading: last.reading, ageMs: Math.max(0, this.#now() - last.at) } : null;
  }

  /** Stops reading (the connection is going away); `observe` keeps answering with the last reading. */
  close(): void {
    this.#closed = true;
  }

  #fresh(): boolean {
    return this.#last !== null && this.#now() - this.#last.at < this.#maxAgeMs;
  }

  /** One read at a time: concurrent requests share it; a late answer still updates the cache. */
  async #refresh(): Promise<void> {
    this.#reading ??= this.#readOnce().finally(() => {
      this.#reading = null;
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#timeoutMs);
      timer.unref();
    });
    try {
      await Promise.race([this.#reading, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #readOnce(): Promise<void> {
    const startedAt = this.#now();
    try {
      const reading = await this.#read();
      if (reading) this.#last = { reading, at: startedAt };
    } catch (error) {
      this.#log.debug({ err: (error as Error).message }, 'reading the slot position failed');
    }
  }
}
