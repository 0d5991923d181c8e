/**
 * From a metric to what the compiler needs: its leaves (each one aggregate over one relation,
 * with the time window and period offsets it is read at) and the arithmetic over them (a ratio
 * divides two leaves; a derived metric's expression combines its inputs' plans, offsets adding
 * up). Everything a definition names is checked against the warehouse on the way: the model
 * exists, the time column is a time, the dimensions and expressions' columns exist, the
 * expressions are single expressions. Problems are CONFIG errors naming the file and metric.
 */
import { parseDuration } from '../core/duration.js';
import { TributaryError } from '../core/errors.js';
import type { MetricCatalog } from './catalog.js';
import { type Expression, parseExpression } from './derived-expression.js';
import { type CalendarInterval, type Grain, parseInterval } from './grains.js';
import type { Aggregate, MetricSpec } from './metric-spec.js';
import type { DefinitionChecks, Relation } from './metrics-engine.js';
import { unknownModel } from './relation.js';

export interface Leaf {
  /** The relation, quoted. */
  readonly relation: string;
  readonly timeColumn: string;
  readonly timeKind: 'TIMESTAMPTZ' | 'TIMESTAMP' | 'DATE';
  readonly semantics: 'event' | 'ingestion';
  readonly agg: Aggregate;
  /** null: count rows. */
  readonly expr: string | null;
  /** Conditions, ANDed. */
  readonly filters: readonly string[];
  readonly window: null | { readonly trailing: CalendarInterval } | { readonly toDate: Grain };
  /** The value at period p is the leaf's at p − (sum of offsets). */
  readonly offsets: readonly CalendarInterval[];
  /** Event time: how long after a period ends rows may still arrive (0 for ingestion time). */
  readonly lateMs: number;
}

export type ValueNode =
  | { readonly kind: 'leaf'; readonly index: number }
  | { readonly kind: 'number'; readonly text: string }
  | { readonly kind: 'negate'; readonly arg: ValueNode }
  | {
      readonly kind: 'binary';
      readonly op: '+' | '-' | '*' | '/';
      readonly left: ValueNode;
      readonly right: ValueNode;
    };

export interface Plan {
  readonly leaves: readonly Leaf[];
  readonly value: ValueNode;
  readonly warnings: readonly string[];
}

interface Source {
  readonly model: string;
  readonly agg: Aggregate;
  readonly expr: string | null;
  readonly filters: readonly string[];
  readonly time: { readonly column: string; readonly semantics: 'event' | 'ingestion' };
  readonly late: string | undefined;
}

