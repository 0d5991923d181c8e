/**
 * The main job: Postgres source → in-process feed (the loader's bounded batches, with
 * backpressure; the slot itself is the durable log) → warehouse. It resumes from the
 * warehouse's checkpoint, so a restart after kill -9 skips what is already applied and the slot
 * resends the rest. It stops on `signal` after applying what it received, or on the first
 * failure of either side.
 */
import type { StreamItem } from '../core/change-event.js';
import { TributaryError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Lsn } from '../core/lsn.js';
import { formatPosition, type Position } from '../core/position.js';
import { JetStreamFeed } from '../feed/jetstream/jetstream-feed.js';
import { LaneGroupConsumer } from '../feed/jetstream/lane-group.js';
import { MemoryFeed } from '../feed/memory-feed.js';
import { PostgresSource, type PostgresSourceOptions } from '../source/postgres/postgres-source.js';
import { startAgainOnConnectionLoss } from '../source/postgres/start-again.js';
import { type TypeInfo, TypeRegistry } from '../source/postgres/values/type-registry.js';
import { isSnapshotStore, type SnapshotStore } from '../warehouse/snapshot.js';
import { isLaneStore, type Warehouse } from '../warehouse/warehouse.js';
import { type BatchLimits, Loader } from './loader.js';
import { PipelineStats } from './pipeline-stats.js';
import {
  DEFAULT_SNAPSHOT_SETTINGS,
  type JobProgress,
  SnapshotRunner,
  type SnapshotSettings,
} from './snapshot-runner.js';

export interface PipelineOptions {
  readonly source: Omit<PostgresSourceOptions, 'logger' | 'resumeAfter'>;
  readonly warehouse: Warehouse;
  readonly logger: Logger;
  readonly batch?: Partial<BatchLimits>;
  readonly stats?: PipelineStats;
  /** Called with the source once it exists, for status reporting. */
  readonly onSource?: (source: PostgresSource) => void;
  /** Sees every batch the source hands over, before it is applied (the demo prints them). */
  readonly observe?: (items: readonly StreamItem[]) => void;
  /** Snapshots and backfills (snapshot-runner.ts); `mode: 'never'` copies nothing by itself. */
  readonly snapshot?: Partial<SnapshotSettings>;
  /** Called with the snapshot runner once it exists (status, backfill requests, progress). */
  readonly onSnapshots?: (runner: SnapshotRunner) => void;
  readonly onSnapshotProgress?: (progress: readonly JobProgress[]) => void;
  /** Called after each batch the loader committed (the models refresh what it touched). */
  readonly onApplied?: (items: readonly StreamItem[], applyMillis: number) => void;
  /** Called after each write of a snapshot or backfill (rows copied into a table, a job finished). */
  readonly onSnapshotWrite?: () => void;
  /** Called with the loader once it exists (tributary verify pins a point through it). */
  readonly onLoader?: (loader: Loader) => void;
  /**
   * The feed between source and loader: in process (the default; the slot is the durable log),
   * or NATS JetStream (`url`: nats://...), where the slot is acknowledged once JetStream holds a
   * change and the loader acknowledges JetStream after the warehouse commit.
   */
  readonly feed?: FeedSettings;
}

export interface FeedSettings {
  readonly url: string;
  /** The feed's name (its stream and subjects); default the slot's name. */
  readonly name?: string;
  /** The loaders' group: their durable consumers are `<durable>-l<lane>`. Default `loader`. */
  readonly durable?: string;
  /** Lanes of a feed created now (fixed then; an existing feed must have as many). Default 1 / the feed's. */
  readonly lanes?: number;
  /** What names this loader across restarts (lane-group.ts): the warehouse it writes. */
  readonly member?: string;
  /** What names the warehouse (lane-group.ts: a group loads one). Default `member`. */
  readonly warehouseId?: string;
  /** The group's heartbeat and lease (lane-group.ts), for tests. */
  readonly heartbeatMs?: number;
  readonly leaseMs?: number;
}

/** Connects to the JetStream feed the settings name (the stream is created when missing). */
export function connectFeed(
  settings: FeedSettings,
  slot: string,
  logger: Logger,
  waitForStream?: AbortSignal,
): Promise<JetStreamFeed> {
  return JetStreamFeed.connect({
    url: settings.url,
    name: settings.name ?? slot,
    logger,
    ...(settings.lanes === undefined ? {} : { lanes: settings.lanes }),
    ...(waitForStream ? { waitForStream } : {}),
  });
}

