/**
 * Loaders in parallel: the lanes of a feed (subjects.ts) shared out among the loaders of a group.
 *
 * A group is named by its consumer name (`tributary load --consumer`); each of its loaders is a
 * member. Members and their holds on lanes live in a JetStream key-value bucket of the feed
 * (`TRIBUTARY_<feed>_<group>`) whose entries expire after the lease time unless renewed:
 *
 * - `members.<id>`: written by each member every heartbeat. The live members, sorted, share the
 *   lanes out: lane k goes to member k mod M. A member joining or leaving changes the share
 *   within a heartbeat; a member that died stops renewing and drops out within a lease.
 * - `lanes.<k>`: the hold on lane k, created only when absent (so one member holds a lane at a
 *   time) and renewed by its holder every heartbeat with the revision it holds. The revision of
 *   the create is the hold's epoch, and grows with every new hold.
 *
 * A member releases the lanes the share gives to others (after the batch it is applying, then
 * deletes the hold so the next member need not wait for the lease) and takes the free lanes the
 * share gives it: it claims the lane in the warehouse with the epoch (`LaneStore.claimLane`,
 * which fences every older epoch off and returns the lane's checkpoint), then opens the lane's
 * durable consumer (`<group>-l<k>`) at that checkpoint. A member that stalls past its lease and
 * comes back finds its renewal refused and drops the lane; should it still be applying a batch
 * of it, the warehouse refuses the batch by its epoch (LaneLost), and the loader drops it.
 *
 * To the loader the group is one FeedConsumer: batches of the lanes it holds, one batch per lane
 * at a time (the next one after the previous one was acknowledged or dropped), so each lane is
 * applied in order. Positions never tell lanes apart: each batch carries its lane.
 */
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { TributaryError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { Position } from '../../core/position.js';
import { sleep } from '../../core/sleep.js';
import type { TypeInfo } from '../../source/postgres/values/type-registry.js';
import {
  type BatchLimits,
  DEFAULT_BATCH_LIMITS,
  type FeedBatch,
  type FeedConsumer,
  type LaneClaim,
} from '../feed.js';
import { StateChange } from '../state-change.js';
import { ConsumerTakenOver, type JetStreamConsumer, type JetStreamFeed } from './jetstream-feed.js';
import { escapeToken } from './subjects.js';

export interface LaneGroupOptions {
  /** The group's name: its loaders' durable consumers are `<group>-l<lane>`. Default `loader`. */
  readonly group?: string;
  /** Records the hold in the warehouse (fencing older ones off) and returns the lane's checkpoint. */
  readonly claim: (claim: LaneClaim) => Promise<Position | null>;
  readonly logger: Logger;
  readonly limits?: Partial<BatchLimits>;
  readonly onTypes?: (infos: readonly TypeInfo[]) => void;
  /**
   * What names this member across restarts (the warehouse it writes, say): a member restarted
   * after a crash takes its own holds back at once instead of waiting for them to lapse.
   * Without it, a new name per process.
   */
  readonly member?: string;
  /**
   * What names the warehouse this member writes. A group loads one warehouse: a member that
   * finds an earlier member writing another one stops (two warehouses would each get a share
   * of the lanes, each incomplete). Without it, not checked.
   */
  readonly warehouse?: string;
  /** Replay into an empty warehouse: a lane with no checkpoint starts at this time. */
  readonly from?: Date;
  /** How often a member renews its entries and looks at the share. Default 2 s. */
  readonly heartbeatMs?: number;
  /** How long an entry lives unrenewed (fixed when the bucket is created). Default 10 s. */
  readonly leaseMs?: number;
}

export interface GroupLag {
  /** Messages of the group's lanes not delivered yet. */
  readonly pending: number;
  /** Messages delivered and not yet acknowledged. */
  readonly unacknowledged: number;
  /** The lanes this member holds. */
  readonly lanes: readonly number[];
  /** Live members of the group. */
  readonly members: number;
}

interface Held {
  readonly claim: LaneClaim;
  /** The KV revision of the hold, for the next renewal. */
  revision: number;
  readonly consumer: JetStreamConsumer;
  readonly stop: AbortController;
  /** The pump: fetches the lane's batches one at a time. */
  pump: Promise<void>;
  /**
   * Batches fetched and not yet acknowledged or dropped, in order: the one the loader took (and
   * applies) first, then at most one read ahead, decoded while the first one is applied.
   */
  readonly fetched: Fetched[];
  releasing: Promise<void> | null;
}

interface Fetched {
  readonly batch: FeedBatch;
  taken: boolean;
}

/** What a member writes under its key. */
interface MemberEntry {
  readonly warehouse: string | null;
  readonly since: number;
}

function parseMember(text: string | undefined): MemberEntry | null {
  if (!text) return null;
  try {
    const value = JSON.parse(text) as Partial<MemberEntry>;
    return typeof value.since === 'number'
      ? { warehouse: typeof value.warehouse === 'string' ? value.warehouse : null, since: value.since }
      : null;
  } catch {
    return null;
  }
}

/** A lane's batches fetched and not yet acknowledged: the one being applied and one read ahead. */
const READ_AHEAD = 2;

const KEY = /[^-/_=.a-zA-Z0-9]/g;

export class LaneGroupConsumer implements FeedConsumer {
  readonly id: string;
  readonly #feed: JetStreamFeed;
  readonly #kv: KV;
  readonly #options: LaneGroupOptions;
  readonly #group: string;
  readonly #log: Logger;
  readonly #held = new Map<number, Held>();
  /** Lanes being taken (claimed in the warehouse, their consumer opened). */
  readonly #taking = new Set<number>();
  readonly #changed = new StateChange();
  /** Fetched batches in arrival order, by lane. */
  #ready: number[] = [];
  #members = 1;
  /** The bucket's creation time in seconds: the high half of every epoch (a bucket made again starts its revisions over). */
  #era = 0n;
  /** When this member joined: of two members writing different warehouses, the later one stops. */
  readonly #since = Date.now();
  #closed = false;
  #failure: unknown = null;
  #heartbeat: Promise<void> | null = null;
  readonly #stopBeat = new AbortController();

  private constructor(feed: JetStreamFeed, kv: KV, options: LaneGroupOptions) {
    this.#feed = feed;
    this.#kv = kv;
    this.#options = options;
    this.#group = options.group ?? 'loader';
    this.#log = options.logger;
    const host = hostname().replace(KEY, '_').slice(0, 64);
    this.id =
      options.member === undefined
        ? `${host}-${process.pid}-${randomBytes(4).toString('hex')}`
        : `${host}-${createHash('sha256').update(options.member).digest('hex').slice(0, 16)}`;
  }

  /** Joins the group, takes the lanes the share gives it, and keeps the share current. */
  static async join(feed: JetStreamFeed, options: LaneGroupOptions): Promise<LaneGroupConsumer> {
    const group = options.group ?? 'loader';
    const bucket = `${feed.names.stream}_${escapeToken(group).replaceAll('%', '_')}`;
    if (bucket.length > 200) {
      throw new TributaryError('CONFIG', `the consumer name "${group}" is too long; pick a shorter one`);
    }
    const kv = await new Kvm(feed.connection).create(bucket, { ttl: options.leaseMs ?? 10_000, history: 1 });
    const member = new LaneGroupConsumer(feed, kv, options);
    const created = Date.parse((await kv.status()).streamInfo.created);
    member.#era = BigInt(Math.floor((Number.isNaN(created) ? 0 : created) / 1000));
    await member.#beat();
    member.#heartbeat = member.#beatLoop();
    return member;
  }

  /** The lanes this member holds now. */
  get lanes(): readonly number[] {
    return [...this.#held.keys()].sort((a, b) => a - b);
  }

  async next(signal: AbortSignal): Promise<FeedBatch | null> {
    for (;;) {
      if (this.#failure !== null) throw this.#failure;
      if (this.#closed || signal.aborted) return null;
      const lane = this.#ready.shift();
      if (lane !== undefined) {
        const held = this.#held.get(lane);
        // a lane's batches go in order: the next once the one before is acknowledged
        const out = held?.fetched[0];
        if (!held || !out || out.taken || held.stop.signal.aborted) continue;
        out.taken = true;
        const settle = () => {
          const at = held.fetched.indexOf(out);
          if (at >= 0) held.fetched.splice(at, 1);
          // the one read ahead is up next
          if (held.fetched.length > 0 && !held.stop.signal.aborted) this.#ready.push(lane);
          this.#changed.notify();
        };
        return {
          items: out.batch.items,
          lane: held.claim,
          ack: async () => {
            await out.batch.ack();
            settle();
          },
          lost: () => {
            this.#log.warn({ lane }, 'another loader holds this lane now; dropped its batch');
            settle();
            void this.#release(lane, { lost: true });
          },
        };
      }
      await new Promise<void>((resolve) => {
        const onAbort = () => resolve();
        signal.addEventListener('abort', onAbort, { once: true });
        this.#changed.add(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopBeat.abort();
    this.#changed.notify();
    await this.#heartbeat?.catch(() => {});
    // hand the lanes over now rather than after a lease (the loader has stopped: a batch it
    // took and did not acknowledge is the next holder's)
    await Promise.all(this.lanes.map((lane) => this.#release(lane, { lost: false, abandon: true })));
    await withTimeout(this.#kv.delete(`members.${this.id}`), 2_000).catch(() => {});
  }

  /** The group's lag over every lane, and this member's share. */
  async lag(): Promise<GroupLag> {
    let pending = 0;
    let unacknowledged = 0;
    for (let lane = 0; lane < this.#feed.lanes; lane++) {
      const lag = await this.#feed.lag(this.#durable(lane)).catch(() => null);
      pending += lag?.pending ?? 0;
      unacknowledged += lag?.unacknowledged ?? 0;
    }
    return { pending, unacknowledged, lanes: this.lanes, members: this.#members };
  }

  /**
   * A lane's share of the batch bounds: a member may hold every lane, each with a batch being
   * applied and one read ahead, so each lane gets the bounds divided by the feed's lanes (not
   * below a floor), and all of them together stay within about twice the loader's bounds.
   */
  #laneLimits(): Partial<BatchLimits> {
    const lanes = this.#feed.lanes;
    const limits = { ...DEFAULT_BATCH_LIMITS, ...this.#options.limits };
    return {
      ...limits,
      maxItems: Math.max(Math.min(limits.maxItems, 1_000), Math.floor(limits.maxItems / lanes)),
      maxBytes: Math.max(Math.min(limits.maxBytes, 4 * 2 ** 20), Math.floor(limits.maxBytes / lanes)),
    };
  }

  #durable(lane: number): string {
    return `${this.#group}-l${lane}`;
  }

  async #beatLoop(): Promise<void> {
    const every = this.#options.heartbeatMs ?? 2_000;
    while (!this.#stopBeat.signal.aborted) {
      await sleep(every, this.#stopBeat.signal);
      if (this.#stopBeat.signal.aborted) return;
      try {
        await this.#beat();
      } catch (error) {
        if ((error instanceof TributaryError && error.code !== 'SINK') || this.#feed.connection.isClosed()) {
          // (a closed connection never comes back: this loader is done)
          this.#fail(error);
          return;
        }
        // NATS away (restarting): the holds may lapse meanwhile; renewals say so when it is back
        this.#log.warn({ err: error }, 'the loader group could not renew its entries; trying again');
      }
    }
  }

  /**
   * One heartbeat: renew, look at the share, release what is others', take what is ours. It
   * never waits for a release or a take (a release waits for the batch being applied, a take
   * for the warehouse): the renewals must come on time.
   */
  async #beat(): Promise<void> {
    const mine: MemberEntry = { warehouse: this.#options.warehouse ?? null, since: this.#since };
    await this.#kv.put(`members.${this.id}`, JSON.stringify(mine));
    for (const [lane, held] of this.#held) {
      try {
        held.revision = await this.#kv.update(`lanes.${lane}`, this.id, held.revision);
      } catch (error) {
        // the server away: the hold may be fine; the next heartbeat tries again
        if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamWrongLastSequence))
          throw error;
        this.#log.warn({ lane }, 'the hold on this lane lapsed; another loader may hold it now');
        void this.#release(lane, { lost: true });
      }
    }
    const live = new Set([this.id]);
    // (a key written during the listing can be listed twice)
    for await (const key of await this.#kv.keys('members.>')) live.add(key.slice('members.'.length));
    if (mine.warehouse !== null) {
      for (const id of live) {
        if (id === this.id) continue;
        const other = parseMember((await this.#kv.get(`members.${id}`).catch(() => null))?.string());
        if (other?.warehouse == null || other.warehouse === mine.warehouse) continue;
        if (other.since < mine.since || (other.since === mine.since && id < this.id)) {
          throw new TributaryError(
            'CONFIG',
            `the loaders of group "${this.#group}" write another warehouse (${other.warehouse}); a group loads one ` +
              'warehouse, sharing its lanes out: give this loader a --consumer of its own',
          );
        }
        live.delete(id); // the later one: it stops at its next heartbeat
      }
    }
    const members = [...live].sort();
    this.#members = members.length;
    const me = members.indexOf(this.id);
    this.#log.debug({ member: this.id, members, holds: this.lanes }, 'loader group heartbeat');
    const lanes = this.#feed.lanes;
    for (const lane of this.lanes) {
      if (lane % members.length !== me) void this.#release(lane, { lost: false });
    }
    for (let lane = me; lane < lanes; lane += members.length) {
      if (this.#closed) return;
      if (this.#held.has(lane) || this.#taking.has(lane)) continue;
      this.#taking.add(lane);
      void this.#take(lane)
        .catch((error: unknown) => {
          if (error instanceof TributaryError && error.code !== 'SINK') this.#fail(error);
          else this.#log.warn({ err: error, lane }, 'could not take a lane; trying again');
        })
        .finally(() => this.#taking.delete(lane));
    }
  }

  async #take(lane: number): Promise<void> {
    let revision: number;
    try {
      revision = await this.#kv.create(`lanes.${lane}`, this.id);
    } catch {
      // held: by this member's previous life (restarted after a crash), or by another member,
      // which lets go at its next heartbeat, or its hold lapses
      const entry = await this.#kv.get(`lanes.${lane}`).catch(() => null);
      if (entry?.operation !== 'PUT' || entry.string() !== this.id) return;
      try {
        revision = await this.#kv.update(`lanes.${lane}`, this.id, entry.revision);
      } catch {
        return;
      }
    }
    const claim: LaneClaim = { lane, epoch: (this.#era << 32n) | BigInt(revision) };
    let consumer: JetStreamConsumer;
    try {
      const after = await this.#options.claim(claim);
      const from = after === null ? this.#options.from : undefined;
      consumer = await this.#feed.consumer({
        durable: this.#durable(lane),
        lane,
        after,
        ...(from ? { from } : {}),
        limits: this.#laneLimits(),
        ...(this.#options.onTypes ? { onTypes: this.#options.onTypes } : {}),
      });
    } catch (error) {
      await this.#kv.delete(`lanes.${lane}`, { previousSeq: revision }).catch(() => {});
      throw error;
    }
    if (this.#closed) {
      // closed meanwhile: let go at once
      await consumer.close();
      await this.#kv.delete(`lanes.${lane}`, { previousSeq: revision }).catch(() => {});
      return;
    }
    const held: Held = {
      claim,
      revision,
      consumer,
      stop: new AbortController(),
      pump: Promise.resolve(),
      fetched: [],
      releasing: null,
    };
    this.#held.set(lane, held);
    held.pump = this.#pump(lane, held);
    this.#log.info({ lane, epoch: revision, member: this.id }, 'took a lane of the feed');
  }

  /** Fetches the lane's batches in order, up to READ_AHEAD not yet acknowledged. */
  async #pump(lane: number, held: Held): Promise<void> {
    try {
      for (;;) {
        while (held.fetched.length >= READ_AHEAD && !held.stop.signal.aborted) await this.#changed.wait();
        if (held.stop.signal.aborted) return;
        const batch = await held.consumer.next(held.stop.signal);
        // released meanwhile: the batch is the next holder's
        if (batch === null || held.stop.signal.aborted) return;
        held.fetched.push({ batch, taken: false });
        if (held.fetched.length === 1) this.#ready.push(lane);
        this.#changed.notify();
      }
    } catch (error) {
      if (held.stop.signal.aborted || this.#closed) return;
      if (error instanceof ConsumerTakenOver) {
        // another member re-created the lane's consumer: the hold lapsed
        this.#log.warn({ lane }, 'another loader took this lane over');
        void this.#release(lane, { lost: true });
        return;
      }
      this.#fail(error);
    }
  }

  /**
   * Stops taking the lane's batches; waits for the batch being applied, if any, then closes its
   * consumer and (unless the hold is lost already) deletes the hold.
   */
  #release(lane: number, how: { readonly lost: boolean; readonly abandon?: boolean }): Promise<void> {
    const held = this.#held.get(lane);
    if (!held) return Promise.resolve();
    held.releasing ??= this.#releasing(lane, held, how);
    return held.releasing;
  }

  async #releasing(
    lane: number,
    held: Held,
    how: { readonly lost: boolean; readonly abandon?: boolean },
  ): Promise<void> {
    held.stop.abort();
    this.#changed.notify();
    // what was not taken (or never will be applied) is the lane's next holder's
    const applying = () => held.fetched.some((f) => f.taken) && !how.abandon && !this.#closed;
    if (applying()) {
      // being applied: wait for its ack (or drop), or for the group to close (the loader
      // stopped and will not acknowledge it)
      await new Promise<void>((resolve) => {
        const check = () => (applying() ? this.#changed.add(check) : resolve());
        check();
      });
    }
    held.fetched.length = 0;
    this.#held.delete(lane);
    this.#ready = this.#ready.filter((l) => l !== lane);
    await held.pump.catch(() => {});
    await held.consumer.close();
    if (!how.lost) await this.#kv.delete(`lanes.${lane}`, { previousSeq: held.revision }).catch(() => {});
    this.#log.info({ lane, lost: how.lost, member: this.id }, 'released a lane of the feed');
    this.#changed.notify();
  }

  #fail(error: unknown): void {
    this.#failure ??= error;
    this.#changed.notify();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([
    promise,
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms).unref()),
  ]);
}
