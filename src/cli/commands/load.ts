/**
 * `tributary load`: the applying half of a pipeline split around a NATS JetStream feed. It
 * consumes the feed as a durable consumer and merges the changes into the warehouse,
 * acknowledging JetStream only after each warehouse commit; it resumes after the warehouse's
 * checkpoint. With `--source` it also runs snapshots and backfills (online). On SIGTERM it
 * finishes the batch it holds and exits 0. `tributary status` and `query` work while it runs.
 * See src/pipeline/split.ts. With `--models <dir>` (or a ./models directory) it keeps the models
 * fresh as `run` does (src/models/model-refresher.ts).
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { parseDuration } from '../../core/duration.js';
import { TributaryError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { checkNatsUrl, type JetStreamFeed, redactNatsUrl } from '../../feed/jetstream/jetstream-feed.js';
import type { LaneGroupConsumer } from '../../feed/jetstream/lane-group.js';
import type { ModelRefresher } from '../../models/model-refresher.js';
import type { Loader } from '../../pipeline/loader.js';
import { PipelineStats } from '../../pipeline/pipeline-stats.js';
import type { SnapshotRunner } from '../../pipeline/snapshot-runner.js';
import { runLoad } from '../../pipeline/split.js';
import { type FeedStatus, statusReport } from '../../pipeline/status-report.js';
import { ControlServer } from '../../server/control-server.js';
import { parseTableList } from '../../source/postgres/setup/tables.js';
import { TypeRegistry } from '../../source/postgres/values/type-registry.js';
import { checkHandler, landingHandlers, pruneEvery } from '../landing-handlers.js';
import { addRawOptions, batchLimits, logStatusEvery, rawRetention } from '../loader-flags.js';
import { modelsHandler, modelsSettings, startModels, statusOf, wantsModels } from '../models-settings.js';
import { runUntilSignal } from '../run-until-signal.js';
import { SnapshotProgressView } from '../snapshot-progress.js';
import { sourceConfig } from '../source-config.js';
import { openForRun } from '../with-warehouse.js';
import { DEFAULT_WAREHOUSE } from './run.js';
import { checkVerifyRequest, verifyWith } from './verify.js';

interface LoadFlags {
  readonly feed: string;
  readonly feedName?: string;
  readonly consumer: string;
  readonly warehouse: string;
  readonly source?: string;
  readonly slot: string;
  readonly publication: string;
  readonly batchSize?: string;
  readonly batchDelay?: string;
  readonly statusEvery: string;
  readonly from?: string;
  /** False with --no-raw: no raw landing zone. */
  readonly raw: boolean;
  readonly rawRetention?: string;
  readonly models?: string;
}