/**
 * Joins the feed's loader group as a member that applies to `warehouse` (which must keep lane
 * checkpoints), and tracks what every lane has applied: `appliedLsn()` is the least commit LSN
 * of the lanes' checkpoints, 0 while a lane has none (what a snapshot's rule 1 waits for; every
 * lane sees the snapshot runner's watermarks). Call `refresh()` after each applied batch.
 */
export async function joinLoaderGroup(
  jet: JetStreamFeed,
  warehouse: Warehouse,
  settings: FeedSettings,
  options: {
    readonly logger: Logger;
    readonly limits?: Partial<BatchLimits>;
    readonly types?: TypeRegistry;
    readonly from?: Date;
  },
): Promise<{ group: LaneGroupConsumer; appliedLsn: () => Lsn; refresh: () => Promise<void> }> {
  if (!isLaneStore(warehouse)) {
    throw new TributaryError(
      'INTERNAL',
      'a warehouse loaded from a JetStream feed must keep lane checkpoints',
    );
  }
  let applied: Lsn = 0n;
  const refresh = async () => {
    const lanes = await warehouse.laneCheckpoints();
    let least: Lsn | null = null;
    for (let lane = 0; lane < jet.lanes; lane++) {
      const lsn = lanes.get(lane)?.commitLsn ?? 0n;
      if (least === null || lsn < least) least = lsn;
    }
    applied = least ?? 0n;
  };
  const types = options.types;
  const group = await LaneGroupConsumer.join(jet, {
    claim: async (claim) => {
      const after = await warehouse.claimLane(claim);
      await refresh();
      return after;
    },
    logger: options.logger,
    ...(settings.durable ? { group: settings.durable } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(types ? { onTypes: (infos: readonly TypeInfo[]) => types.registerAll(infos) } : {}),
    ...(options.from ? { from: options.from } : {}),
    ...(settings.member ? { member: settings.member } : {}),
    ...((settings.warehouseId ?? settings.member)
      ? { warehouse: settings.warehouseId ?? settings.member }
      : {}),
    ...(settings.heartbeatMs ? { heartbeatMs: settings.heartbeatMs } : {}),
    ...(settings.leaseMs ? { leaseMs: settings.leaseMs } : {}),
  });
  await refresh();
  return { group, appliedLsn: () => applied, refresh };
}

/**
 * Runs the pipeline until `signal` aborts. The source going away before streaming began (while
 * preparing the slot, or during the first copy, whose exported snapshot dies with the
 * connection) starts the pipeline again from the warehouse's checkpoint and jobs, as a restart
 * of the process would; once streaming, the source reconnects by itself.
 */
export async function runPipeline(options: PipelineOptions, signal: AbortSignal): Promise<void> {
  const log = options.logger;
  let reached = false;
  await startAgainOnConnectionLoss(
    async () => {
      const checkpoint: Position | null = await options.warehouse.checkpoint();
      log.info({ checkpoint: checkpoint ? formatPosition(checkpoint) : null }, 'warehouse checkpoint');
      const jet = options.feed ? await connectFeed(options.feed, options.source.slot, log) : null;
      try {
        await runWithFeed(options, signal, checkpoint, jet, () => {
          reached = true;
        });
      } finally {
        await jet?.close();
      }
    },
    signal,
    { logger: log, what: 'the pipeline', reached: () => reached },
  );
}

async function runWithFeed(
  options: PipelineOptions,
  signal: AbortSignal,
  checkpoint: Position | null,
  jet: JetStreamFeed | null,
  onReached: () => void,
): Promise<void> {
  const log = options.logger;
  // the source resumes after what its feed holds: the warehouse in process, else the stream
  const published = jet ? await jet.lastPosition() : checkpoint;
  if (jet)
    log.info({ published: published ? formatPosition(published) : null }, 'the feed holds changes up to');
  const types = options.source.types ?? new TypeRegistry();
  const source = new PostgresSource({ ...options.source, types, logger: log, resumeAfter: published });
  options.onSource?.(source);
  const store = isSnapshotStore(options.warehouse) ? options.warehouse : null;
  const settings = { ...DEFAULT_SNAPSHOT_SETTINGS, ...options.snapshot };
  // the first run copies at the snapshot its new slot exports, then streams from there
  const firstRun = store !== null && settings.mode === 'initial' && checkpoint === null;
  let prepared = await source.prepare({ exportSnapshot: firstRun });
  onReached();
  let startOver = false;
  if (store && firstRun && prepared.snapshot === null && (await interruptedFirstCopy(store))) {
    // a table without a key is exact only as one whole copy at the stream's start, and nothing
    // has been applied yet: begin the first run again at a new slot
    log.warn(
      'the first run was interrupted while copying a table without a primary key, or before its copy began; starting it over',
    );
    await source.dropSlot();
    prepared = await source.prepare({ exportSnapshot: true });
    startOver = true;
  }
  if (signal.aborted) {
    await prepared.snapshot?.release();
    return;
  }

  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  let failure: unknown = null;
  const stats = options.stats ?? new PipelineStats();
  const memory = jet ? null : new MemoryFeed((position) => source.acknowledge(position), options.batch);
  const publisher = memory
    ? memory.publisher
    : await jet!.publisher((position) => source.acknowledge(position), {
        typeInfo: (oid) => types.info(oid),
      });
  // through JetStream, the loader is a member of the feed's loader group (it joins below, once
  // the first run's copy is done)
  let member: Awaited<ReturnType<typeof joinLoaderGroup>> | null = null;
  const loader = new Loader(options.warehouse, {
    onApplied: (applied, items, millis) => {
      stats.applied(applied, items, millis);
      void member?.refresh();
      options.onApplied?.(items, millis);
    },
  });
  options.onLoader?.(loader);
  const runner = store
    ? new SnapshotRunner({
        connection: options.source.connection,
        slot: options.source.slot,
        publication: options.source.publication,
        warehouse: store,
        types,
        logger: log,
        settings,
        serialize: async (work) => {
          const done = await loader.exclusive(work);
          options.onSnapshotWrite?.();
          return done;
        },
        // rule 1 needs what the warehouse applied: in process the slot's position is exactly
        // that (and follows an idle server); through JetStream, what every lane applied
        acknowledged: jet ? () => member?.appliedLsn() ?? 0n : () => source.acknowledgedLsn,
        nudge: () => source.requestKeepalive(),
        ...(options.onSnapshotProgress ? { onProgress: options.onSnapshotProgress } : {}),
      })
    : null;
  if (runner) options.onSnapshots?.(runner);
  if (prepared.snapshot) {
    if (runner) {
      try {
        await runner.initial(prepared.snapshot, signal, startOver);
      } finally {
        await prepared.snapshot.release();
      }
    } else await prepared.snapshot.release();
    if (signal.aborted) {
      signal.removeEventListener('abort', onAbort);
      return;
    }
  }
  const background = runner
    ? runner.background(stop.signal).catch((error: unknown) => {
        failure ??= error;
        stop.abort();
      })
    : null;
  // the loader outlives the source: stopping, the source flushes what it read through it
  const stopLoading = new AbortController();
  if (jet) {
    try {
      member = await joinLoaderGroup(jet, options.warehouse, options.feed!, {
        logger: log,
        types,
        ...(options.batch ? { limits: options.batch } : {}),
      });
    } catch (error) {
      signal.removeEventListener('abort', onAbort);
      stop.abort();
      await background;
      throw error;
    }
  }
  const consumer = member ? member.group : memory!.consumer();
  const loading = loader.run(consumer, stopLoading.signal).catch((error: unknown) => {
    failure ??= error;
    publisher.fail(error);
    stop.abort();
  });
  const observe = options.observe;
  const target = observe
    ? {
        write: (items: readonly StreamItem[]) => {
          observe(items);
          return publisher.write(items);
        },
        flush: () => publisher.flush(),
      }
    : publisher;
  try {
    await source.run(target, stop.signal);
  } catch (error) {
    failure ??= error;
  } finally {
    signal.removeEventListener('abort', onAbort);
    stop.abort();
    stopLoading.abort();
    await consumer.close();
    await loading;
    await background;
  }
  if (failure !== null) throw failure;
}

/**
 * Whether a first run was interrupted while a table without a key was unfinished, before a
 * job's first attempt (whether its table has a key is learnt when the attempt starts; every
 * attempt starts before the first chunk is read, so starting over then loses no copied chunk),
 * or before it recorded its jobs at all (killed just after creating its slot: with no job and no
 * checkpoint nothing was copied or applied, and going on online would fail every table without
 * a key as "can only be copied at the first start").
 */
async function interruptedFirstCopy(store: SnapshotStore): Promise<boolean> {
  const jobs = await store.snapshotJobs();
  return (
    jobs.length === 0 ||
    jobs.some(
      (j) =>
        (j.keyless || j.attempt === 0) &&
        j.reason === 'initial' &&
        (j.state === 'pending' || j.state === 'running'),
    )
  );
}