/** Plans `spec` for a query by `dims` (already checked against its allowed list). */
export async function planMetric(
  checks: DefinitionChecks,
  catalog: MetricCatalog,
  spec: MetricSpec,
  dims: readonly string[],
  now: Date,
): Promise<Plan> {
  const leaves: Leaf[] = [];
  const warnings: string[] = [];
  const relations = new Map<string, Relation>();
  const where = (s: MetricSpec) => `${catalog.fileOf(s.name) ?? 'registry'}: metric ${s.name}@${s.version}`;

  const leaf = async (
    owner: MetricSpec,
    source: Source,
    window: Leaf['window'],
    offsets: CalendarInterval[],
  ) => {
    const at = where(owner);
    let relation = relations.get(source.model);
    if (!relation) {
      const found = await checks.findRelation(source.model);
      if (!found) throw unknownModel(source.model, at, checks.modelHint);
      relation = found;
      relations.set(source.model, found);
    }
    const problems: string[] = [];
    const type = relation.columns.get(source.time.column);
    const kind = type === undefined ? null : checks.timeKind(type);
    if (type === undefined)
      problems.push(`time.column: unknown column ${JSON.stringify(source.time.column)} in ${source.model}`);
    else if (kind === null)
      problems.push(`time.column: ${source.time.column} is ${type}, not a timestamp or date`);
    else if (kind === 'DATE' && owner.grains.includes('hour'))
      problems.push(`grains: hour needs a timestamp, but ${source.time.column} is a DATE`);
    for (const dim of new Set([...owner.dimensions, ...dims]))
      if (!relation.columns.has(dim))
        problems.push(`dimensions: unknown column ${JSON.stringify(dim)} in ${source.model}`);
    for (const [key, text] of [
      ['measure.expr', source.expr],
      ...source.filters.map((f) => ['filter', f] as const),
    ] as const) {
      if (text === null) continue;
      const problem = await checks.expressionProblem(text);
      if (problem) problems.push(`${key}: ${problem}: ${text}`);
    }
    if (problems.length === 0) {
      const sql = `SELECT ${aggregateSql(source.agg, source.expr ?? '1')} FROM ${relation.sql}${
        source.filters.length > 0 ? ` WHERE ${source.filters.map((f) => `(${f})`).join(' AND ')}` : ''
      } LIMIT 0`;
      const problem = await checks.prepareProblem(sql);
      if (problem)
        problems.push(
          'unknownColumn' in problem
            ? `measure/filter: unknown column ${JSON.stringify(problem.unknownColumn)} in ${source.model}`
            : `measure/filter: ${problem.message}`,
        );
    }
    if (problems.length > 0)
      throw new TributaryError('CONFIG', `${at}: ${problems.join('; ')}`, {
        hint: `the columns of ${source.model}: ${[...relation.columns.keys()].join(', ')}`,
      });
    leaves.push({
      relation: relation.sql,
      timeColumn: source.time.column,
      timeKind: kind as Leaf['timeKind'],
      semantics: source.time.semantics,
      agg: source.agg,
      expr: source.expr,
      filters: source.filters,
      window,
      offsets,
      lateMs: source.time.semantics === 'event' && source.late ? parseDuration(source.late) : 0,
    });
    return { kind: 'leaf', index: leaves.length - 1 } as const;
  };

  const plan = async (s: MetricSpec, offsets: CalendarInterval[], depth: number): Promise<ValueNode> => {
    if (depth > 32) throw new TributaryError('CONFIG', `${where(s)}: metrics nest more than 32 deep`);
    switch (s.type) {
      case 'simple':
      case 'cumulative': {
        const window =
          s.type === 'simple'
            ? null
            : 'window' in s.cumulative
              ? { trailing: parseInterval(s.cumulative.window) as CalendarInterval }
              : { toDate: s.cumulative.to_date };
        return leaf(
          s,
          {
            model: s.model,
            agg: s.measure.agg,
            expr: s.measure.expr ?? null,
            filters: s.filter ? [s.filter] : [],
            time: s.time,
            late: s.late,
          },
          window,
          offsets,
        );
      }
      case 'ratio': {
        const side = async (input: typeof s.numerator): Promise<ValueNode> => {
          if ('metric' in input) return reference(input.metric, offsets, depth);
          return leaf(
            s,
            {
              model: s.model as string,
              agg: input.agg,
              expr: input.expr ?? null,
              filters: [...(s.filter ? [s.filter] : []), ...(input.filter ? [input.filter] : [])],
              time: s.time as Source['time'],
              late: s.late,
            },
            null,
            offsets,
          );
        };
        return { kind: 'binary', op: '/', left: await side(s.numerator), right: await side(s.denominator) };
      }
      case 'derived': {
        const inputs = new Map<string, ValueNode>();
        for (const input of s.inputs) {
          const shift = input.offset ? [parseInterval(input.offset) as CalendarInterval] : [];
          inputs.set(input.as, await reference(input.metric, [...offsets, ...shift], depth));
        }
        return fromExpression(parseExpression(s.expr), inputs);
      }
    }
  };

  const reference = async (ref: string, offsets: CalendarInterval[], depth: number): Promise<ValueNode> => {
    const input = catalog.resolve(ref, now);
    warnings.push(...input.warnings);
    return plan(input.spec, offsets, depth + 1);
  };

  const value = await plan(spec, [], 0);
  return { leaves, value, warnings };
}

function fromExpression(e: Expression, inputs: ReadonlyMap<string, ValueNode>): ValueNode {
  switch (e.kind) {
    case 'number':
      return e;
    case 'alias':
      return inputs.get(e.name) as ValueNode;
    case 'negate':
      return { kind: 'negate', arg: fromExpression(e.arg, inputs) };
    case 'binary':
      return {
        kind: 'binary',
        op: e.op,
        left: fromExpression(e.left, inputs),
        right: fromExpression(e.right, inputs),
      };
  }
}

export function aggregateSql(agg: Aggregate, expr: string): string {
  switch (agg) {
    case 'count_distinct':
      return `count(DISTINCT ${expr})`;
    default:
      return `${agg}(${expr})`;
  }
}
