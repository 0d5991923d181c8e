/**
 * The scale-out feed on NATS JetStream (feed.ts has the contract; subjects.ts the names).
 *
 * Publishing. Items are carried many to a message: a run of consecutive items of one table
 * (its schema items, its changes, and the commits and logical messages between them), bounded
 * by items and bytes and by the server's max_payload, encoded by ../codec.ts. Each message
 * carries its first and last position in headers, and its id (`Nats-Msg-Id`) is the feed name
 * and its first position, so JetStream's duplicate window drops a message published twice.
 * Messages are published pipelined (a window of them in flight); every publish names the id of
 * the one before it (`expect.lastMsgID`), so a publish that failed can never be overtaken by a
 * later one: the server refuses the later one too. On a failure the publisher waits for the
 * window to settle, asks the stream for its last message, counts what it holds as durable and
 * publishes the rest again, in order, retrying with backoff while the server is away. The
 * source is told a position is durable (and acknowledges the slot) only when JetStream
 * acknowledged the message that holds it, in order. While the window is full, messages grow
 * up to their bounds; when the feed is quiet, a message goes at once.
 *
 * Consuming. A loader is a durable pull consumer that acknowledges a batch's messages after the
 * warehouse committed them. The warehouse's checkpoint is the truth of what is applied: when a
 * loader opens, its consumer is set to start at the first message holding a position after the
 * checkpoint (found by binary search over the stream's sequence, positions grow with it), so
 * messages a dead loader had taken but not acknowledged are delivered again, in order, at once.
 * Anything delivered twice is dropped by the warehouse by position. A consumer reads one lane
 * (subjects.ts) or all of them; the loaders of a group (lane-group.ts) have one consumer per
 * lane they hold, each started after that lane's checkpoint.
 *
 * Lanes. A run of one table goes to its table's lane. A run of no table (commits, logical
 * messages: a logical message always starts one) goes to every lane, one copy per lane, in lane
 * order; it counts as durable once the last copy is stored, and a source resumes before a run
 * whose copies the stream holds only some of.
 *
 * Limits: a single item larger than the server's max_payload cannot be carried (raise
 * max_payload on the server; NATS allows up to 64 MiB).
 */

import { randomUUID } from 'node:crypto';
import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type StoredMsg,
} from '@nats-io/jetstream';
import { connect, headers, type NatsConnection, nanos } from '@nats-io/transport-node';
import { itemPosition, type StreamItem } from '../../core/change-event.js';
import { TributaryError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { comparePositions, formatPosition, type Position, parsePosition } from '../../core/position.js';
import { sleep } from '../../core/sleep.js';
import type { TableRef } from '../../core/table-ref.js';
import type { TypeInfo } from '../../source/postgres/values/type-registry.js';
import { decodeItems, encodeItems } from '../codec.js';
import {
  type BatchLimits,
  DEFAULT_BATCH_LIMITS,
  estimateBytes,
  type FeedBatch,
  type FeedConsumer,
  type FeedPublisher,
  type OnDurable,
} from '../feed.js';
import { StateChange } from '../state-change.js';
import { type FeedNames, feedNames, laneOf, MAX_LANES } from './subjects.js';

const FIRST_HEADER = 'Tributary-First';
const LAST_HEADER = 'Tributary-Last';
const MSG_ID_HEADER = 'Nats-Msg-Id';
const LANE_HEADER = 'Tributary-Lane';
/** The stream's description names its lanes (fixed when it is created). */
const DESCRIPTION = /^tributary feed; lanes=([0-9]+)$/;
/** The catalog entries (domains, arrays, enums...) of the types a message's schema items use. */
const TYPES_HEADER = 'Tributary-Types';

export interface JetStreamFeedOptions {
  /** `nats://[user:password@]host:port[,nats://...]`; credentials are never logged. */
  readonly url: string;
  /** The feed's name: the slot's, unless given. */
  readonly name: string;
  readonly logger: Logger;
  /** Stream replicas (1 on a single server, 3 on a cluster). Default 1. */
  readonly replicas?: number;
  /** How long the stream keeps messages, in ms; 0 keeps them until limits. Default 7 days. */
  readonly maxAgeMs?: number;
  /**
   * The feed's lanes (subjects.ts), fixed when its stream is created: 1 unless given. Given
   * for a stream that exists with another number, connecting fails; not given, the stream's.
   */
  readonly lanes?: number;
  /**
   * A loader does not make the stream (the source decides its lanes): while it is missing, wait
   * for it until this signal aborts (then connecting fails with the signal's reason).
   */
  readonly waitForStream?: AbortSignal;
}

export interface PublisherOptions {
  /** Items per message. Default 2,000. */
  readonly maxItems?: number;
  /** Bytes per message (estimated before encoding; the encoded size is checked). Default 512 KiB. */
  readonly maxBytes?: number;
  /** Messages in flight. Default 32. */
  readonly window?: number;
  /**
   * What the source knows of non-builtin types; sent with each schema item, so a loader in
   * another process maps a domain or an array of one as \`run\` does.
   */
  readonly typeInfo?: (oid: number) => TypeInfo | undefined;
}

export interface ConsumerOptions {
  /** The durable consumer's name. Default `loader`. */
  readonly durable?: string;
  /** The warehouse's checkpoint (of the lane): delivery starts after it. */
  readonly after: Position | null;
  /** Only this lane's subjects; every lane when not given. */
  readonly lane?: number;
  /**
   * Replay into a warehouse that holds nothing yet: start with the messages the stream stored
   * at or after this time, instead of at the stream's beginning. Refused with a checkpoint.
   */
  readonly from?: Date;
  readonly limits?: Partial<BatchLimits>;
  /** Receives the type catalog entries that come with schema items, before their batch. */
  readonly onTypes?: (infos: readonly TypeInfo[]) => void;
}

export interface ConsumerLag {
  /** Messages in the stream the consumer has not been delivered yet. */
  readonly pending: number;
  /** Messages delivered and not yet acknowledged. */
  readonly unacknowledged: number;
}

/** `nats://user:secret@host` → `nats://user:***@host`, for messages and logs. */
export function redactNatsUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/g, '//$1:***@').replace(/\/\/([^:@/]+)@/g, '//***@');
}

