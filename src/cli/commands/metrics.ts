/**
 * `tributary metrics list|show|log|validate|query`: the metrics layer (src/metrics/) on the
 * command line. The definitions are read from `--metrics <dir>`, else the config file's
 * `metrics: { dir }` (relative to that file), else `./metrics`; they are validated here first
 * (a malformed file exits 2 naming file and key), then synced into the warehouse's registry
 * and served: through the running `tributary run` that holds the warehouse (its control
 * endpoint), otherwise by opening the file for writing (the registry may need a new version).
 * On a ClickHouse warehouse (`--warehouse clickhouse://…` or `chdb:…`) the registry and the
 * queries are ClickHouse's (metrics/clickhouse/), reached directly (a server admits many
 * clients) — for `chdb:`, whose directory one process holds, through the running `tributary run`.
 */
import { Command } from 'commander';
import { TributaryError } from '../../core/errors.js';
import { clickhouseMetricsEngine } from '../../metrics/clickhouse/clickhouse-engine.js';
import type { FieldChange } from '../../metrics/definition-diff.js';
import { parseMetricFiles, readMetricDir } from '../../metrics/metric-files.js';
import {
  type MetricDescription,
  type MetricQueryResult,
  Metrics,
  resultRecords,
} from '../../metrics/metrics.js';
import { type MetricsOperation, runMetricsOperation } from '../../metrics/metrics-request.js';
import type { RegisteredVersion } from '../../metrics/registry.js';
import { findRunning, remoteMetrics } from '../../server/control-client.js';
import { isClickHouseUrl, parseClickHouseUrl } from '../../warehouse/clickhouse/connect.js';
import { loadConfigFile } from '../config-file.js';
import { currentUser, DEFAULT_METRICS_DIR, metricsDirOf } from '../metrics-handler.js';
import { writeStdout } from '../output.js';
import { withClickHouse } from '../with-clickhouse.js';
import { withWarehouse } from '../with-warehouse.js';
import { asCsv, asTable } from './query.js';
import { DEFAULT_WAREHOUSE } from './run.js';

interface CommonFlags {
  readonly metrics?: string;
  readonly config?: string;
  readonly warehouse?: string;
  readonly json?: boolean;
}

interface QueryFlags extends CommonFlags {
  readonly by?: string;
  readonly grain: string;
  readonly from: string;
  readonly to: string;
  readonly tz?: string;
  readonly csv?: boolean;
}

function common(command: Command): Command {
  return command
    .option(
      '--metrics <dir>',
      `the metric definitions (*.yml): default the config file's metrics.dir, else ./${DEFAULT_METRICS_DIR}`,
    )
    .option('--config <file>', 'the YAML or JSON config file (its metrics.dir and warehouse)')
    .option(
      '--warehouse <path.duckdb|url>',
      "the DuckDB warehouse file, or a ClickHouse URL (clickhouse://user@host:8123/db, chdb:///dir?database=db); default the config file's warehouse:, else tributary.duckdb",
    )
    .option('--json', 'print JSON');
}

