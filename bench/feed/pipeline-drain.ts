/**
 * One drain in this process through `runPipeline`, as `tributary run` does it: with the
 * in-process feed (the default), or with a JetStream feed (`feed: { url, name }`, as
 * `tributary run --feed`). Timed from opening the fresh DuckDB file to the batch that brings
 * the applied changes to the backlog's size; then stopped, and the warehouse checked.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../src/core/logger.js';
import { formatLsn } from '../../src/core/lsn.js';
import { runPipeline } from '../../src/pipeline/pipeline.js';
import { parseSourceUrl } from '../../src/source/postgres/setup/connection-config.js';
import { TypeRegistry } from '../../src/source/postgres/values/type-registry.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { ProbeStats } from '../common/probe-stats.js';
import { elapsedSince, int, now, withTimeout } from '../common/report.js';
import { type DrainContext, type DrainRun, startMeters, takeDownStream, verifyWarehouse } from './drain.js';

export async function pipelineDrain(
  ctx: DrainContext,
  variant: 'in-process' | 'jetstream-1proc',
  round: number,
  slot: string,
): Promise<DrainRun> {
  const path = join(ctx.workDir, `${slot}.duckdb`);
  const feedName = variant === 'jetstream-1proc' ? `feed_${slot}` : null;
  const meters = await startMeters(ctx);
  const start = now();
  const types = new TypeRegistry();
  const warehouse = await DuckDBWarehouse.open(path, { typeInfo: (oid) => types.info(oid) });
  const stats = new ProbeStats();
  const controller = new AbortController();
  const done = runPipeline(
    {
      source: {
        connection: parseSourceUrl(ctx.cluster.url()),
        slot,
        publication: 'bench_pub',
        tables: [{ schema: 'public', name: 'bench' }],
        types,
        spoolDir: join(ctx.workDir, 'spool', slot),
      },
      warehouse,
      // the slot was created before the backlog: stream it, copy nothing (see bench/e2e)
      snapshot: { mode: 'never' },
      logger: silentLogger(),
      stats,
      ...(feedName ? { feed: { url: ctx.nats.url, name: feedName } } : {}),
    },
    controller.signal,
  );
  done.catch(() => {});
  // closing DuckDB under a running pipeline can hang: the pipeline stops first
  const shutDown = async () => {
    controller.abort();
    await done.catch(() => {});
    await warehouse.close().catch(() => {});
  };
  ctx.live.add(shutDown);
  try {
    await withTimeout(
      Promise.race([stats.reach(ctx.changes), done]),
      `the ${variant} drain`,
      ctx.stageTimeoutMs,
    );
    const seconds = elapsedSince(start);
    const timed = meters.timed();
    if (stats.appliedChanges < ctx.changes)
      throw new Error(
        `the ${variant} pipeline stopped after ${stats.appliedChanges} of ${ctx.changes} changes`,
      );
    const rss = process.memoryUsage().rss;
    const stopStart = now();
    controller.abort();
    await done;
    const stopSeconds = elapsedSince(stopStart);
    await verifyWarehouse(warehouse, ctx);
    const cp = stats.lastCheckpoint;
    const notes = [
      `checkpoint ${cp ? formatLsn(cp.commitLsn) : '-'}, ${int(stats.snapshot().batches)} batches ` +
        `(DuckDB apply ${(stats.applyMillis / 1000).toFixed(1)} s in all)`,
      `stop ${stopSeconds.toFixed(2)} s`,
      `RSS ${(rss / 2 ** 20).toFixed(0)} MiB`,
      'rows match Postgres',
    ];
    if (feedName) notes.push(await takeDownStream(ctx, feedName));
    return {
      variant,
      round,
      seconds,
      changesPerSecond: ctx.changes / seconds,
      cpu: {
        bench: timed.bench,
        source: null,
        loader: null,
        nats: timed.nats,
        postgres: await meters.postgres(),
      },
      notes,
    };
  } finally {
    await shutDown();
    ctx.live.delete(shutDown);
    rmSync(path, { force: true });
    rmSync(`${path}.wal`, { force: true });
  }
}
