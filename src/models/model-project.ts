/**
 * A models directory checked against a warehouse: its files read (model-files.ts), the relations
 * the warehouse holds listed, and the plan made (model-graph.ts). Everything wrong is a CONFIG
 * error (exit 2) that names the file and what to change.
 */
import { TributaryError } from '../core/errors.js';
import type { TableRef } from '../core/table-ref.js';
import { CURRENT_TABLES_SQL, duckSchemaOf } from '../warehouse/duckdb/tables.js';
import type { QueryResult } from '../warehouse/warehouse.js';
import { readModelFiles } from './model-files.js';
import { type KnownRelations, MODEL_NAME, type ModelPlan, planModels, type Relation } from './model-graph.js';

export const DEFAULT_MODELS_DIR = 'models';
export const DEFAULT_MODELS_SCHEMA = 'models';

/** Refuses a models schema that is not a plain name, or one Tributary or DuckDB uses. */
export function checkModelsSchema(schema: string): void {
  if (
    !MODEL_NAME.test(schema) ||
    schema === 'main' ||
    schema.startsWith('_tributary') ||
    ['information_schema', 'pg_catalog', 'temp'].includes(schema)
  ) {
    throw new TributaryError('CONFIG', `"${schema}" cannot be the models schema`, {
      hint: 'name a schema of its own in lower-case letters, digits and _ (the default is models)',
    });
  }
}

/** The relations of the warehouse outside the models schema, and its replicated tables. */
export async function knownRelations(
  read: (sql: string) => Promise<QueryResult>,
  schema: string,
  alsoReplicated: readonly TableRef[] = [],
): Promise<KnownRelations> {
  const all = await read(
    'SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = current_database()',
  );
  const relations: Relation[] = all.rows
    .map((r) => ({ schema: String(r[0]), name: String(r[1]) }))
    .filter((r) => r.schema.toLowerCase() !== schema.toLowerCase());
  const replicated: Relation[] = (await read(CURRENT_TABLES_SQL)).rows.map((r) => ({
    schema: String(r[0]),
    name: String(r[1]),
  }));
  // tables the source will replicate that the warehouse does not hold yet (a first run)
  for (const t of alsoReplicated) {
    const relation = { schema: duckSchemaOf(t), name: t.name };
    replicated.push(relation);
    if (relation.schema.toLowerCase() !== schema.toLowerCase()) relations.push(relation);
  }
  return { relations, replicated };
}

export async function loadModelPlan(dir: string, schema: string, known: KnownRelations): Promise<ModelPlan> {
  checkModelsSchema(schema);
  return planModels(schema, await readModelFiles(dir), known);
}
