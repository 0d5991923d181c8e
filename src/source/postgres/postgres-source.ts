/**
 * The Postgres change source: snapshot-free streaming of committed changes from a logical
 * replication slot (pgoutput), with durable acknowledgement and reconnects.
 *
 * Contract (DESIGN.md):
 * - `run(target, signal)` writes stream items to `target` in commit order, in batches, and
 *   waits for each write (backpressure: while the target is busy the socket is paused).
 * - The slot is acknowledged only up to what `acknowledge(position)` reports as durably
 *   committed downstream (see FlushTracker). Keepalives that ask for a reply are answered at
 *   once, from the socket handler, even while processing is behind.
 * - A lost connection (server restart, terminated walsender, network) is retried with capped
 *   exponential backoff and jitter; streaming resumes from the slot and nothing already emitted
 *   is emitted again in this process. Configuration problems are not retried.
 * - On abort it applies what it received: queued messages are processed, the target flushed,
 *   the final durable position acknowledged, and the connection closed.
 */
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StreamItem } from '../../core/change-event.js';
import { isRetryable, TributaryError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { formatLsn, type Lsn, maxLsn } from '../../core/lsn.js';
import { formatPosition, type Position } from '../../core/position.js';
import type { TableRef } from '../../core/table-ref.js';
import { decodePgoutput } from './pgoutput/decode.js';
import { FlushTracker } from './replication/flush-tracker.js';
import { encodeStatusUpdate, parseFrame, pgClock } from './replication/frames.js';
import { ReplicationConnection } from './replication/replication-connection.js';
import { withSessionSettings } from './session-settings.js';
import { connectClient } from './setup/connect.js';
import type { SourceConfig } from './setup/connection-config.js';
import { preflight } from './setup/preflight.js';
import { ensurePublication } from './setup/publication.js';
import { checkSlotUsable, dropSlot, inspectSlot } from './setup/slot.js';
import { type ExportedSnapshot, exportSnapshot } from './snapshot/snapshot-reader.js';
import { CatalogConnection } from './stream/catalog-connection.js';
import { CatalogResolver } from './stream/catalog-resolver.js';
import { ChangeAssembler } from './stream/change-assembler.js';
import { readSlotPosition, SlotMonitor, type SlotObservation } from './stream/slot-monitor.js';
import { StreamSpool } from './stream/stream-spool.js';
import { TableWatcher } from './stream/table-watcher.js';
import { TypeRegistry } from './values/type-registry.js';

export interface StreamTarget {
  /** Accepts a batch in stream order; resolves when it may take the next one. */
  write(items: readonly StreamItem[]): Promise<void>;
  /** Resolves once everything written is durable and has been acknowledged to the source. */
  flush(): Promise<void>;
}

export interface PostgresSourceOptions {
  readonly connection: SourceConfig;
  readonly slot: string;
  readonly publication: string;
  readonly tables: readonly TableRef[] | 'all';
  readonly logger: Logger;
  /** pgoutput protocol version; default: 4 on Postgres ≥ 16, else 2 (both stream large transactions). */
  readonly protocolVersion?: number;
  /** Emit a non-transactional heartbeat message this often (0: never). Default 0. */
  readonly heartbeatIntervalMs?: number;
  /** How often a standby status update is sent even when nothing changed. Default 10 s. */
  readonly statusIntervalMs?: number;
  /** A batch is handed to the target at this many items or bytes of pgoutput data, or when caught up. */
  readonly maxBatchItems?: number;
  readonly maxBatchBytes?: number;
  /** Received frames (or bytes) queued before the socket is paused. */
  readonly maxQueuedFrames?: number;
  readonly maxQueuedBytes?: number;
  readonly spoolDir?: string;
  readonly reconnectInitialDelayMs?: number;
  readonly reconnectMaxDelayMs?: number;
  /** The registry the source fills with the source's types; share it to read them elsewhere. */
  readonly types?: TypeRegistry;
  /** How long a start waits for a server that is still starting up. Default 60 s. */
  readonly startupWaitMs?: number;
  /** Without a table list: how often to look for new tables to publish. Default 10 s. */
  readonly tableWatchIntervalMs?: number;
  /** The downstream's checkpoint: nothing at or before it is emitted. */
  readonly resumeAfter?: Position | null;
  /** Unix milliseconds; injectable for tests. */
  readonly now?: () => number;
}

export const HEARTBEAT_PREFIX = 'tributary.heartbeat';
const DATA_TAGS = new Set([0x52, 0x59, 0x49, 0x55, 0x44, 0x54, 0x4d]); // R Y I U D T M

/**
 * The longest the stream decodes queued frames without giving the event loop a turn. Frames
 * already received are decoded in one synchronous run otherwise (the feed's write resolves at
 * once while it has room), up to the whole receive queue, and the loader's DuckDB statements,
 * whose completions wait for a turn, stall behind it: the loader and the decoding took turns
 * instead of overlapping (bench/landing: the source sat blocked on a full feed for most of the
 * drain while the loader waited to be called back).
 */
const YIELD_AFTER_MS = 4;
/** How many frames between two looks at the clock. */
const YIELD_CHECK_FRAMES = 64;

type QueuedFrame = { readonly walEnd: Lsn; readonly payload: Buffer | null };

export interface SourceStatus {
  readonly connected: boolean;
  readonly flushLsn: string;
  readonly receivedLsn: string;
  readonly lastEmitted: string | null;
  readonly reconnects: number;
  /** The slot as the server sees it (WAL end, confirmed flush, restart); null before streaming starts. */
  readonly slot: SlotObservation | null;
}

export class PostgresSource {
  readonly #options: PostgresSourceOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  #tracker = new FlushTracker();
  #assembler: ChangeAssembler | null = null;
  #connection: ReplicationConnection | null = null;
  #received: Lsn = 0n;
  #lastSentFlush: Lsn = -1n;
  #lastStatusAt = 0;
  #reconnects = 0;
  #slotMonitor: SlotMonitor | null = null;

  constructor(options: PostgresSourceOptions) {
    this.#options = options;
    this.#log = options.logger;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Where the source stands. The slot is read from the server over the catalog connection, at
   * most once a second and never waited on for more than a second (SlotMonitor); this never throws.
   */
  async status(): Promise<SourceStatus> {
    const lastEmitted = this.#assembler?.lastEmitted ?? null;
    const slot = (await this.#slotMonitor?.observe()) ?? null;
    return {
      connected: this.#connection !== null,
      flushLsn: formatLsn(this.#tracker.flushLsn),
      receivedLsn: formatLsn(this.#received),
      lastEmitted: lastEmitted ? formatPosition(lastEmitted) : null,
      reconnects: this.#reconnects,
      slot,
    };
  }

  /** Downstream made everything up to `position` durable. */
  acknowledge(position: Position): void {
    this.#tracker.acknowledge(position);
  }

  /**
   * The position the slot is acknowledged to: everything before it is durable downstream, and
   * on an idle stream it follows the server's WAL end (keepalives). A snapshot read at a
   * consistent point at or before it may be applied (src/warehouse/snapshot.ts, rule 1).
   */
  get acknowledgedLsn(): Lsn {
    return this.#tracker.flushLsn;
  }

  /** Drops the slot (a first run that starts over; nothing was applied from it). */
  async dropSlot(): Promise<void> {
    const client = await connectClient(this.#options.connection, { applicationName: 'tributary' });
    try {
      await dropSlot(client, this.#options.slot);
    } finally {
      await client.end();
    }
  }

  /** Asks the server for a keepalive now, so an idle stream's acknowledged position catches up. */
  requestKeepalive(): void {
    const connection = this.#connection;
    if (connection) this.#sendStatus(connection, true);
  }

  /**
   * Pre-flight checks, publication and slot. Creates what is missing; refuses what would lose
   * data or harm production. Returns the slot's confirmed flush position. With `exportSnapshot`
   * a slot it creates keeps its snapshot exported (`snapshot`, for the first run's copy) until
   * `snapshot.release()`; an existing slot has none.
   */
  async prepare(
    options: { readonly exportSnapshot?: boolean } = {},
  ): Promise<{ slotCreated: boolean; confirmedFlush: Lsn; snapshot: ExportedSnapshot | null }> {
    const o = this.#options;
    const client = await this.#waitForStartup(() =>
      connectClient(o.connection, { applicationName: 'tributary' }),
    );
    try {
      await preflight(client, {
        slotName: o.slot,
        publicationName: o.publication,
        tables: o.tables === 'all' ? 'all' : [...o.tables],
      });
      await ensurePublication(client, o.publication, o.tables === 'all' ? 'all' : [...o.tables]);
      const existing = await inspectSlot(client, o.slot);
      if (existing) {
        checkSlotUsable(existing, { database: String(o.connection.database ?? '') });
        this.#log.info(
          {
            slot: o.slot,
            confirmedFlush:
              existing.confirmedFlushLsn === null ? null : formatLsn(existing.confirmedFlushLsn),
          },
          'reusing replication slot',
        );
        return { slotCreated: false, confirmedFlush: existing.confirmedFlushLsn ?? 0n, snapshot: null };
      }
      if (o.resumeAfter) throw slotMissingError(o.slot, o.resumeAfter);
    } finally {
      await client.end();
    }
    if (options.exportSnapshot) {
      const snapshot = await this.#waitForStartup(() =>
        exportSnapshot(o.connection, { name: o.slot, temporary: false }),
      );
      this.#log.info(
        { slot: o.slot, consistentPoint: formatLsn(snapshot.consistentPoint) },
        'created replication slot, with a snapshot for the initial copy',
      );
      return { slotCreated: true, confirmedFlush: snapshot.consistentPoint, snapshot };
    }
    const replication = await this.#waitForStartup(() => this.#openReplication());
    try {
      const created = await replication.createSlot(o.slot, 'nothing');
      this.#log.info(
        { slot: o.slot, consistentPoint: formatLsn(created.consistentPoint) },
        'created replication slot',
      );
      return { slotCreated: true, confirmedFlush: created.consistentPoint, snapshot: null };
    } finally {
      await replication.close();
    }
  }

  /**
   * A server that is still starting up (or in recovery) says so (57P03): wait for it, up to
   * `startupWaitMs`, instead of failing a start that coincides with a restart. Any other
   * connection failure (a wrong host or port, bad credentials) fails at once.
   */
  async #waitForStartup<T>(connect: () => Promise<T>): Promise<T> {
    const deadline = this.#now() + (this.#options.startupWaitMs ?? 60_000);
    for (let attempt = 0; ; attempt++) {
      try {
        return await connect();
      } catch (error) {
        const code =
          error instanceof TributaryError ? (error.cause as { code?: string } | undefined)?.code : undefined;
        if (code !== '57P03' || this.#now() >= deadline) throw error;
        const delay = this.#backoff(attempt);
        this.#log.warn({ retryInMs: delay }, 'Postgres is starting up; waiting');
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  async #openReplication(): Promise<ReplicationConnection> {
    const client = await connectClient(
      { ...withSessionSettings(this.#options.connection), replication: 'database' } as SourceConfig,
      { applicationName: 'tributary' },
    );
    return new ReplicationConnection(client);
  }

  /** Streams into `target` until `signal` aborts; reconnects after transient failures. */
  async run(target: StreamTarget, signal: AbortSignal): Promise<void> {
    const o = this.#options;
    const spool = new StreamSpool(o.spoolDir ?? defaultSpoolDir(o));
    const catalog = new CatalogConnection(o.connection, this.#log);
    const resolver = new CatalogResolver(catalog, o.types ?? new TypeRegistry());
    const slotMonitor = new SlotMonitor(
      () => catalog.use((client) => readSlotPosition(client, o.slot)),
      this.#log,
      { now: this.#now },
    );
    this.#slotMonitor = slotMonitor;
    void slotMonitor.observe(); // so the first status request finds a reading (it never throws)
    this.#tracker = new FlushTracker();
    const batch: StreamItem[] = [];
    this.#assembler = new ChangeAssembler(
      resolver,
      this.#tracker,
      (item) => batch.push(item),
      {
        heartbeatPrefix: HEARTBEAT_PREFIX,
        onLeftOut: (table, columns) =>
          this.#log.warn(
            { table, columns },
            "columns named like Tributary's own (_tributary_…) are left out of the warehouse: rename them at the source",
          ),
      },
      o.resumeAfter ?? null,
    );
    const heartbeat = o.heartbeatIntervalMs
      ? setInterval(() => {
          catalog
            .query('SELECT pg_logical_emit_message(false, $1, $2)', [HEARTBEAT_PREFIX, ''])
            .catch((error: Error) => this.#log.warn({ err: error.message }, 'heartbeat failed'));
        }, o.heartbeatIntervalMs)
      : null;
    const watcher = o.tables === 'all' ? new TableWatcher(catalog, o.publication, this.#log) : null;
    const watch = watcher
      ? setInterval(() => {
          watcher
            .check()
            .catch((error: Error) => this.#log.warn({ err: error.message }, 'new-table check failed'));
        }, o.tableWatchIntervalMs ?? 10_000)
      : null;
    try {
      let attempt = 0;
      for (;;) {
        try {
          await this.#session(target, batch, spool, signal, () => (attempt = 0));
          return;
        } catch (error) {
          if (signal.aborted) throw error;
          if (!isRetryable(error)) throw await this.#diagnose(error, catalog);
          const delay = this.#backoff(attempt++);
          this.#reconnects++;
          this.#log.warn(
            { err: (error as Error).message, retryInMs: delay },
            'replication connection lost; reconnecting',
          );
          await sleep(delay, signal);
          if (signal.aborted) {
            await this.#drain(target, batch);
            return;
          }
        }
      }
    } finally {
      if (heartbeat) clearInterval(heartbeat);
      if (watch) clearInterval(watch);
      slotMonitor.close();
      spool.close();
      await catalog.close();
    }
  }

  /**
   * A slot dropped or invalidated while streaming fails START_REPLICATION with a bare server
   * error; look at the slot and report it as what it is.
   */
  async #diagnose(error: unknown, catalog: CatalogConnection): Promise<unknown> {
    if (error instanceof TributaryError) return error;
    try {
      const slot = await catalog.use((client) => inspectSlot(client, this.#options.slot));
      if (!slot) {
        const last = this.#assembler?.lastEmitted ??
          this.#options.resumeAfter ?? { commitLsn: 0n, ordinal: -1 };
        return slotMissingError(this.#options.slot, last);
      }
      checkSlotUsable(slot, { database: String(this.#options.connection.database ?? '') });
    } catch (diagnosis) {
      if (diagnosis instanceof TributaryError && diagnosis.code !== 'CONNECTION_LOST') return diagnosis;
    }
    return error;
  }

  #backoff(attempt: number): number {
    const initial = this.#options.reconnectInitialDelayMs ?? 200;
    const max = this.#options.reconnectMaxDelayMs ?? 30_000;
    const capped = Math.min(max, initial * 2 ** attempt);
    return Math.round(capped / 2 + Math.random() * (capped / 2));
  }

  async #session(
    target: StreamTarget,
    batch: StreamItem[],
    spool: StreamSpool,
    signal: AbortSignal,
    connected: () => void,
  ): Promise<void> {
    const o = this.#options;
    let connection: ReplicationConnection;
    try {
      connection = await this.#openReplication();
    } catch (error) {
      throw asConnectionLost(error);
    }
    this.#connection = connection;
    const assembler = this.#assembler!;
    assembler.newSession();
    spool.reset();
    const tracker = this.#tracker;
    const highWater = o.maxQueuedFrames ?? 20_000;
    const highWaterBytes = o.maxQueuedBytes ?? 32 * 1024 * 1024;
    const maxBatch = o.maxBatchItems ?? 5_000;
    const maxBatchBytes = o.maxBatchBytes ?? 16 * 1024 * 1024;
    let queuedBytes = 0;
    let batchBytes = 0;
    const queue: QueuedFrame[] = [];
    let head = 0;
    let paused = false;
    let failure: unknown = null;
    let ended = false;
    let wake: (() => void) | null = null;
    const notify = () => {
      const w = wake;
      wake = null;
      w?.();
    };

    const onFrame = (chunk: Buffer) => {
      try {
        const frame = parseFrame(chunk);
        this.#received = maxLsn(this.#received, frame.walEnd);
        if (frame.kind === 'keepalive') {
          if (frame.replyRequested) this.#sendStatus(connection, false);
          queue.push({ walEnd: frame.walEnd, payload: null });
        } else {
          queue.push({ walEnd: frame.walEnd, payload: Buffer.from(frame.payload) });
          queuedBytes += frame.payload.length;
        }
        if (!paused && (queue.length - head >= highWater || queuedBytes >= highWaterBytes)) {
          paused = true;
          connection.pause();
        }
      } catch (error) {
        failure ??= error;
      }
      notify();
    };
    const onAbort = () => notify();
    signal.addEventListener('abort', onAbort);
    const statusTimer = setInterval(() => this.#maybeSendStatus(connection), 1000);
    const streamEnd = connection
      .startReplication({
        slot: o.slot,
        startLsn: 0n,
        pluginOptions: await this.#pluginOptions(connection),
        onFrame,
      })
      .then(
        () => {
          ended = true;
          notify();
        },
        (error: unknown) => {
          failure ??= error;
          notify();
        },
      );
    let streamXid: number | null = null;
    let everReceived = false;

    const batchFull = () => batch.length >= maxBatch || batchBytes >= maxBatchBytes;
    const flushBatch = async () => {
      batchBytes = 0;
      if (batch.length === 0) return;
      const items = batch.splice(0, batch.length);
      await target.write(items);
    };

    const replayStream = async (message: {
      xid: number;
      commitLsn: Lsn;
      endLsn: Lsn;
      commitTime: bigint;
    }) => {
      assembler.begin(message.commitLsn, message.xid, message.commitTime);
      for (const spooled of spool.replay(message.xid)) {
        batchBytes += spooled.length;
        const pending = assembler.handle(decodePgoutput(spooled, { inStream: true }));
        if (pending) await pending;
        if (batchFull()) await flushBatch();
      }
      assembler.commit(message.commitLsn, message.endLsn);
    };

    /** Handles one frame; returns a promise only when it has to wait. */
    const process = (frame: QueuedFrame): void | Promise<void> => {
      const payload = frame.payload;
      if (payload === null) {
        tracker.keepalive(frame.walEnd);
        return;
      }
      const tag = payload[0]!;
      if (streamXid !== null && DATA_TAGS.has(tag)) {
        if (payload.length < 5) throw new TributaryError('PROTOCOL', 'streamed message without an xid');
        spool.append(streamXid, payload.readUInt32BE(1), payload);
        return;
      }
      const message = decodePgoutput(payload, { inStream: streamXid !== null });
      switch (message.tag) {
        case 'streamStart':
          streamXid = message.xid;
          return;
        case 'streamStop':
          streamXid = null;
          return;
        case 'streamAbort':
          spool.abort(message.xid, message.subXid);
          return;
        case 'streamCommit':
          return replayStream(message);
        default:
          return assembler.handle(message);
      }
    };

    let sinceYield = 0;
    let sliceStart = performance.now();
    try {
      for (;;) {
        if (failure) throw failure;
        if (head < queue.length) {
          if (!everReceived) {
            everReceived = true;
            connected();
          }
          const frame = queue[head]!;
          queue[head++] = undefined as unknown as QueuedFrame;
          if (frame.payload) {
            queuedBytes -= frame.payload.length;
            batchBytes += frame.payload.length;
          }
          const pending = process(frame);
          if (pending) await pending;
          if (batchFull()) await flushBatch();
          if (head > 4096 && head * 2 > queue.length) {
            queue.splice(0, head);
            head = 0;
          }
          if (++sinceYield >= YIELD_CHECK_FRAMES) {
            sinceYield = 0;
            if (performance.now() - sliceStart >= YIELD_AFTER_MS) {
              // let the loader's I/O completions run (see YIELD_AFTER_MS)
              await new Promise<void>((resolve) => setImmediate(resolve));
              sliceStart = performance.now();
            }
          }
          continue;
        }
        // caught up with what arrived: hand over what we have, then wait for more
        await flushBatch();
        if (paused) {
          paused = false;
          connection.resume();
        }
        if (signal.aborted || ended) break;
        await new Promise<void>((resolve) => {
          wake = resolve;
          if (failure || signal.aborted || ended || head < queue.length) notify();
        });
        sliceStart = performance.now();
      }
      connection.pause();
      await this.#drain(target, batch);
      this.#sendStatus(connection, false);
      if (ended && !signal.aborted)
        throw new TributaryError('CONNECTION_LOST', 'the server ended replication');
    } catch (error) {
      throw asConnectionLost(error);
    } finally {
      clearInterval(statusTimer);
      signal.removeEventListener('abort', onAbort);
      this.#connection = null;
      await connection.close();
      await streamEnd;
    }
  }

  /** Hands over what is batched, waits until downstream made it durable, and acknowledges it. */
  async #drain(target: StreamTarget, batch: StreamItem[]): Promise<void> {
    if (batch.length > 0) await target.write(batch.splice(0, batch.length));
    await target.flush();
  }

  async #pluginOptions(connection: ReplicationConnection): Promise<Record<string, string>> {
    const version = await connection.serverVersionNum();
    const proto = this.#options.protocolVersion ?? (version >= 160000 ? 4 : 2);
    const options: Record<string, string> = {
      proto_version: String(proto),
      publication_names: `"${this.#options.publication.replaceAll('"', '""')}"`,
      messages: 'true',
    };
    if (proto >= 2) options.streaming = 'on';
    return options;
  }

  #maybeSendStatus(connection: ReplicationConnection): void {
    const interval = this.#options.statusIntervalMs ?? 10_000;
    const changed = this.#tracker.flushLsn !== this.#lastSentFlush;
    if (changed || this.#now() - this.#lastStatusAt >= interval) this.#sendStatus(connection, false);
  }

  #sendStatus(connection: ReplicationConnection, replyRequested: boolean): void {
    const flushed = this.#tracker.flushLsn;
    connection.send(
      encodeStatusUpdate({
        written: maxLsn(this.#received, flushed),
        flushed,
        applied: flushed,
        clock: pgClock(this.#now()),
        replyRequested,
      }),
    );
    this.#lastSentFlush = flushed;
    this.#lastStatusAt = this.#now();
  }
}

/** SQLSTATEs after which reconnecting can succeed: shutdown, restart, terminated walsender, slot still held. */
const TRANSIENT_SQLSTATES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '08006',
  '08003',
  '08001',
  '08004',
  '55006',
  '53300',
]);

function asConnectionLost(error: unknown): unknown {
  if (error instanceof TributaryError) {
    return error.code === 'CONNECT_FAILED'
      ? new TributaryError('CONNECTION_LOST', error.message, { cause: error })
      : error;
  }
  if (isConnectionFailure(error)) {
    const message = error instanceof Error ? error.message : String(error);
    return new TributaryError('CONNECTION_LOST', `replication connection lost: ${message}`, { cause: error });
  }
  return error;
}

/**
 * A failure after which connecting again can succeed: the server shutting down or restarting,
 * a terminated backend, the network (also a TributaryError that says so).
 */
export function isConnectionFailure(error: unknown): boolean {
  if (error instanceof TributaryError)
    return error.code === 'CONNECTION_LOST' || error.code === 'CONNECT_FAILED';
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  return (
    (code !== undefined && TRANSIENT_SQLSTATES.has(code)) ||
    // pg's "Client has encountered a connection error and is not queryable": a query on a
    // client whose connection already failed (the soak saw a streaming consumer exit on it)
    /ECONNRESET|ECONNREFUSED|EPIPE|terminat|Connection terminated|socket|not queryable/i.test(
      `${code ?? ''} ${message}`,
    )
  );
}

/**
 * One spool directory per source database and slot: only one process can stream a slot, so a
 * directory left by a killed process is safely emptied by the next one.
 */
function defaultSpoolDir(o: PostgresSourceOptions): string {
  const key = `${o.connection.host ?? ''}:${o.connection.port ?? ''}/${o.connection.database ?? ''}/${o.slot}`;
  return join(tmpdir(), `tributary-spool-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`);
}

function slotMissingError(slot: string, downstream: Position): TributaryError {
  return new TributaryError(
    'SLOT_MISSING',
    `replication slot "${slot}" does not exist, but the downstream already holds changes up to ${formatPosition(downstream)}: ` +
      'the slot was dropped, so changes made since then may be gone from the WAL',
    {
      hint:
        'Tributary does not create a new slot silently, because that would hide the gap. Start the downstream afresh ' +
        '(for `tail --out`, move the file away) so a new slot and snapshot begin a complete copy.',
    },
  );
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
