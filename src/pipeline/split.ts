/**
 * The pipeline in two processes, around a JetStream feed (src/feed/jetstream): `tributary source`
 * reads the slot and publishes; `tributary load` consumes and applies to the warehouse. Either
 * can run on its own host, stop, crash or restart without the other:
 *
 * - The source resumes after the last position the stream holds (whatever the slot resends up to
 *   it is skipped), and acknowledges the slot only up to what JetStream has stored.
 * - The loader resumes after the warehouse's checkpoint (its consumer is reset there), and
 *   acknowledges JetStream only after the warehouse committed.
 *
 * Snapshots and backfills need both the source database and the warehouse: the loader runs them
 * when it is given the source's connection (`tributary load --source ...`), online, with the
 * same rule as `run` (src/pipeline/snapshot-runner.ts); a first run there copies every published
 * table online too (a table without a primary key cannot be: use `tributary run` for those).
 */

import type { StreamItem } from '../core/change-event.js';
import type { Logger } from '../core/logger.js';
import { formatPosition } from '../core/position.js';
import { type JetStreamFeed, replayIntoNonEmpty } from '../feed/jetstream/jetstream-feed.js';
import type { LaneGroupConsumer } from '../feed/jetstream/lane-group.js';
import { PostgresSource, type PostgresSourceOptions } from '../source/postgres/postgres-source.js';
import type { SourceConfig } from '../source/postgres/setup/connection-config.js';
import { startAgainOnConnectionLoss } from '../source/postgres/start-again.js';
import { TypeRegistry } from '../source/postgres/values/type-registry.js';
import { isSnapshotStore } from '../warehouse/snapshot.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { type BatchLimits, Loader } from './loader.js';
import { connectFeed, type FeedSettings, joinLoaderGroup } from './pipeline.js';
import { PipelineStats } from './pipeline-stats.js';
import {
  DEFAULT_SNAPSHOT_SETTINGS,
  type JobProgress,
  SnapshotRunner,
  type SnapshotSettings,
} from './snapshot-runner.js';

export interface SourceOnlyOptions {
  readonly source: Omit<PostgresSourceOptions, 'logger' | 'resumeAfter'>;
  readonly feed: FeedSettings;
  readonly logger: Logger;
  readonly onSource?: (source: PostgresSource) => void;
}

/** Publishes the slot's changes to the feed until `signal`; then flushes and acknowledges. */
export async function runSource(options: SourceOnlyOptions, signal: AbortSignal): Promise<void> {
  const log = options.logger;
  const jet = await connectFeed(options.feed, options.source.slot, log);
  try {
    const published = await jet.lastPosition();
    log.info({ published: published ? formatPosition(published) : null }, 'the feed holds changes up to');
    const types = options.source.types ?? new TypeRegistry();
    const source = new PostgresSource({ ...options.source, types, logger: log, resumeAfter: published });
    options.onSource?.(source);
    const prepared = await startAgainOnConnectionLoss(
      () => source.prepare({ exportSnapshot: false }),
      signal,
      {
        logger: log,
        what: 'the source',
      },
    );
    if (prepared === undefined || signal.aborted) return;
    const publisher = await jet.publisher((position) => source.acknowledge(position), {
      typeInfo: (oid) => types.info(oid),
    });
    await source.run(publisher, signal);
  } finally {
    await jet.close();
  }
}

export interface LoadOnlyOptions {
  readonly warehouse: Warehouse;
  readonly feed: FeedSettings & { readonly name: string };
  readonly logger: Logger;
  readonly batch?: Partial<BatchLimits>;
  readonly stats?: PipelineStats;
  /** Fills with the type catalog entries the feed carries (the warehouse maps types with it). */
  readonly types?: TypeRegistry;
  /** The source database, for snapshots and backfills; without it the loader only streams. */
  readonly snapshots?: {
    readonly connection: SourceConfig;
    readonly slot: string;
    readonly publication: string;
    readonly settings?: Partial<SnapshotSettings>;
    readonly onProgress?: (progress: readonly JobProgress[]) => void;
    readonly onRunner?: (runner: SnapshotRunner) => void;
  };
  readonly onFeed?: (feed: JetStreamFeed) => void;
  /** Called with this loader's membership of the feed's loader group (lanes, lag). */
  readonly onGroup?: (group: LaneGroupConsumer) => void;
  /** Called with the loader once it exists (tributary verify pins a point through it). */
  readonly onLoader?: (loader: Loader) => void;
  /** Replay into an empty warehouse from the messages stored at or after this time. */
  readonly from?: Date;
  /** Called after each batch the loader committed (the models refresh what it touched). */
  readonly onApplied?: (items: readonly StreamItem[], applyMillis: number) => void;
  /** Called after each write of a snapshot or backfill. */
  readonly onSnapshotWrite?: () => void;
}

/** Applies the feed to the warehouse until `signal`; then finishes the batch it holds. */
export async function runLoad(options: LoadOnlyOptions, signal: AbortSignal): Promise<void> {
  const log = options.logger;
  const checkpoint = await options.warehouse.checkpoint();
  log.info({ checkpoint: checkpoint ? formatPosition(checkpoint) : null }, 'warehouse checkpoint');
  if (options.from && checkpoint !== null) throw replayIntoNonEmpty(checkpoint);
  // the source makes the stream (and decides its lanes): a loader started first waits for it
  let jet: JetStreamFeed;
  try {
    jet = await connectFeed(options.feed, options.feed.name, log, signal);
  } catch (error) {
    if (signal.aborted) return;
    throw error;
  }
  options.onFeed?.(jet);
  const stats = options.stats ?? new PipelineStats();
  const types = options.types ?? new TypeRegistry();
  let member: Awaited<ReturnType<typeof joinLoaderGroup>>;
  try {
    member = await joinLoaderGroup(jet, options.warehouse, options.feed, {
      logger: log,
      types,
      ...(options.batch ? { limits: options.batch } : {}),
      ...(options.from ? { from: options.from } : {}),
    });
  } catch (error) {
    await jet.close();
    throw error;
  }
  options.onGroup?.(member.group);
  const loader = new Loader(options.warehouse, {
    onApplied: (applied, items, millis) => {
      stats.applied(applied, items, millis);
      void member.refresh();
      options.onApplied?.(items, millis);
    },
  });
  options.onLoader?.(loader);
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  let failure: unknown = null;
  const store = isSnapshotStore(options.warehouse) ? options.warehouse : null;
  const snap = options.snapshots;
  const runner =
    store && snap
      ? new SnapshotRunner({
          connection: snap.connection,
          slot: snap.slot,
          publication: snap.publication,
          warehouse: store,
          types,
          logger: log,
          settings: { ...DEFAULT_SNAPSHOT_SETTINGS, ...snap.settings },
          serialize: async (work) => {
            const done = await loader.exclusive(work);
            options.onSnapshotWrite?.();
            return done;
          },
          // rule 1: what every lane applied; the runner's watermarks reach every lane
          acknowledged: member.appliedLsn,
          ...(snap.onProgress ? { onProgress: snap.onProgress } : {}),
        })
      : null;
  if (runner) snap?.onRunner?.(runner);
  const background = runner
    ? runner.background(stop.signal).catch((error: unknown) => {
        failure ??= error;
        stop.abort();
      })
    : null;
  try {
    try {
      await loader.run(member.group, stop.signal);
    } finally {
      await member.group.close();
    }
  } catch (error) {
    failure ??= error;
  } finally {
    signal.removeEventListener('abort', onAbort);
    stop.abort();
    await background;
    await jet.close();
  }
  if (failure !== null) throw failure;
}