/** A replay from a time (`load --from`) asked of a warehouse that holds the feed up to `checkpoint`. */
export function replayIntoNonEmpty(checkpoint: Position): TributaryError {
  return new TributaryError(
    'USAGE',
    `the warehouse already holds the feed up to ${formatPosition(checkpoint)}; replaying from a time is for ` +
      'an empty warehouse (starting later would leave a gap, earlier is skipped): drop --from',
  );
}

/** Refuses what is not a NATS URL (`nats://` or `tls://`, comma-separated for a cluster). */
export function checkNatsUrl(url: string, flag = '--feed'): void {
  for (const part of url.split(',')) {
    let scheme: string;
    try {
      scheme = new URL(part.trim()).protocol;
    } catch {
      scheme = '';
    }
    if (scheme !== 'nats:' && scheme !== 'tls:') {
      throw new TributaryError(
        'USAGE',
        `${flag} ${redactNatsUrl(url)} is not a NATS URL; use nats://host:4222 (tls:// for TLS, commas between servers)`,
      );
    }
  }
}

/** The loader's durable consumer was deleted or re-created by another loader. */
export class ConsumerTakenOver extends TributaryError {
  constructor(message: string) {
    super('CONFIG', message);
  }
}

export class JetStreamFeed {
  readonly names: FeedNames;
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #log: Logger;
  readonly #options: JetStreamFeedOptions;
  #lanes = 1;

  private constructor(nc: NatsConnection, jsm: JetStreamManager, options: JetStreamFeedOptions) {
    this.#nc = nc;
    this.#jsm = jsm;
    this.#js = jetstream(nc);
    this.#log = options.logger;
    this.#options = options;
    this.names = feedNames(options.name);
  }

  static async connect(options: JetStreamFeedOptions): Promise<JetStreamFeed> {
    const shown = redactNatsUrl(options.url);
    let nc: NatsConnection;
    checkNatsUrl(options.url);
    try {
      nc = await connect({
        servers: options.url.split(',').map((s) => s.trim()),
        name: 'tributary',
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        timeout: 10_000,
      });
    } catch (error) {
      throw new TributaryError(
        'CONFIG',
        `cannot connect to NATS at ${shown}: ${(error as Error).message}; is nats-server running there?`,
        { cause: error },
      );
    }
    let jsm: JetStreamManager;
    try {
      jsm = await jetstreamManager(nc, { timeout: 10_000 });
    } catch (error) {
      await nc.close().catch(() => {});
      throw new TributaryError(
        'CONFIG',
        `NATS at ${shown} has no JetStream (${(error as Error).message}); start nats-server with -js`,
        { cause: error },
      );
    }
    const feed = new JetStreamFeed(nc, jsm, options);
    try {
      await feed.#ensureStream();
    } catch (error) {
      await nc.close().catch(() => {});
      throw error;
    }
    return feed;
  }

