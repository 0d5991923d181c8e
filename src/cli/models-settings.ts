/**
 * Where a command finds the models: `--models <dir>`, else the config file's `models.dir`
 * (relative to the config file), else `./models`; materialised in the config file's
 * `models.schema`, else `models`. `explicit` says whether the user asked for models (a flag or
 * the config file): then a missing directory is an error; `./models` absent just means none.
 * `startModels` is how `run` (and `load`) keep them: the plan checked against the warehouse
 * and the tables the source will replicate (a `load` without a source cannot know those: a
 * relation not in the warehouse yet is awaited), then a ModelRefresher on a connection of its own.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { TributaryError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { TableRef } from '../core/table-ref.js';
import type { ModelPlan } from '../models/model-graph.js';
import {
  DEFAULT_MODELS_DIR,
  DEFAULT_MODELS_SCHEMA,
  knownRelations,
  loadModelPlan,
} from '../models/model-project.js';
import { ModelRefresher } from '../models/model-refresher.js';
import { modelStatus, readRunFacts } from '../models/model-status.js';
import type { ControlHandlers } from '../server/control-server.js';
import { connectClient } from '../source/postgres/setup/connect.js';
import type { SourceConfig } from '../source/postgres/setup/connection-config.js';
import { listUserTables } from '../source/postgres/setup/tables.js';
import type { DuckDBWarehouse } from '../warehouse/duckdb/duckdb-warehouse.js';
import type { ConfigFile } from './config-file.js';

export interface ModelsSettings {
  readonly dir: string;
  readonly schema: string;
  readonly explicit: boolean;
}

export function modelsSettings(
  flagDir: string | undefined,
  configPath: string | undefined,
  file: ConfigFile | null,
): ModelsSettings {
  const fromFile = file?.models?.dir;
  const dir =
    flagDir ??
    (fromFile !== undefined && configPath ? resolve(dirname(configPath), fromFile) : DEFAULT_MODELS_DIR);
  return {
    dir,
    schema: file?.models?.schema ?? DEFAULT_MODELS_SCHEMA,
    explicit: flagDir !== undefined || file?.models !== undefined,
  };
}

/** Whether there are models to keep: asked for, or a ./models directory present. */
export function wantsModels(settings: ModelsSettings): boolean {
  return settings.explicit || existsSync(settings.dir);
}

/**
 * Checks the models against the warehouse and what the source replicates (`tables`, or every
 * user table of the source when `connection` is given), then starts refreshing them.
 */
export async function startModels(
  warehouse: DuckDBWarehouse,
  settings: ModelsSettings,
  replicated: { readonly tables: readonly TableRef[] | 'all'; readonly connection: SourceConfig } | null,
  log: Logger,
): Promise<ModelRefresher> {
  const tables = replicated ? await sourceTables(replicated) : [];
  const known = await knownRelations((sql) => warehouse.query(sql), settings.schema, tables);
  // without a source to ask (a load without --source), tables may arrive later: models wait for them
  const plan = await loadModelPlan(
    settings.dir,
    settings.schema,
    replicated ? known : { ...known, incomplete: true },
  );
  log.info({ dir: settings.dir, models: plan.models.map((m) => m.name) }, 'models');
  return ModelRefresher.start({ plan, connect: () => warehouse.connect(), log });
}

async function sourceTables(replicated: {
  readonly tables: readonly TableRef[] | 'all';
  readonly connection: SourceConfig;
}): Promise<readonly TableRef[]> {
  if (replicated.tables !== 'all') return replicated.tables;
  const client = await connectClient(replicated.connection, { applicationName: 'tributary models' });
  try {
    return await listUserTables(client);
  } finally {
    await client.end();
  }
}

/** The control endpoint's `models` handler of a process that refreshes them. */
export function modelsHandler(
  warehouse: DuckDBWarehouse,
  refresher: () => ModelRefresher | null,
): NonNullable<ControlHandlers['models']> {
  return async (request) => {
    const models = refresher();
    if (!models) throw new TributaryError('USAGE', 'the models are still starting; try again');
    if (request.action === 'status') return statusOf(models.plan, warehouse, models);
    checkNames(models.plan, request.names);
    return models.refresh(request.names);
  };
}

export async function statusOf(
  plan: ModelPlan,
  warehouse: DuckDBWarehouse,
  refresher: ModelRefresher | null,
): Promise<ReturnType<typeof modelStatus>> {
  const facts = await readRunFacts((sql) => warehouse.query(sql));
  return modelStatus(plan, facts, new Date(), refresher?.currentAsOf());
}

export function checkNames(plan: ModelPlan, names: readonly string[] | null): void {
  if (names === null) return;
  const known = new Set(plan.models.map((m) => m.name));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw new TributaryError('USAGE', `no such model: ${unknown.join(', ')}`, {
      hint: `the models are ${[...known].join(', ') || '(none)'}`,
    });
  }
}
