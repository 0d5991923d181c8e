/**
 * The main job: Postgres source → in-process feed (the loader's bounded batches, with
 * backpressure; the slot itself is the durable log) → warehouse. It resumes from the
 * warehouse's checkpoint, so a restart after kill -9 skips what is already applied and the slot
 * resends the rest. It stops on `signal` after applying what it received, or on the first
 * failure of either side.
 */
import type { StreamItem } from '../core/change-event.js';
import type { Logger } from '../core/logger.js';
import { formatPosition, type Position } from '../core/position.js';
import { PostgresSource, type PostgresSourceOptions } from '../source/postgres/postgres-source.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { type BatchLimits, Loader } from './loader.js';
import { PipelineStats } from './pipeline-stats.js';

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
}

export async function runPipeline(options: PipelineOptions, signal: AbortSignal): Promise<void> {
  const log = options.logger;
  const checkpoint: Position | null = await options.warehouse.checkpoint();
  log.info({ checkpoint: checkpoint ? formatPosition(checkpoint) : null }, 'warehouse checkpoint');
  const source = new PostgresSource({ ...options.source, logger: log, resumeAfter: checkpoint });
  options.onSource?.(source);
  await source.prepare();
  if (signal.aborted) return;

  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  let failure: unknown = null;
  const stats = options.stats ?? new PipelineStats();
  const loader = new Loader(
    options.warehouse,
    (position) => source.acknowledge(position),
    {
      onApplied: (applied, items, millis) => stats.applied(applied, items, millis),
      onError: (error) => {
        failure = error;
        stop.abort();
      },
    },
    options.batch,
  );
  const observe = options.observe;
  const target = observe
    ? {
        write: (items: readonly StreamItem[]) => {
          observe(items);
          return loader.write(items);
        },
        flush: () => loader.flush(),
      }
    : loader;
  try {
    await source.run(target, stop.signal);
  } catch (error) {
    failure ??= error;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  if (failure !== null) throw failure;
}
