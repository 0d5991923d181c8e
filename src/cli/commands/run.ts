/**
 * `tributary run`: snapshot-then-stream from the source into the warehouse until SIGINT or
 * SIGTERM; then it applies what it received, acknowledges, and exits 0. The first run copies
 * the rows the tables already hold (src/pipeline/snapshot-runner.ts); tables published later,
 * and `tributary backfill` jobs, are copied while the stream flows. Resumes from the warehouse's
 * checkpoint, and a snapshot from its finished chunks, after any stop, kill -9 included.
 * With `--config`, the file's `checks:` run on their schedules (src/quality/check-schedule.ts).
 * Metric definitions (`--metrics <dir>`, the config file's metrics.dir, else ./metrics when it
 * exists) are validated and synced into the registry at the start (a bad one: exit 2), and
 * served to `tributary metrics` through the control endpoint.
 * Models (`--models <dir>`, the config file's `models:`, or a ./models directory) are
 * materialised and kept fresh beside the loader (src/models/model-refresher.ts).
 * The HTTP API (src/server/http-api.ts) is served by default on 127.0.0.1:7878, or a free loopback
 * port when that is taken; `--http` picks the address (exit 2 when it cannot be bound), `--no-http`
 * serves none. `--lag-sample` sets how often the lag history takes a sample.
 * The config file's `alerts:` (src/server/alerting.ts) are judged on each lag sample and each
 * scheduled check result; `--http` also serves them, and Prometheus metrics at /metrics.
 */
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { Command } from 'commander';
import { parseDuration } from '../../core/duration.js';
import { TributaryError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { checkNatsUrl } from '../../feed/jetstream/jetstream-feed.js';
import { clickhouseMetricsEngine } from '../../metrics/clickhouse/clickhouse-engine.js';
import { Metrics, type MetricsBackend, resultRecords } from '../../metrics/metrics.js';
import type { ModelRefresher } from '../../models/model-refresher.js';
import type { Loader } from '../../pipeline/loader.js';
import { runPipeline } from '../../pipeline/pipeline.js';
import { PipelineStats } from '../../pipeline/pipeline-stats.js';
import type { SnapshotRunner, SnapshotSettings } from '../../pipeline/snapshot-runner.js';
import {
  checkStatus,
  jobStatus,
  statusReport,
  tableRows,
  telemetryReading,
} from '../../pipeline/status-report.js';
import { sampleEvery, Telemetry } from '../../pipeline/telemetry.js';
import { checkDetails } from '../../quality/check-history.js';
import { scheduleChecks } from '../../quality/check-schedule.js';
import type { CheckSpec } from '../../quality/check-spec.js';
import { type AlertsConfig, alertSettings } from '../../server/alert-settings.js';
import { Alerting } from '../../server/alerting.js';
import { ControlServer } from '../../server/control-server.js';
import { DEFAULT_HTTP_ADDRESS } from '../../server/http-address.js';
import {
  checkExposure,
  type HttpAddress,
  HttpApi,
  type HttpMetrics,
  parseHttpAddress,
} from '../../server/http-api.js';
import { PrometheusExporter } from '../../server/prometheus.js';
import { SQL_TIMEOUT_MS } from '../../server/sql-endpoint.js';
import type { PostgresSource } from '../../source/postgres/postgres-source.js';
import { describeTarget } from '../../source/postgres/setup/connection-config.js';
import { parseTableList } from '../../source/postgres/setup/tables.js';
import { TypeRegistry } from '../../source/postgres/values/type-registry.js';
import { ClickHouseWarehouse } from '../../warehouse/clickhouse/clickhouse-warehouse.js';
import { isClickHouseUrl, parseClickHouseUrl } from '../../warehouse/clickhouse/connect.js';
import { readClickHouseQuery, readOnlyClickHouse } from '../../warehouse/clickhouse/read-only.js';
import { DuckDBWarehouse } from '../../warehouse/duckdb/duckdb-warehouse.js';
import { readOnlyOnOwnConnection } from '../../warehouse/duckdb/read-only-sql.js';
import { flagOrFile, loadConfigFile } from '../config-file.js';
import { checkHandler, landingHandlers, pruneEvery } from '../landing-handlers.js';
import {
  addRawOptions,
  batchLimits,
  laneCount,
  logStatusEvery,
  positiveInteger,
  rawRetention,
} from '../loader-flags.js';
import { currentUser, metricsAtStart, metricsHandler } from '../metrics-handler.js';
import {
  type ModelsSettings,
  modelsHandler,
  modelsSettings,
  startModels,
  statusOf,
  wantsModels,
} from '../models-settings.js';
import { runUntilSignal } from '../run-until-signal.js';
import { SnapshotProgressView } from '../snapshot-progress.js';
import { addSourceOptions, type SourceFlags, sourceConfig } from '../source-config.js';
import { openForSlot } from '../with-warehouse.js';
import { checkVerifyRequest, verifyWith } from './verify.js';

interface RunFlags extends SourceFlags {
  readonly config?: string;
  readonly warehouse: string;
  readonly batchSize?: string;
  readonly batchDelay?: string;
  readonly heartbeat?: string;
  readonly statusEvery: string;
  readonly snapshot?: string;
  readonly snapshotWorkers?: string;
  readonly snapshotChunkRows?: string;
  readonly snapshotTimeout?: string;
  readonly feed?: string;
  readonly feedName?: string;
  readonly lanes?: string;
  /** False with --no-raw: no raw landing zone. */
  readonly raw: boolean;
  readonly rawRetention?: string;
  /** From the config file's `checks:` (there is no flag): run on their schedules. */
  readonly checks?: readonly CheckSpec[];
  /** The metric definitions' directory (--metrics, or the config file's metrics.dir). */
  readonly metrics?: string;
  /** --models <dir>. */
  readonly models?: string;
  /** --http host:port (or the config file's http:): the public HTTP API; false with --no-http. */
  readonly http?: string | boolean;
  /** --lag-sample: how often the lag history takes a sample. */
  readonly lagSample?: string;
  /** Where the models are, from --models and the config file. */
  readonly modelSettings?: ModelsSettings;
  /** From the config file's `alerts:` (there is no flag). */
  readonly alerts?: AlertsConfig;
}

export const DEFAULT_WAREHOUSE = 'tributary.duckdb';

export function runCommand(): Command {
  return addRawOptions(addSourceOptions(new Command('run')))
    .description("copy the tables' rows, then stream committed changes into the warehouse until stopped")
    .option(
      '--warehouse <path|url>',
      'the DuckDB warehouse file, or a ClickHouse warehouse: clickhouse://user@host:8123/db (password in the URL or CLICKHOUSE_PASSWORD), clickhouses://… for HTTPS, chdb:///dir for ClickHouse in process',
      DEFAULT_WAREHOUSE,
    )
    .option('--batch-size <n>', 'most changes applied in one warehouse transaction (default 50000)')
    .option('--batch-delay <duration>', 'longest a change waits for its batch (default 100ms)')
    .option(
      '--heartbeat <duration>',
      'emit a heartbeat message this often so the slot advances on a quiet database',
    )
    .option('--status-every <duration>', 'log a status line this often', '10s')
    .option(
      '--snapshot <mode>',
      'initial: copy the rows of every table not copied yet (first run, newly published tables); never: stream only (default initial)',
    )
    .option('--snapshot-workers <n>', 'connections reading a snapshot at once (default 2)')
    .option('--snapshot-chunk-rows <n>', 'rows per snapshot chunk, the unit of resuming (default 250000)')
    .option('--snapshot-timeout <duration>', 'statement timeout for reading one chunk (default 10m)')
    .option(
      '--feed <nats-url>',
      'carry the changes over NATS JetStream (nats://host:4222) instead of in process',
    )
    .option(
      '--feed-name <name>',
      "the feed's name on NATS: its stream and subjects (default the slot's name)",
    )
    .option('--lanes <n>', 'lanes of a feed created now, the unit loaders share out (fixed then; default 1)')
    .option(
      '--config <file>',
      'read settings from a YAML or JSON file; flags given here win. Its checks: run on their schedules (see tributary check), its alerts: are judged and posted to their webhook',
    )
    .option(
      '--metrics <dir>',
      'metric definitions (*.yml) to sync into the registry at start and serve to tributary metrics (default ./metrics when it exists)',
    )
    .option(
      '--http <host:port>',
      'serve the HTTP API (status, tables, lag, change feed, checks, metrics, alerts, Prometheus /metrics) and dashboard here (default 127.0.0.1:7878, or a free port when taken); an address other than loopback needs TRIBUTARY_HTTP_TOKEN',
    )
    .option('--no-http', 'serve no HTTP API')
    .option(
      '--lag-sample <duration>',
      'how often the lag history (GET /api/lag) takes a sample, 100ms to 1h (default 5s)',
    )
    .option(
      '--models <dir>',
      "materialise the models of this directory and keep them fresh (default the config file's models.dir, else ./models when it exists)",
    )
    .action(async (given: RunFlags, command: Command) => {
      const flags = withConfigFile(given, command);
      const config = sourceConfig(flags);
      if (flags.feed) checkNatsUrl(flags.feed);
      const lanes = laneCount(flags.lanes);
      if (lanes !== undefined && !flags.feed)
        throw new TributaryError('USAGE', '--lanes is for a feed: add --feed');
      const batch = batchLimits(flags);
      const heartbeatIntervalMs = flags.heartbeat ? parseDuration(flags.heartbeat) : 0;
      const snapshot = snapshotSettings(flags);
      const statusEveryMs = parseDuration(flags.statusEvery);
      const retentionMs = rawRetention(flags);
      const metricSources = metricsAtStart(flags.metrics);
      const models = flags.modelSettings ?? modelsSettings(flags.models, undefined, null);
      const http = httpSetting(flags.http);
      const httpToken = process.env.TRIBUTARY_HTTP_TOKEN || null;
      if (http) checkExposure(http.address, httpToken);
      const sampleEveryMs = lagSampleMs(flags.lagSample);
      const alertsWanted = alertSettings(flags.alerts);
      const onClickHouse = isClickHouseUrl(flags.warehouse);
      if (onClickHouse) refuseOnClickHouse(flags, command, { models, retentionMs });
      await runUntilSignal(async (signal) => {
        const log = createLogger();
        const types = new TypeRegistry();
        const warehouse = onClickHouse
          ? await ClickHouseWarehouse.open(flags.warehouse, {
              typeInfo: (oid) => types.info(oid),
              source: `${describeTarget(config.connection)} slot ${config.slot}`,
            })
          : await openForSlot(flags.warehouse, config, types, flags.raw);
        // the raw zone, models, checks and verify live in DuckDB (refused above for ClickHouse)
        const duck = warehouse instanceof DuckDBWarehouse ? warehouse : null;
        const clickhouse = warehouse instanceof ClickHouseWarehouse ? warehouse.connection.client : null;
        const metricsStore = (): MetricsBackend =>
          duck ? duck.metricsStore() : clickhouseMetricsEngine((warehouse as ClickHouseWarehouse).connection);
        const warehouseName = onClickHouse ? parseClickHouseUrl(flags.warehouse).describe : flags.warehouse;
        let metrics: Metrics | null = null;
        let refresher: ModelRefresher | null = null;
        try {
          if (metricSources)
            metrics = await Metrics.load(metricsStore(), metricSources, { user: currentUser() });
          if (wantsModels(models) && duck)
            refresher = await startModels(
              duck,
              models,
              { tables: config.tables, connection: config.connection },
              log,
            );
        } catch (error) {
          await warehouse.close();
          throw error;
        }
        const stats = new PipelineStats();
        const telemetry = new Telemetry({
          historySize: Math.min(MAX_LAG_SAMPLES, Math.ceil(LAG_HISTORY_MS / sampleEveryMs)),
        });
        const progress = new SnapshotProgressView(log);
        const alerting = new Alerting(alertsWanted, log);
        let source: PostgresSource | null = null;
        let snapshots: SnapshotRunner | null = null;
        let loader: Loader | null = null;
        const status = async () => ({
          ...(await statusReport(
            warehouse,
            stats,
            (await source?.status()) ?? null,
            snapshots?.progress() ?? null,
          )),
          ...(refresher && duck ? { models: await statusOf(refresher.plan, duck, refresher) } : {}),
          ...(alerting.enabled ? { alerts: alerting.report() } : {}),
        });
        const control = await ControlServer.start(flags.warehouse, {
          ...(duck
            ? {
                ...landingHandlers(duck),
                check: checkHandler(duck, flags.checks ?? null),
                metrics: metricsHandler(duck, () => metrics),
                ...(refresher ? { models: modelsHandler(duck, () => refresher) } : {}),
                verify: async (body: Record<string, unknown>) => {
                  if (!loader) throw new TributaryError('USAGE', 'the pipeline is still starting; try again');
                  return verifyWith(loader, duck, config, types, checkVerifyRequest(body), log);
                },
              }
            : {
                metrics: metricsHandler({ metricsStore }, () => metrics),
                query: async (sql: string, asOf?: string) => {
                  if (asOf !== undefined)
                    throw new TributaryError(
                      'USAGE',
                      '--as-of reads the raw zone, which a ClickHouse warehouse does not keep',
                    );
                  return readClickHouseQuery(clickhouse!, sql);
                },
              }),
          status,
          backfill: async (request) => {
            if (!snapshots) throw new TributaryError('USAGE', 'the pipeline is still starting; try again');
            const [table] = parseTableList(request.table);
            if (!table) throw new TributaryError('USAGE', 'name one table to backfill');
            return snapshots.request(table, request.predicate, request.reason);
          },
        });
        let api: HttpApi | null = null;
        const prometheus = new PrometheusExporter({
          telemetry,
          source: async () => (await source?.status()) ?? null,
          checks: () => checkStatus(warehouse),
          jobs: () => jobStatus(warehouse, snapshots?.progress() ?? null),
          alerts: () => alerting.states(),
        });
        try {
          if (http)
            api = await HttpApi.start(
              http.address,
              httpToken,
              {
                metrics: () => metricsOverHttp(metrics),
                status,
                tables: () => tableRows(warehouse),
                checks: () => checkDetails(warehouse),
                backfills: () => jobStatus(warehouse, snapshots?.progress() ?? null),
                sql: (text, maxRows, abort) =>
                  duck
                    ? readOnlyOnOwnConnection(() => duck.connect(), text, {
                        maxRows,
                        timeoutMs: SQL_TIMEOUT_MS,
                        signal: abort,
                      })
                    : readOnlyClickHouse(clickhouse!, text, {
                        maxRows,
                        timeoutMs: SQL_TIMEOUT_MS,
                        signal: abort,
                      }),
                telemetry,
                sampleEveryMs,
                prometheus,
                alerts: () => alerting.report(),
              },
              log,
              { fallback: http.fallback },
            );
        } catch (error) {
          prometheus.close();
          await refresher?.stop();
          await control.close();
          await warehouse.close();
          throw error;
        }
        const stopStatus = logStatusEvery(log, stats, statusEveryMs);
        const stopSampling = sampleEvery(
          telemetry,
          async () => telemetryReading(stats, (await source?.status()) ?? null),
          sampleEveryMs,
          (sample) => alerting.sample(sample),
        );
        const stopPruning = retentionMs === null || !duck ? () => {} : pruneEvery(duck, retentionMs, log);
        const stopChecks = duck
          ? scheduleChecks(duck, flags.checks ?? [], log, (result) => alerting.check(result))
          : async () => {};
        try {
          log.info(
            { target: describeTarget(config.connection), slot: config.slot, warehouse: warehouseName },
            'starting',
          );
          await runPipeline(
            {
              source: { ...config, types, heartbeatIntervalMs },
              warehouse,
              logger: log,
              batch,
              stats,
              snapshot,
              onSnapshots: (r) => {
                snapshots = r;
              },
              onSnapshotProgress: (p) => progress.update(p),
              onSource: (s) => {
                source = s;
              },
              onLoader: (l) => {
                loader = l;
              },
              onApplied: (items, millis) => {
                telemetry.applied(items, millis);
                refresher?.applied(items);
              },
              ...(refresher ? { onSnapshotWrite: () => refresher?.snapshotWrote() } : {}),
              ...(flags.feed
                ? {
                    feed: {
                      url: flags.feed,
                      ...(flags.feedName ? { name: flags.feedName } : {}),
                      ...(lanes === undefined ? {} : { lanes }),
                      member: `${hostname()}:${onClickHouse ? warehouseName : resolve(flags.warehouse)}`,
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
          stopSampling();
          stopPruning();
          await stopChecks();
          await refresher?.stop();
          await api?.close();
          prometheus.close();
          await alerting.close();
          await control.close();
          await warehouse.close();
        }
      });
    });
}

/**
 * What a ClickHouse warehouse does not keep yet: the raw zone (so no retention, history or
 * replay), models, the metrics registry synced at start, data checks. Asked for, they are a
 * usage error (exit 2) rather than silently missing. (`--no-raw` is implied: nothing to turn off.)
 */
function refuseOnClickHouse(
  flags: RunFlags,
  command: Command,
  wanted: { readonly models: ModelsSettings; readonly retentionMs: number | null },
): void {
  const refuse = (what: string, hint: string) => {
    throw new TributaryError('USAGE', `${what} is not available with a ClickHouse warehouse`, { hint });
  };
  if (wanted.retentionMs !== null || command.getOptionValueSource('raw') === 'cli')
    refuse(
      'the raw landing zone (--raw-retention, --raw)',
      'drop the flag: a ClickHouse warehouse keeps the current state only',
    );
  if (wantsModels(wanted.models))
    refuse('models (--models)', 'run the models on a DuckDB warehouse, or drop --models');
  if (flags.checks && flags.checks.length > 0)
    refuse("data checks (the config file's checks:)", 'remove checks: from the config file');
}

/** Settings from `--config`, under the flags the user actually typed. */
function withConfigFile(flags: RunFlags, command: Command): RunFlags {
  if (!flags.config) return flags;
  const file = loadConfigFile(flags.config);
  const pick = flagOrFile(command);
  const tables = Array.isArray(file.tables) ? file.tables.join(',') : file.tables;
  const merged: Record<string, unknown> = {
    ...flags,
    source: pick('source', flags.source, file.source),
    tables: pick('tables', flags.tables, tables),
    slot: pick('slot', flags.slot, file.slot),
    publication: pick('publication', flags.publication, file.publication),
    warehouse: pick('warehouse', flags.warehouse, file.warehouse),
    batchSize: pick(
      'batchSize',
      flags.batchSize,
      file.batch?.size === undefined ? undefined : String(file.batch.size),
    ),
    batchDelay: pick('batchDelay', flags.batchDelay, file.batch?.delay),
    heartbeat: pick('heartbeat', flags.heartbeat, file.heartbeat),
    snapshot: pick('snapshot', flags.snapshot, file.snapshot?.mode),
    snapshotWorkers: pick(
      'snapshotWorkers',
      flags.snapshotWorkers,
      file.snapshot?.workers === undefined ? undefined : String(file.snapshot.workers),
    ),
    snapshotChunkRows: pick(
      'snapshotChunkRows',
      flags.snapshotChunkRows,
      file.snapshot?.chunkRows === undefined ? undefined : String(file.snapshot.chunkRows),
    ),
    snapshotTimeout: pick('snapshotTimeout', flags.snapshotTimeout, file.snapshot?.timeout),
    feed: pick('feed', flags.feed, file.feed?.url),
    feedName: pick('feedName', flags.feedName, file.feed?.name),
    lanes: pick('lanes', flags.lanes, file.feed?.lanes === undefined ? undefined : String(file.feed.lanes)),
    raw: pick('raw', flags.raw, file.raw?.enabled),
    http: pick<string | boolean | undefined>('http', flags.http, file.http),
    rawRetention: pick('rawRetention', flags.rawRetention, file.raw?.retention),
    checks: file.checks,
    alerts: file.alerts,
    metrics: pick(
      'metrics',
      flags.metrics,
      file.metrics ? resolve(dirname(flags.config), file.metrics.dir) : undefined,
    ),
    modelSettings: modelsSettings(flags.models, flags.config, file),
  };
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
  return merged as unknown as RunFlags;
}

function snapshotSettings(flags: RunFlags): Partial<SnapshotSettings> {
  const mode = flags.snapshot;
  if (mode !== undefined && mode !== 'initial' && mode !== 'never') {
    throw new TributaryError('USAGE', `--snapshot is initial or never, not ${JSON.stringify(mode)}`);
  }
  return {
    ...(mode ? { mode } : {}),
    ...(flags.snapshotWorkers ? { workers: snapshotWorkers(flags.snapshotWorkers) } : {}),
    ...(flags.snapshotChunkRows
      ? { chunkRows: positiveInteger(flags.snapshotChunkRows, '--snapshot-chunk-rows') }
      : {}),
    ...(flags.snapshotTimeout ? { statementTimeoutMs: parseDuration(flags.snapshotTimeout) } : {}),
  };
}

/** Each worker is a connection to production holding a snapshot: a handful, never hundreds. */
const MAX_SNAPSHOT_WORKERS = 16;
/** One point of the lag history every 5 s by default, an hour of them kept (at most MAX_LAG_SAMPLES). */
const DEFAULT_LAG_SAMPLE = '5s';
const LAG_HISTORY_MS = 3_600_000;
const MAX_LAG_SAMPLES = 7_200;

function lagSampleMs(text: string | undefined): number {
  const ms = parseDuration(text ?? DEFAULT_LAG_SAMPLE);
  if (ms < 100 || ms > LAG_HISTORY_MS)
    throw new TributaryError('USAGE', `--lag-sample is from 100ms to 1h, not ${JSON.stringify(text)}`, {
      hint: 'such as --lag-sample 5s (the default) or 500ms',
    });
  return ms;
}

/**
 * Where the HTTP API listens: the default address unless told (falling back to a free port when
 * it is taken), the address given (exit 2 when it cannot be bound), or nowhere (--no-http).
 */
function httpSetting(
  given: string | boolean | undefined,
): { readonly address: HttpAddress; readonly fallback: boolean } | null {
  if (given === false) return null;
  if (given === undefined || given === true) return { address: DEFAULT_HTTP_ADDRESS, fallback: true };
  return { address: parseHttpAddress(given), fallback: false };
}

function snapshotWorkers(text: string): number {
  const n = positiveInteger(text, '--snapshot-workers');
  if (n > MAX_SNAPSHOT_WORKERS) {
    throw new TributaryError('USAGE', `--snapshot-workers is at most ${MAX_SNAPSHOT_WORKERS}, not ${n}`, {
      hint: 'each worker is one more connection reading the source; a few keep the warehouse busy',
    });
  }
  return n;
}

/** The metrics layer as the HTTP API serves it (query results as `metrics query --json` prints them). */
function metricsOverHttp(metrics: Metrics | null): HttpMetrics | null {
  if (!metrics) return null;
  return {
    list: () => metrics.list(),
    show: (ref) => metrics.show(ref),
    query: async (body) => resultRecords(await metrics.query(body)),
  };
}
