/**
 * `tributary models list | status | run [names...]`: the curated models (src/models/).
 *
 * - `list`: each model's materialisation, refresh, the models and tables it reads, its target.
 * - `status`: each model's actual freshness against its target; exit 1 when a model with a
 *   target is late or never refreshed, or a model's last refresh failed.
 * - `run`: refreshes the named models (all without names) now, in dependency order; exit 1 when
 *   one failed.
 *
 * While `tributary run` holds the warehouse, `status` and `run` go through it (its models, its
 * knowledge of what is fresh); otherwise the file is opened (for writing by `run`). A bad models
 * directory exits 2 naming the file and what to change.
 */
import { Command } from 'commander';
import { TributaryError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import type { ModelPlan } from '../../models/model-graph.js';
import { describeRefresh } from '../../models/model-header.js';
import { knownRelations, loadModelPlan } from '../../models/model-project.js';
import { ModelRefresher } from '../../models/model-refresher.js';
import type { ModelRun } from '../../models/model-runs.js';
import type { ModelStatus } from '../../models/model-status.js';
import { remoteModels, remoteQuery } from '../../server/control-client.js';
import type { DuckDBWarehouse } from '../../warehouse/duckdb/duckdb-warehouse.js';
import { loadConfigFile } from '../config-file.js';
import { checkNames, type ModelsSettings, modelsSettings, statusOf } from '../models-settings.js';
import { writeStdout } from '../output.js';
import { withWarehouse } from '../with-warehouse.js';
import { DEFAULT_WAREHOUSE } from './run.js';

interface ModelsFlags {
  readonly models?: string;
  readonly config?: string;
  readonly warehouse?: string;
  readonly json?: boolean;
}

export function modelsCommand(): Command {
  const models = new Command('models').description(
    'curated models: SQL files materialised as views or tables and kept fresh by tributary run',
  );
  models.addHelpText(
    'after',
    '\nA model is models/<name>.sql: one SELECT over replicated tables and other models, with settings\n' +
      'in its opening comment lines:\n' +
      '  -- materialized: table          view | table (default view)\n' +
      '  -- refresh: microbatch 5m       streaming | microbatch <duration> | nightly <cron> [time zone]\n' +
      '  -- freshness: 10m               the target `models status` reports against\n' +
      '  -- description: ...\n' +
      "They are materialised in the schema models (models.<name>; the config file's models.schema).\n" +
      'Exit codes: 0 ok; 1 a model failed, or one with a target is late or never refreshed (status),\n' +
      'or a refresh failed (run); 2 a bad model file or usage.',
  );
  models.addCommand(
    common(new Command('list'))
      .description('list the models: materialisation, refresh, what each reads, its freshness target')
      .action(async (flags: ModelsFlags) => {
        const { settings, warehouse } = where(flags);
        const plan = await withWarehouse(
          warehouse,
          (running) => planFor(settings, (sql) => remoteQuery(running, sql)),
          (local) => planFor(settings, (sql) => local.query(sql)),
        );
        await writeStdout(flags.json ? `${JSON.stringify(listJson(plan), null, 2)}\n` : describeList(plan));
      }),
  );
  models.addCommand(
    common(new Command('status'))
      .description("each model's actual freshness against its target; exit 1 when one is late or failed")
      .action(async (flags: ModelsFlags) => {
        const { settings, warehouse } = where(flags);
        const statuses = (await withWarehouse(
          warehouse,
          (running) => remoteModels(running, { action: 'status', names: null }),
          async (local) => statusOf(await planFor(settings, (sql) => local.query(sql)), local, null),
        )) as ModelStatus[];
        await writeStdout(
          flags.json ? `${JSON.stringify({ models: statuses }, null, 2)}\n` : describeStatus(statuses),
        );
        const problems = statuses.filter((s) => s.problem);
        if (problems.length > 0) {
          throw new TributaryError(
            'CHECK_FAILED',
            `${problems.length} model(s) not fresh: ${problems.map((p) => `${p.name} (${p.state})`).join(', ')}`,
          );
        }
      }),
  );
  models.addCommand(
    common(new Command('run'))
      .description('refresh the named models (all without names) now, in dependency order')
      .argument('[names...]', 'models to refresh')
      .action(async (names: string[], flags: ModelsFlags) => {
        const { settings, warehouse } = where(flags);
        const wanted = names.length === 0 ? null : names;
        const runs = (await withWarehouse(
          warehouse,
          (running) => remoteModels(running, { action: 'run', names: wanted }),
          (local) => runLocally(settings, local, wanted),
          { write: true },
        )) as ModelRun[];
        await writeStdout(flags.json ? `${JSON.stringify({ runs }, null, 2)}\n` : describeRuns(runs));
        const failed = runs.filter((r) => r.status !== 'ok');
        if (failed.length > 0) {
          throw new TributaryError(
            'CHECK_FAILED',
            `${failed.length} model(s) not refreshed: ${failed.map((r) => `${r.model} (${r.status})`).join(', ')}`,
          );
        }
      }),
  );
  for (const sub of models.commands) sub.exitOverride();
  return models;
}

function common(command: Command): Command {
  return command
    .option('--models <dir>', "the models directory (default the config file's models.dir, else ./models)")
    .option('--config <file>', 'the YAML or JSON config file (its models: and warehouse:)')
    .option(
      '--warehouse <path.duckdb>',
      "the DuckDB warehouse file (default the config file's, else tributary.duckdb)",
    )
    .option('--json', 'print JSON');
}

function where(flags: ModelsFlags): { settings: ModelsSettings; warehouse: string } {
  const file = flags.config ? loadConfigFile(flags.config) : null;
  return {
    settings: modelsSettings(flags.models, flags.config, file),
    warehouse: flags.warehouse ?? file?.warehouse ?? DEFAULT_WAREHOUSE,
  };
}

/** The models of `settings.dir`, checked against the relations the warehouse holds (read through `read`). */
async function planFor(
  settings: ModelsSettings,
  read: Parameters<typeof knownRelations>[0],
): Promise<ModelPlan> {
  return loadModelPlan(settings.dir, settings.schema, await knownRelations(read, settings.schema));
}

async function runLocally(
  settings: ModelsSettings,
  warehouse: DuckDBWarehouse,
  names: readonly string[] | null,
): Promise<ModelRun[]> {
  const plan = await planFor(settings, (sql) => warehouse.query(sql));
  checkNames(plan, names);
  const refresher = await ModelRefresher.start({
    plan,
    connect: () => warehouse.connect(),
    log: createLogger(),
    onDemand: true,
  });
  try {
    return await refresher.refresh(names);
  } finally {
    await refresher.stop();
  }
}

function listJson(plan: ModelPlan): unknown {
  return {
    schema: plan.schema,
    models: plan.models.map((m) => ({
      name: m.name,
      file: m.file,
      materialized: m.header.materialized,
      refresh: describeRefresh(m.header.refresh),
      freshness: m.header.freshness,
      description: m.header.description,
      models: m.models,
      tables: m.relations.map((r) => `${r.schema}.${r.name}`),
    })),
  };
}

function table(rows: string[][]): string[] {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

function describeList(plan: ModelPlan): string {
  if (plan.models.length === 0) return 'no models\n';
  const rows = [['model', 'materialized', 'refresh', 'freshness', 'reads']];
  for (const m of plan.models) {
    const reads = [
      ...m.models.map((d) => `${plan.schema}.${d}`),
      ...m.relations.map((r) => `${r.schema}.${r.name}`),
    ];
    rows.push([
      m.name,
      m.header.materialized,
      describeRefresh(m.header.refresh),
      m.header.freshness ?? '-',
      reads.join(', ') || '-',
    ]);
  }
  return `${table(rows).join('\n')}\n`;
}

function describeStatus(statuses: readonly ModelStatus[]): string {
  if (statuses.length === 0) return 'no models\n';
  const rows = [['model', 'state', 'age', 'target', 'data time', 'last refresh']];
  for (const s of statuses) {
    const last = s.lastRun
      ? `${s.lastRun.status} ${s.lastRun.finishedAt}${s.lastRun.error ? ` — ${s.lastRun.error}` : ''}`
      : '-';
    rows.push([
      s.name,
      s.state.toUpperCase(),
      s.ageSeconds === null ? '-' : `${s.ageSeconds} s`,
      s.target ?? '-',
      s.dataTime ?? '-',
      last,
    ]);
  }
  return `${table(rows).join('\n')}\n`;
}

function describeRuns(runs: readonly ModelRun[]): string {
  const rows = runs.map((r) => [
    r.model,
    r.status,
    r.rows === null ? '' : `${r.rows} rows`,
    `${new Date(r.finishedAt).getTime() - new Date(r.startedAt).getTime()} ms`,
    r.error ?? '',
  ]);
  return rows.length === 0 ? 'no models refreshed\n' : `${table(rows).join('\n')}\n`;
}
