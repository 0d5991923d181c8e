/**
 * From model files to a plan: each model's references resolved to other models or to relations
 * of the warehouse, the models in dependency order (upstream first, the same order every time), and the
 * current-state tables each model reads through any chain of models. Pure: the caller says
 * which relations exist. Refused (CONFIG, exit 2), naming what to change: a reference to no
 * model and no relation, a cycle (named in full), a model named like a table of `main` (an
 * unqualified name in SQL would mean either), and a models schema that a replicated Postgres
 * schema already uses.
 *
 * Names match as DuckDB matches them: case-insensitively. An unqualified name is a model when
 * one is so named, else a relation of `main` (Postgres's `public`); `<models schema>.x` is a
 * model; `schema.x` a relation of that schema.
 */
import { TributaryError } from '../core/errors.js';
import type { ModelHeader } from './model-header.js';
import type { RelationRef } from './model-refs.js';

/** A relation of the warehouse, by its DuckDB schema (`main` for Postgres's `public`). */
export interface Relation {
  readonly schema: string;
  readonly name: string;
}

export interface ModelSource {
  readonly name: string;
  readonly file: string;
  /** The SQL as written, header included. */
  readonly sql: string;
  readonly header: ModelHeader;
  readonly refs: readonly RelationRef[];
}

export interface Model extends ModelSource {
  /** Models it reads directly, by name. */
  readonly models: readonly string[];
  /** Relations it reads directly. */
  readonly relations: readonly Relation[];
  /** Relations it reads directly or through other models (`schema.name`, lower case). */
  readonly upstream: ReadonlySet<string>;
}

export interface ModelPlan {
  /** The DuckDB schema models are materialised in. */
  readonly schema: string;
  /** Upstream first. */
  readonly models: readonly Model[];
}

export interface KnownRelations {
  /** Every relation of the warehouse outside the models schema (tables and views, Tributary's too). */
  readonly relations: readonly Relation[];
  /** The replicated current-state tables (known so far, or about to be). */
  readonly replicated: readonly Relation[];
  /**
   * Whether the tables to come are unknown (a `tributary load` without a source to ask): then a
   * relation not in the warehouse is taken as one to come, and its models wait for it.
   */
  readonly incomplete?: boolean;
}

export const MODEL_NAME = /^[a-z_][a-z0-9_]*$/;

export function relationKey(r: Relation): string {
  return `${r.schema}.${r.name}`.toLowerCase();
}

export function planModels(
  schema: string,
  sources: readonly ModelSource[],
  known: KnownRelations,
): ModelPlan {
  const lowerSchema = schema.toLowerCase();
  const clash = known.replicated.find((r) => r.schema.toLowerCase() === lowerSchema);
  if (clash) {
    throw new TributaryError(
      'CONFIG',
      `the models schema "${schema}" is also a replicated Postgres schema (it holds ${clash.schema}.${clash.name})`,
      { hint: 'name another schema for the models: models: { schema: ... } in the config file' },
    );
  }
  const byName = new Map(sources.map((s) => [s.name, s]));
  const relations = new Map(known.relations.map((r) => [relationKey(r), r]));
  for (const s of sources) {
    const shadowed = relations.get(`main.${s.name}`);
    if (shadowed) {
      throw new TributaryError(
        'CONFIG',
        `${s.file}: the model "${s.name}" has the name of the table ${shadowed.name} (public.${shadowed.name})`,
        { hint: 'rename the model file: an unqualified name in SQL would mean either' },
      );
    }
  }
  const resolved = new Map<string, { models: string[]; relations: Relation[] }>();
  for (const s of sources) {
    const models: string[] = [];
    const rels: Relation[] = [];
    for (const ref of s.refs) {
      const name = ref.name.toLowerCase();
      const refSchema = ref.schema.toLowerCase();
      const shown = [ref.catalog, ref.schema, ref.name].filter((p) => p !== '').join('.');
      const unknown = (hint: string) =>
        new TributaryError(
          'CONFIG',
          `${s.file}: the model "${s.name}" reads ${shown}, which is no model and no table of the warehouse`,
          { hint },
        );
      if (ref.catalog !== '') throw unknown('name relations without a catalog');
      if ((refSchema === '' || refSchema === lowerSchema) && byName.has(name)) {
        if (!models.includes(name)) models.push(name);
        continue;
      }
      if (refSchema === lowerSchema) throw unknown(`there is no model file ${name}.sql`);
      const relation =
        relations.get(`${refSchema === '' ? 'main' : refSchema}.${name}`) ??
        (known.incomplete ? { schema: ref.schema === '' ? 'main' : ref.schema, name: ref.name } : undefined);
      if (!relation) {
        throw unknown(
          refSchema === 'public'
            ? `Postgres's public schema is main in the warehouse: write ${ref.name} unqualified`
            : 'check the name, that the table is replicated (--tables), or add the model',
        );
      }
      rels.push(relation);
    }
    resolved.set(s.name, { models, relations: rels });
  }
  const order = dependencyOrder(
    sources.map((s) => s.name),
    (name) => resolved.get(name)?.models ?? [],
  );
  const upstream = new Map<string, Set<string>>();
  const planned: Model[] = [];
  for (const name of order) {
    const source = byName.get(name) as ModelSource;
    const direct = resolved.get(name) as { models: string[]; relations: Relation[] };
    const all = new Set(direct.relations.map(relationKey));
    for (const m of direct.models) for (const r of upstream.get(m) ?? []) all.add(r);
    upstream.set(name, all);
    planned.push({ ...source, models: direct.models, relations: direct.relations, upstream: all });
  }
  return { schema, models: planned };
}

/**
 * `names` ordered so that each comes after what `deps` names for it (depth first, taken by name:
 * the same order every time); a cycle is
 * a CONFIG error naming it (`a → b → a`).
 */
export function dependencyOrder(
  names: readonly string[],
  deps: (name: string) => readonly string[],
): string[] {
  const state = new Map<string, 'visiting' | 'done'>();
  const order: string[] = [];
  const path: string[] = [];
  const visit = (name: string): void => {
    const seen = state.get(name);
    if (seen === 'done') return;
    if (seen === 'visiting') {
      const cycle = [...path.slice(path.indexOf(name)), name];
      throw new TributaryError('CONFIG', `the models form a cycle: ${cycle.join(' → ')}`, {
        hint: 'a model cannot read itself, directly or through other models',
      });
    }
    state.set(name, 'visiting');
    path.push(name);
    for (const dep of [...deps(name)].sort()) visit(dep);
    path.pop();
    state.set(name, 'done');
    order.push(name);
  };
  for (const name of [...names].sort()) visit(name);
  return order;
}

/** `names` and every model downstream of them in `plan`. */
export function downstreamOf(plan: ModelPlan, names: Iterable<string>): Set<string> {
  const out = new Set(names);
  for (const m of plan.models) if (m.models.some((d) => out.has(d))) out.add(m.name);
  return out;
}