export function loadCommand(): Command {
  return addRawOptions(new Command('load'))
    .description(
      'apply the changes of a NATS JetStream feed to the warehouse (the other half of `tributary source`)',
    )
    .requiredOption('--feed <nats-url>', 'the NATS server with JetStream (nats://host:4222)')
    .option(
      '--feed-name <name>',
      "the feed's name on NATS (default the slot's name, as for `tributary source`)",
    )
    .option(
      '--consumer <name>',
      "the loaders' group: loaders with the same name share the feed's lanes (with DuckDB, one per warehouse file)",
      'loader',
    )
    .option('--warehouse <path.duckdb>', 'the DuckDB warehouse file', DEFAULT_WAREHOUSE)
    .option(
      '--source <postgres-url>',
      'the source database, for snapshots and backfills (without it the loader only streams)',
    )
    .option('--slot <name>', 'the slot `tributary source` reads (names the feed by default)', 'tributary')
    .option('--publication <name>', 'publication (for snapshots)', 'tributary')
    .option('--batch-size <n>', 'most changes applied in one warehouse transaction (default 50000)')
    .option('--batch-delay <duration>', 'longest a change waits for its batch (default 100ms)')
    .option('--status-every <duration>', 'log a status line this often', '10s')
    .option(
      '--models <dir>',
      'materialise the models of this directory and keep them fresh (default ./models when it exists)',
    )
    .option(
      '--from <time>',
      'replay into an empty warehouse from the changes the stream stored at or after this ISO 8601 time',
    )
    .action(async (flags: LoadFlags) => {
      checkNatsUrl(flags.feed);
      const batch = batchLimits(flags);
      const from = flags.from === undefined ? undefined : parseTime(flags.from, '--from');
      const source = flags.source || process.env.TRIBUTARY_SOURCE ? sourceConfig(flags) : null;
      const statusEveryMs = parseDuration(flags.statusEvery);
      const retentionMs = rawRetention(flags);
      const models = modelsSettings(flags.models, undefined, null);
      await runUntilSignal(async (signal) => {
        const log = createLogger();
        const types = new TypeRegistry();
        const warehouse = await openForRun(flags.warehouse, {
          typeInfo: (oid) => types.info(oid),
          raw: flags.raw,
          source: `feed ${flags.feedName ?? flags.slot}`,
        });
        let refresher: ModelRefresher | null = null;
        try {
          if (wantsModels(models))
            refresher = await startModels(
              warehouse,
              models,
              source ? { tables: source.tables, connection: source.connection } : null,
              log,
            );
        } catch (error) {
          await warehouse.close();
          throw error;
        }
        const stats = new PipelineStats();
        const progress = new SnapshotProgressView(log);
        let feed: JetStreamFeed | null = null;
        let group: LaneGroupConsumer | null = null;
        let snapshots: SnapshotRunner | null = null;
        let loader: Loader | null = null;
        const feedStatus = async (): Promise<FeedStatus | null> => {
          if (!feed) return null;
          const lag = group ? await group.lag().catch(() => null) : null;
          return {
            stream: feed.names.stream,
            consumer: flags.consumer,
            pendingMessages: lag?.pending ?? null,
            unacknowledgedMessages: lag?.unacknowledged ?? null,
            lanes: feed.lanes,
            heldLanes: group?.lanes ?? [],
            loaders: lag?.members ?? null,
          };
        };
        const control = await ControlServer.start(flags.warehouse, {
          ...landingHandlers(warehouse),
          check: checkHandler(warehouse, null),
          status: async () => ({
            ...(await statusReport(
              warehouse,
              stats,
              null,
              snapshots?.progress() ?? null,
              await feedStatus(),
            )),
            ...(refresher ? { models: await statusOf(refresher.plan, warehouse, refresher) } : {}),
          }),
          ...(refresher ? { models: modelsHandler(warehouse, () => refresher) } : {}),
          verify: async (body) => {
            if (!source) {
              throw new TributaryError(
                'USAGE',
                'this loader has no source to compare with: start `tributary load` with --source to verify',
              );
            }
            // the point is pinned between two batches of this loader: it must load every table
            if (!loader || !feed || !group)
              throw new TributaryError('USAGE', 'the loader is still starting; try again');
            if (feed.lanes !== 1 || !group.lanes.includes(0)) {
              throw new TributaryError(
                'USAGE',
                `tributary verify needs a feed of one lane loaded by this process; this one has ${feed.lanes}`,
              );
            }
            return verifyWith(loader, warehouse, source, types, checkVerifyRequest(body), log);
          },
          backfill: async (request) => {
            if (!snapshots) {
              throw new TributaryError(
                'USAGE',
                'this loader runs no snapshots: start `tributary load` with --source to backfill',
              );
            }
            const [table] = parseTableList(request.table);
            if (!table) throw new TributaryError('USAGE', 'name one table to backfill');
            return snapshots.request(table, request.predicate, request.reason);
          },
        });
        const stopStatus = logStatusEvery(log, stats, statusEveryMs);
        const stopPruning = retentionMs === null ? () => {} : pruneEvery(warehouse, retentionMs, log);
        try {
          log.info(
            { feed: redactNatsUrl(flags.feed), consumer: flags.consumer, warehouse: flags.warehouse },
            'starting the loader',
          );
          await runLoad(
            {
              warehouse,
              feed: {
                url: flags.feed,
                name: flags.feedName ?? flags.slot,
                durable: flags.consumer,
                // one process writes a DuckDB file: the file names the loader across restarts
                member: `${hostname()}:${resolve(flags.warehouse)}`,
              },
              logger: log,
              batch,
              stats,
              types,
              onFeed: (f) => {
                feed = f;
              },
              onGroup: (g) => {
                group = g;
              },
              onLoader: (l) => {
                loader = l;
              },
              ...(refresher
                ? {
                    onApplied: (items) => refresher?.applied(items),
                    onSnapshotWrite: () => refresher?.snapshotWrote(),
                  }
                : {}),
              ...(from ? { from } : {}),
              ...(source
                ? {
                    snapshots: {
                      connection: source.connection,
                      slot: source.slot,
                      publication: source.publication,
                      onProgress: (p) => progress.update(p),
                      onRunner: (r) => {
                        snapshots = r;
                      },
                    },
                  }
                : {}),
            },
            signal,
          );
          log.info({ changes: stats.snapshot().changes }, 'stopped');
        } finally {
          progress.stop();
          stopStatus();
          stopPruning();
          await refresher?.stop();
          await control.close();
          await warehouse.close();
        }
      });
    });
}

function parseTime(text: string, flag: string): Date {
  const time = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(time.getTime())) {
    throw new TributaryError(
      'USAGE',
      `${flag} takes an ISO 8601 time such as 2026-11-21T09:00:00Z, not ${JSON.stringify(text)}`,
    );
  }
  return time;
}