  async #ensureStream(): Promise<void> {
    const { stream, all } = this.names;
    const wanted = this.#options.lanes;
    if (wanted !== undefined && (!Number.isInteger(wanted) || wanted < 1 || wanted > MAX_LANES)) {
      throw new TributaryError('USAGE', `a feed has 1 to ${MAX_LANES} lanes, not ${wanted}`);
    }
    try {
      const info = await this.#jsm.streams.info(stream);
      if (!info.config.subjects?.includes(all)) {
        throw new TributaryError(
          'CONFIG',
          `JetStream stream ${stream} exists for other subjects (${info.config.subjects?.join(', ')}), not ${all}; ` +
            'is another feed using it? Pick another feed name (the slot name)',
        );
      }
      const lanes = DESCRIPTION.exec(info.config.description ?? '')?.[1];
      if (lanes === undefined) {
        throw new TributaryError(
          'CONFIG',
          `JetStream stream ${stream} was not made by this version of Tributary (it names no lanes); ` +
            'once every loader has applied it, delete it (`nats stream rm`) or pick another feed name',
        );
      }
      this.#lanes = Number(lanes);
      if (wanted !== undefined && wanted !== this.#lanes) {
        throw new TributaryError(
          'CONFIG',
          `the feed's stream ${stream} has ${this.#lanes} lane(s), not ${wanted}: lanes are fixed when the stream is ` +
            `created (a table's changes must stay in one lane); use --lanes ${this.#lanes}, or a new feed name`,
        );
      }
      return;
    } catch (error) {
      if (!(error instanceof JetStreamApiError) || error.code !== JetStreamApiCodes.StreamNotFound)
        throw error;
    }
    const wait = this.#options.waitForStream;
    if (wait) {
      this.#log.info({ stream }, 'waiting for the source to create the feed (tributary source)');
      await sleep(500, wait);
      wait.throwIfAborted();
      return this.#ensureStream();
    }
    this.#lanes = wanted ?? 1;
    const maxAge = this.#options.maxAgeMs ?? 7 * 24 * 3600_000;
    await this.#jsm.streams.add({
      name: stream,
      description: `tributary feed; lanes=${this.#lanes}`,
      subjects: [all],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      num_replicas: this.#options.replicas ?? 1,
      discard: DiscardPolicy.Old,
      max_age: nanos(maxAge),
      // the server refuses a duplicate window longer than max_age
      duplicate_window: nanos(maxAge > 0 ? Math.min(120_000, maxAge) : 120_000),
    });
    this.#log.info({ stream, subjects: all, lanes: this.#lanes }, 'created the JetStream stream of the feed');
  }

  /** The connection to NATS (a loader group keeps its key-value bucket on it). */
  get connection(): NatsConnection {
    return this.#nc;
  }

  /** The feed's lanes: subjects.ts. */
  get lanes(): number {
    return this.#lanes;
  }

  /** The largest message the server takes. */
  get maxPayload(): number {
    return this.#nc.info?.max_payload ?? 1024 * 1024;
  }

  /** The last message the stream holds: its id, last position and lane (null when empty). */
  async last(): Promise<{ readonly id: string; readonly position: Position; readonly lane: number } | null> {
    const info = await this.#jsm.streams.info(this.names.stream);
    if (info.state.last_seq === 0 || info.state.messages === 0) return null;
    const message = await this.#jsm.streams.getMessage(this.names.stream, { seq: info.state.last_seq });
    if (!message) return null;
    const last = message.header.get(LAST_HEADER);
    return last
      ? {
          id: message.header.get(MSG_ID_HEADER),
          position: parsePosition(last),
          lane: Number(message.header.get(LANE_HEADER) || 0),
        }
      : null;
  }

  /**
   * The position up to which the stream holds everything published (what a source resumes
   * after). A run of no table goes to every lane, lane after lane: when the stream ends with
   * some of its copies only, it holds everything up to the message before them (the source
   * sends the run again; a lane that has it already drops it by position).
   */
  async lastPosition(): Promise<Position | null> {
    const stream = this.names.stream;
    const info = await this.#jsm.streams.info(stream);
    if (info.state.last_seq === 0 || info.state.messages === 0) return null;
    // the last message stored (one deleted by hand leaves its sequence behind)
    let seq = info.state.last_seq;
    let message = await this.#messageAt(seq);
    while (message === null && seq > info.state.first_seq) message = await this.#messageAt(--seq);
    const lane = Number(message?.header.get(LANE_HEADER) || 0);
    if (message && message.subject === this.names.control(lane) && lane < this.#lanes - 1) {
      seq -= lane + 1;
      message = seq >= info.state.first_seq ? await this.#messageAt(seq) : null;
    }
    const last = message?.header.get(LAST_HEADER);
    return last ? parsePosition(last) : null;
  }

  async #messageAt(seq: number): Promise<StoredMsg | null> {
    try {
      return await this.#jsm.streams.getMessage(this.names.stream, { seq });
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.NoMessageFound) return null;
      throw error;
    }
  }

  async publisher(onDurable: OnDurable, options: PublisherOptions = {}): Promise<JetStreamPublisher> {
    const last = await this.last();
    return new JetStreamPublisher(this, this.#js, onDurable, options, last?.id ?? null, this.#log);
  }

  async consumer(options: ConsumerOptions): Promise<JetStreamConsumer> {
    const durable = options.durable ?? 'loader';
    const { stream } = this.names;
    if (options.lane !== undefined && !(options.lane >= 0 && options.lane < this.#lanes))
      throw new TributaryError('INTERNAL', `lane ${options.lane} of a feed with ${this.#lanes}`);
    const filter = options.lane === undefined ? this.names.all : this.names.lane(options.lane);
    // what the consumer acknowledged before (its previous life): proof that messages the
    // stream's retention removed since had been applied
    let acknowledged = 0;
    try {
      acknowledged = (await this.#jsm.consumers.info(stream, durable)).ack_floor.stream_seq;
    } catch (error) {
      if (!(error instanceof JetStreamApiError) || error.code !== JetStreamApiCodes.ConsumerNotFound)
        throw error;
    }
    if (options.from && options.after !== null) throw replayIntoNonEmpty(options.after);
    const start = options.from
      ? await this.#sequenceAt(options.from)
      : await this.#startSequence(options.after, acknowledged);
    try {
      await this.#jsm.consumers.delete(stream, durable);
    } catch (error) {
      if (!(error instanceof JetStreamApiError) || error.code !== JetStreamApiCodes.ConsumerNotFound)
        throw error;
    }
    // the consumer names its loader: a loader started later with the same name takes it over
    // (the usual case: a restart after a crash), and one still running sees that and stops
    const owner = `tributary loader ${randomUUID()}`;
    await this.#jsm.consumers.add(stream, {
      durable_name: durable,
      description: owner,
      // acknowledging a batch's last message acknowledges the batch (delivery is in order)
      ack_policy: AckPolicy.All,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: start,
      filter_subject: filter,
      ack_wait: nanos(120_000),
      max_ack_pending: 100_000,
    });
    const consumer = await this.#js.consumers.get(stream, durable);
    // bounded by messages (each at most ~512 KiB but for a single huge change): the server
    // closes a client it must buffer more than 64 MiB for. Not by max_bytes: with nats-server
    // 2.9 such pulls stall for tens of seconds when messages come slowly (measured here). A
    // loader may hold many lanes, each with its pull: theirs share about twice that bound
    const pull = options.lane === undefined ? 32 : Math.max(4, Math.min(32, Math.floor(64 / this.#lanes)));
    const messages = await consumer.consume({ max_messages: pull });
    this.#log.info(
      {
        stream,
        durable,
        startSequence: start,
        ...(options.lane === undefined ? {} : { lane: options.lane }),
      },
      'loader consuming the feed',
    );
    const verify = async (): Promise<void> => {
      let current: string | undefined;
      try {
        current = (await this.#jsm.consumers.info(stream, durable)).config.description;
      } catch (error) {
        // the server away (restarting): the batch came from the consumer, apply it; the next
        // batch asks again
        if (!(error instanceof JetStreamApiError) || error.code !== JetStreamApiCodes.ConsumerNotFound)
          return;
      }
      if (current !== owner) {
        throw new ConsumerTakenOver(
          `the feed's consumer ${durable} on ${stream} was ${current === undefined ? 'deleted' : 'taken over by another loader'}: ` +
            'another loader holds it now (the hold on its lane lapsed); this loader lets it go (nothing it held was acknowledged)',
        );
      }
    };
    return new JetStreamConsumer(
      messages,
      { ...DEFAULT_BATCH_LIMITS, ...options.limits },
      options.onTypes,
      verify,
    );
  }

  async lag(durable = 'loader'): Promise<ConsumerLag> {
    const info = await this.#jsm.consumers.info(this.names.stream, durable);
    return { pending: info.num_pending, unacknowledged: info.num_ack_pending };
  }

  /** The first sequence the stream stored at or after `time` (one past the last when none). */
  async #sequenceAt(time: Date): Promise<number> {
    const stream = this.names.stream;
    const info = await this.#jsm.streams.info(stream);
    if (info.state.messages === 0) return info.state.last_seq + 1;
    let lo = info.state.first_seq;
    let hi = info.state.last_seq + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const m = await this.#jsm.streams.getMessage(stream, { seq: mid });
      if (m === null || m.time.getTime() < time.getTime()) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The first sequence holding a position after `after` (one past the last when none does). */
  async #startSequence(after: Position | null, acknowledged: number): Promise<number> {
    const stream = this.names.stream;
    const info = await this.#jsm.streams.info(stream);
    const first = info.state.first_seq;
    const lastSeq = info.state.last_seq;
    if (after === null) return Math.max(1, first);
    const lost = (detail: string) =>
      new TributaryError(
        'CONFIG',
        `the feed's stream ${stream} no longer holds the changes right after the warehouse's checkpoint ` +
          `${formatPosition(after)} (${detail}; its retention removed them before they were applied): ` +
          "back the warehouse up with `tributary backfill` of its tables, and raise the stream's max_age",
      );
    if (info.state.messages === 0) {
      // all expired: fine only if this consumer had acknowledged every one of them
      if (lastSeq > 0 && acknowledged < lastSeq) throw lost(`it is empty, ${lastSeq} messages expired`);
      return lastSeq + 1;
    }
    const lastOf = async (seq: number): Promise<Position | null> => {
      const m = await this.#jsm.streams.getMessage(stream, { seq });
      const text = m?.header.get(LAST_HEADER);
      return text ? parsePosition(text) : null;
    };
    if (first > 1 && acknowledged < first - 1) {
      const m = await this.#jsm.streams.getMessage(stream, { seq: first });
      const firstPosition = m?.header.get(FIRST_HEADER);
      if (firstPosition && comparePositions(parsePosition(firstPosition), after) > 0) {
        throw lost(`its oldest message starts at ${firstPosition}`);
      }
    }
    let lo = first;
    let hi = lastSeq + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const last = await lastOf(mid);
      if (last === null || comparePositions(last, after) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  async close(): Promise<void> {
    try {
      // a drain waits for subscriptions that may never end (a consumer the server dropped)
      await Promise.race([this.#nc.drain(), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
      if (!this.#nc.isClosed()) await this.#nc.close();
    } catch {
      await this.#nc.close().catch(() => {});
    }
  }

  /** The subject of an item of `table`. */
  subjectOf(table: TableRef): string {
    return this.names.table(table, this.#lanes);
  }
}

interface Message {
  readonly subject: string;
  readonly lane: number;
  /** One of the copies of a run of no table, one per lane. */
  readonly broadcast: boolean;
  readonly items: StreamItem[];
  readonly first: Position;
  readonly last: Position;
}

interface Inflight {
  readonly message: Message;
  settled: 'pending' | 'stored' | 'failed';
  error?: unknown;
}

function tableOf(item: StreamItem): TableRef | null {
  if (item.kind === 'schema') return item.schema.table;
  if (item.kind === 'change') return item.event.table;
  return null;
}

export class JetStreamPublisher implements FeedPublisher {
  readonly #feed: JetStreamFeed;
  readonly #js: JetStreamClient;
  readonly #onDurable: OnDurable;
  readonly #log: Logger;
  readonly #maxItems: number;
  readonly #maxBytes: number;
  readonly #window: number;
  readonly #typeInfo: ((oid: number) => TypeInfo | undefined) | undefined;
  #run: StreamItem[] = [];
  #runTable: TableRef | null = null;
  /** The run (of no table) holds a logical message: it goes to every lane, alone. */
  #runHasMessage = false;
  #runBytes = 0;
  #runFirst: Position | null = null;
  #runLast: Position | null = null;
  #sealed: Message[] = [];
  #inflight: Inflight[] = [];
  /** The last schema item seen per table (by subject): every message carries its table's. */
  readonly #schemas = new Map<string, StreamItem>();
  #lastMsgId: string | null;
  #recovering = false;
  #failure: unknown = null;
  readonly #changed = new StateChange();

  constructor(
    feed: JetStreamFeed,
    js: JetStreamClient,
    onDurable: OnDurable,
    options: PublisherOptions,
    lastMsgId: string | null,
    log: Logger,
  ) {
    this.#feed = feed;
    this.#js = js;
    this.#onDurable = onDurable;
    this.#log = log;
    this.#maxItems = options.maxItems ?? 2_000;
    this.#maxBytes = Math.min(options.maxBytes ?? 512 * 1024, Math.floor(feed.maxPayload / 2));
    this.#window = options.window ?? 32;
    this.#typeInfo = options.typeInfo;
    this.#lastMsgId = lastMsgId;
  }

  async write(items: readonly StreamItem[]): Promise<void> {
    this.#throwIfFailed();
    for (const item of items) {
      const table = tableOf(item);
      if (table !== null) {
        if (this.#runTable === null) {
          // items of no table ahead of a table's go with it, unless they hold a logical
          // message (a watermark): those go to every lane
          if (this.#runHasMessage && this.#runFirst !== null) this.#seal();
          this.#runTable = table;
        } else if (!sameRef(this.#runTable, table) && this.#runFirst !== null) {
          this.#seal();
          this.#runTable = table;
        }
      } else if (item.kind === 'message') {
        if (this.#runTable !== null && this.#runFirst !== null) {
          this.#seal();
          this.#runTable = null;
        }
        if (this.#runTable === null) this.#runHasMessage = true;
      }
      this.#run.push(item);
      this.#runBytes += estimateBytes(item);
      const p = itemPosition(item);
      if (p) {
        this.#runFirst ??= p;
        this.#runLast = p;
      }
      if (this.#runFirst !== null && (this.#run.length >= this.#maxItems || this.#runBytes >= this.#maxBytes))
        this.#seal();
    }
    this.#pump();
    this.#throwIfFailed();
    // backpressure: at most one window of sealed messages waits behind the one in flight
    while (this.#sealed.length > this.#window) {
      await this.#changed.wait();
      this.#throwIfFailed();
    }
  }

  async flush(): Promise<void> {
    this.#throwIfFailed();
    if (this.#runFirst !== null) this.#seal();
    this.#pump();
    this.#throwIfFailed();
    while (this.#sealed.length > 0 || this.#inflight.length > 0) {
      await this.#changed.wait();
      this.#throwIfFailed();
    }
  }

  fail(error: unknown): void {
    this.#failure ??= error;
    this.#changed.notify();
  }

  #seal(): void {
    if (this.#runFirst === null || this.#runLast === null) return;
    // the run's trailing items without a position (a schema item for what comes next) stay
    let cut = this.#run.length;
    while (cut > 0 && itemPosition(this.#run[cut - 1]!) === null) cut--;
    const items = this.#run.slice(0, cut);
    const rest = this.#run.slice(cut);
    const first = this.#runFirst;
    const last = this.#runLast;
    const table = this.#runTable;
    if (table === null) {
      // items of no table: every lane's loader sees them (watermarks move every lane)
      const names = this.#feed.names;
      for (let lane = 0; lane < this.#feed.lanes; lane++)
        this.#sealed.push({ subject: names.control(lane), lane, broadcast: true, items, first, last });
    } else {
      const subject = this.#feed.subjectOf(table);
      // a message names its table's shape, so a loader can start at any message (a replay
      // into an empty warehouse, a new loader): the schema item seen last goes first when it
      // is not there
      const firstSchema = items.findIndex((i) => i.kind === 'schema');
      const firstChange = items.findIndex((i) => i.kind === 'change');
      if (firstChange >= 0 && (firstSchema < 0 || firstSchema > firstChange)) {
        const known = this.#schemas.get(subject);
        if (known) items.unshift(known);
      }
      for (const item of items)
        if (item.kind === 'schema') this.#schemas.set(this.#feed.subjectOf(item.schema.table), item);
      this.#sealed.push({
        subject,
        lane: laneOf(table, this.#feed.lanes),
        broadcast: false,
        items,
        first,
        last,
      });
    }
    this.#run = rest;
    this.#runHasMessage = false;
    this.#runBytes = rest.reduce((n, i) => n + estimateBytes(i), 0);
    this.#runTable = rest.length > 0 ? tableOf(rest[0]!) : null;
    this.#runFirst = null;
    this.#runLast = null;
  }

  #pump(): void {
    if (this.#recovering || this.#failure !== null) return;
    while (this.#inflight.length < this.#window) {
      if (this.#sealed.length === 0) {
        if (this.#runFirst === null) break;
        this.#seal();
      }
      const message = this.#sealed.shift()!;
      let parts: { message: Message; bytes: Uint8Array }[];
      try {
        parts = this.#encode(message);
      } catch (error) {
        // a change too big for the server: the source stops with it (write/flush reject)
        this.fail(error);
        return;
      }
      for (const part of parts) this.#publish(part.message, part.bytes);
    }
  }

  /** The message's bytes, split in halves until each fits the server's max_payload. */
  #encode(message: Message): { message: Message; bytes: Uint8Array }[] {
    const bytes = encodeItems(message.items);
    if (bytes.length <= this.#feed.maxPayload - 4096) return [{ message, bytes }];
    const positioned = message.items.filter((i) => itemPosition(i) !== null).length;
    if (positioned <= 1) {
      throw new TributaryError(
        'CONFIG',
        `a change at ${formatPosition(message.first)} takes ${bytes.length} bytes encoded, more than the NATS ` +
          `server's max_payload (${this.#feed.maxPayload}); raise max_payload in the server's configuration (up to 64 MiB)`,
      );
    }
    // split after the positioned item in the middle, keeping schema items before their change
    let seen = 0;
    let cut = 0;
    for (; cut < message.items.length; cut++) {
      if (itemPosition(message.items[cut]!) !== null && ++seen === Math.ceil(positioned / 2)) break;
    }
    const left = message.items.slice(0, cut + 1);
    const right = message.items.slice(cut + 1);
    const bounds = (items: StreamItem[]) => {
      const ps = items.map(itemPosition).filter((p): p is Position => p !== null);
      return { first: ps[0]!, last: ps.at(-1)! };
    };
    const { subject, lane, broadcast } = message;
    return [
      ...this.#encode({ subject, lane, broadcast, items: left, ...bounds(left) }),
      ...this.#encode({ subject, lane, broadcast, items: right, ...bounds(right) }),
    ];
  }

  #publish(message: Message, bytes: Uint8Array): void {
    // a run of no table goes to every lane, with the same positions: the lane tells them
    // apart; and a source that resends such a run may cut it otherwise: the last position too
    const id = `${this.#feed.names.stream}:${message.lane}:${formatPosition(message.first)}-${formatPosition(message.last)}`;
    const h = headers();
    h.set(FIRST_HEADER, formatPosition(message.first));
    h.set(LAST_HEADER, formatPosition(message.last));
    h.set(LANE_HEADER, String(message.lane));
    const types = this.#typesOf(message.items);
    if (types.length > 0) h.set(TYPES_HEADER, Buffer.from(JSON.stringify(types)).toString('base64'));
    const entry: Inflight = { message, settled: 'pending' };
    this.#inflight.push(entry);
    const expect = this.#lastMsgId !== null ? { lastMsgID: this.#lastMsgId } : {};
    this.#lastMsgId = id;
    this.#js
      .publish(message.subject, bytes, { msgID: id, headers: h, expect, timeout: 10_000 })
      .then(
        () => {
          entry.settled = 'stored';
        },
        (error: unknown) => {
          entry.settled = 'failed';
          entry.error = error;
        },
      )
      .finally(() => this.#settle());
  }

  /** The catalog entries of the non-builtin types the message's schema items use, nested ones too. */
  #typesOf(items: readonly StreamItem[]): TypeInfo[] {
    const lookup = this.#typeInfo;
    if (!lookup) return [];
    const found = new Map<number, TypeInfo>();
    const visit = (oid: number | undefined, depth: number) => {
      if (oid === undefined || found.has(oid) || depth > 32) return;
      const info = lookup(oid);
      if (!info) return;
      found.set(oid, info);
      visit(info.baseTypeOid, depth + 1);
      visit(info.elementOid, depth + 1);
    };
    for (const item of items) {
      if (item.kind === 'schema') for (const c of item.schema.columns) visit(c.typeOid, 0);
    }
    return [...found.values()];
  }

  #settle(): void {
    while (this.#inflight[0]?.settled === 'stored') this.#durable(this.#inflight.shift()!.message);
    if (this.#inflight.some((e) => e.settled === 'failed')) {
      if (!this.#recovering) {
        this.#recovering = true;
        const error = this.#inflight.find((e) => e.settled === 'failed')?.error;
        this.#log.warn(
          { err: error },
          'publishing to JetStream failed; publishing again from what the stream holds',
        );
      }
      if (this.#inflight.every((e) => e.settled !== 'pending')) void this.#recover(1);
    } else this.#pump();
    this.#changed.notify();
  }

  /** A run of no table is durable once its last lane's copy is. */
  #durable(message: Message): void {
    if (!message.broadcast || message.lane === this.#feed.lanes - 1) this.#onDurable(message.last);
  }

  /** After a failed publish: what the stream holds is durable; the rest goes again, in order. */
  async #recover(attempt: number): Promise<void> {
    try {
      const last = await this.#feed.last();
      const unsent = this.#inflight.map((e) => e.message);
      this.#inflight = [];
      const again: Message[] = [];
      for (const message of unsent) {
        // messages are published in (last position, lane) order: the copies of a run of no
        // table to every lane share their positions
        const order = last ? comparePositions(message.last, last.position) : 1;
        if (last && (order < 0 || (order === 0 && message.lane <= last.lane))) this.#durable(message);
        else again.push(message);
      }
      this.#sealed = [...again, ...this.#sealed];
      this.#lastMsgId = last?.id ?? null;
      this.#recovering = false;
      this.#pump();
      this.#changed.notify();
    } catch (error) {
      const delay = Math.min(5_000, 100 * 2 ** attempt);
      this.#log.warn({ err: error, retryInMs: delay }, 'JetStream not reachable; retrying');
      setTimeout(() => void this.#recover(attempt + 1), delay);
    }
  }

  #throwIfFailed(): void {
    if (this.#failure !== null) throw this.#failure;
  }
}

function sameRef(a: TableRef, b: TableRef): boolean {
  return a.schema === b.schema && a.name === b.name;
}

export class JetStreamConsumer implements FeedConsumer {
  readonly #messages: ConsumerMessages;
  readonly #iterator: AsyncIterator<JsMsg>;
  readonly #limits: BatchLimits;
  readonly #onTypes: ((infos: readonly TypeInfo[]) => void) | undefined;
  readonly #verify: () => Promise<void>;
  #pending: Promise<IteratorResult<JsMsg>> | null = null;
  #closed = false;
  #failure: unknown = null;

  constructor(
    messages: ConsumerMessages,
    limits: BatchLimits,
    onTypes: ((infos: readonly TypeInfo[]) => void) | undefined,
    verify: () => Promise<void>,
  ) {
    this.#messages = messages;
    this.#iterator = messages[Symbol.asyncIterator]();
    this.#limits = limits;
    this.#onTypes = onTypes;
    this.#verify = verify;
  }

  #decode(m: JsMsg): StreamItem[] {
    const types = m.headers?.get(TYPES_HEADER);
    if (types && this.#onTypes)
      this.#onTypes(JSON.parse(Buffer.from(types, 'base64').toString()) as TypeInfo[]);
    return decodeItems(m.data);
  }

  async next(signal: AbortSignal): Promise<FeedBatch | null> {
    if (this.#failure !== null) throw this.#failure;
    // while nothing comes, ask now and then whether the consumer is still this loader's: pulls
    // on a consumer another loader re-created simply get nothing
    let first: JsMsg | null | 'timeout';
    for (;;) {
      first = await this.#take(signal, 5_000);
      if (first !== 'timeout') break;
      await this.#verified();
    }
    if (first === null) return null;
    const taken: JsMsg[] = [first];
    const items: StreamItem[] = this.#decode(first);
    let bytes = first.data.length;
    // a server that restarted while this batch was gathered redelivers what it had handed out
    // unacknowledged, this batch's messages among them: each stream sequence once per batch
    const sequences = new Set([first.seq]);
    const due = Date.now() + this.#limits.maxDelayMs;
    while (items.length < this.#limits.maxItems && bytes < this.#limits.maxBytes) {
      const left = due - Date.now();
      if (left <= 0) break;
      const m = await this.#take(signal, left);
      if (m === null || m === 'timeout') break;
      if (sequences.has(m.seq)) continue;
      sequences.add(m.seq);
      taken.push(m);
      for (const item of this.#decode(m)) items.push(item);
      bytes += m.data.length;
    }
    // before anything of it is applied: the consumer is still this loader's
    await this.#verified();
    return {
      items,
      ack: async () => {
        // confirmed by the server, so the consumer's record of what was applied is current; an
        // acknowledgement lost (the server restarting) only means a redelivery, dropped by position
        await taken
          .at(-1)!
          .ackAck({ timeout: 5_000 })
          .catch(() => false);
      },
    };
  }

  async #verified(): Promise<void> {
    try {
      await this.#verify();
    } catch (error) {
      this.#failure = error;
      throw error;
    }
  }

  /** The next message; 'timeout' after `timeoutMs`; null when closed or aborted. */
  async #take(signal: AbortSignal, timeoutMs: number | null): Promise<JsMsg | null | 'timeout'> {
    if (this.#closed || signal.aborted) return null;
    this.#pending ??= this.#iterator.next();
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const stops = new Promise<'timeout' | 'aborted'>((resolve) => {
      if (timeoutMs !== null) timer = setTimeout(() => resolve('timeout'), timeoutMs);
      onAbort = () => resolve('aborted');
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const result = await Promise.race([this.#pending, stops]);
      if (result === 'timeout') return 'timeout';
      if (result === 'aborted') return null;
      this.#pending = null;
      if (result.done) return null;
      return result.value;
    } catch (error) {
      this.#pending = null;
      this.#failure = error;
      throw error;
    } finally {
      if (timer) clearTimeout(timer);
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // close() waits for the pull request in flight to end, which can take its whole expiry
    await Promise.race([
      this.#messages.close(),
      new Promise((resolve) => setTimeout(resolve, 2_000).unref()),
    ]);
  }
}