export function metricsCommand(): Command {
  const root = new Command('metrics')
    .description('the metrics layer: versioned metric definitions (metrics/*.yml), served by name')
    .addHelpText(
      'after',
      '\nDefinitions are synced into the warehouse registry (_tributary.metric_versions) by every metrics\n' +
        'command: a changed definition needs a higher version:, and every version stays queryable as\n' +
        'name@version. Exit codes: 0 success; 1 the warehouse failed to answer; 2 bad usage or a\n' +
        'definition to fix (the message says what).',
    );
  root.addCommand(
    common(new Command('list'))
      .description('the metrics defined, each at its newest version')
      .action(async (flags: CommonFlags) => {
        const list = (await perform(flags, { kind: 'list' })) as ReturnType<Metrics['list']>;
        if (flags.json) return writeStdout(`${JSON.stringify(list, null, 2)}\n`);
        await writeStdout(
          asTable({
            columns: ['metric', 'version', 'type', 'owner', 'description'],
            rows: list.map((m) => [m.name, m.version, m.type, m.owner, m.description]),
          }),
        );
      }),
  );
  root.addCommand(
    common(new Command('show'))
      .description("a metric's definition (name: the newest version; name@2: version 2)")
      .argument('<metric>', 'name or name@version')
      .action(async (ref: string, flags: CommonFlags) => {
        const shown = (await perform(flags, { kind: 'show', ref })) as MetricDescription;
        warn(shown.warnings);
        if (flags.json) return writeStdout(`${JSON.stringify(shown, null, 2)}\n`);
        await writeStdout(
          `${shown.name}@${shown.version}${shown.version === shown.latest ? ' (newest)' : ` (newest: ${shown.latest})`}` +
            `  versions: ${shown.versions.join(', ')}${shown.file ? `  file: ${shown.file}` : ''}\n` +
            `${JSON.stringify(shown.definition, null, 2)}\n`,
        );
      }),
  );
  root.addCommand(
    common(new Command('log'))
      .description("a metric's change log: every version, who registered it, when, why, and what changed")
      .argument('<metric>', 'the metric name')
      .action(async (name: string, flags: CommonFlags) => {
        const log = (await perform(flags, { kind: 'log', name })) as RegisteredVersion[];
        if (flags.json) return writeStdout(`${JSON.stringify(log, null, 2)}\n`);
        await writeStdout(log.map(describeVersion).join('\n'));
      }),
  );
  root.addCommand(
    common(new Command('validate'))
      .description(
        'check every metric against the warehouse (models, columns, expressions); exit 2 on a problem',
      )
      .action(async (flags: CommonFlags) => {
        const { problems } = (await perform(flags, { kind: 'validate' })) as { problems: string[] };
        if (flags.json)
          await writeStdout(`${JSON.stringify({ ok: problems.length === 0, problems }, null, 2)}\n`);
        if (problems.length > 0)
          throw new TributaryError(
            'CONFIG',
            `${problems.length} metric(s) cannot be served:\n  ${problems.join('\n  ')}`,
          );
        if (!flags.json) await writeStdout('every metric is valid\n');
      }),
  );
  root.addCommand(
    common(new Command('query'))
      .description(
        'a metric per period (and per dimension): tributary metrics query net_revenue --by country --grain day --from 2026-03-01 --to 2026-04-01',
      )
      .argument('<metric>', 'name (the newest version) or name@version')
      .option(
        '--by <dims>',
        "dimensions to break it down by (comma-separated, from the metric's dimensions:)",
      )
      .requiredOption(
        '--grain <grain>',
        "hour, day, week (ISO, from Monday), month, quarter or year: one of the metric's grains:",
      )
      .requiredOption(
        '--from <date>',
        'start: a day or local time, inclusive, rounded down to its period (ISO 8601: 2026-03-01 or 2026-03-01T06:00)',
      )
      .requiredOption(
        '--to <date>',
        'end: a day or local time, exclusive (--to 2026-04-01 ends with March 31st)',
      )
      .option(
        '--tz <zone>',
        "the zone periods are counted in (default the metric's timezone:), e.g. America/Los_Angeles",
      )
      .option('--csv', 'print CSV with a header line')
      .addHelpText(
        'after',
        '\nColumns: period (its start, in the zone), the dimensions, value, provisional (true while the period\n' +
          'has not ended or, for event time, its late-data window has not passed). --json prints\n' +
          '{metric, version, grain, timezone, from, to, warnings, rows: [{...}]}. A deprecated version warns on stderr.',
      )
      .action(async (ref: string, flags: QueryFlags) => {
        if (flags.json && flags.csv) throw new TributaryError('USAGE', 'choose one of --json and --csv');
        const by =
          flags.by === undefined
            ? []
            : flags.by
                .split(',')
                .map((d) => d.trim())
                .filter((d) => d.length > 0);
        const request = {
          metric: ref,
          by,
          grain: flags.grain,
          from: flags.from,
          to: flags.to,
          ...(flags.tz === undefined ? {} : { tz: flags.tz }),
        };
        const result = (await perform(flags, { kind: 'query', request })) as MetricQueryResult;
        warn(result.warnings);
        if (flags.json) return writeStdout(`${JSON.stringify(resultRecords(result), null, 2)}\n`);
        const table = { columns: [...result.columns], rows: result.rows.map((r) => [...r]) };
        await writeStdout(flags.csv ? asCsv(table) : asTable(table));
      }),
  );
  return root;
}

/** Reads and validates the files here, then runs the operation where the warehouse is. */
async function perform(flags: CommonFlags, operation: MetricsOperation): Promise<unknown> {
  const file = flags.config ? loadConfigFile(flags.config) : null;
  const dir = metricsDirOf(flags.metrics, flags.config, file) ?? DEFAULT_METRICS_DIR;
  const raw = readMetricDir(dir);
  const sources = parseMetricFiles(raw); // a malformed file stops here, before the warehouse is touched
  const user = currentUser();
  const warehouse = flags.warehouse ?? file?.warehouse ?? DEFAULT_WAREHOUSE;
  if (isClickHouseUrl(warehouse)) {
    // chdb admits one process per directory: while `tributary run` holds it, ask that process
    const running = parseClickHouseUrl(warehouse).kind === 'chdb' ? findRunning(warehouse) : null;
    if (running) return remoteMetrics(running, { files: raw, user, operation });
    return withClickHouse(warehouse, async (connection) =>
      runMetricsOperation(
        await Metrics.load(clickhouseMetricsEngine(connection), sources, { user }),
        operation,
      ),
    );
  }
  return withWarehouse(
    warehouse,
    (running) => remoteMetrics(running, { files: raw, user, operation }),
    async (local) =>
      runMetricsOperation(await Metrics.load(local.metricsStore(), sources, { user }), operation),
    { write: true },
  );
}

function warn(warnings: readonly string[]): void {
  for (const w of warnings) process.stderr.write(`tributary: warning: ${w}\n`);
}

function describeVersion(v: RegisteredVersion): string {
  const head = `${v.name}@${v.version}  ${v.registeredAt}  by ${v.by}${v.reason ? `: ${v.reason}` : ''}`;
  const changes =
    v.changes.length === 0
      ? ['    (first version)']
      : v.changes.map(
          (c: FieldChange) => `    ${c.path}: ${JSON.stringify(c.old)} → ${JSON.stringify(c.new)}`,
        );
  return `${[head, ...changes].join('\n')}\n`;
}
