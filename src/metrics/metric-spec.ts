/**
 * A metric as its YAML file declares it (`metrics/<name>.yml`, one metric per file), validated
 * strictly by zod: a problem is an issue on the key that has it, so the error names that key.
 * The warehouse-side checks (the model exists, the columns exist, the expressions parse) are in
 * validate.ts; the checks across metrics (references, cycles) in catalog.ts.
 *
 * Every metric: name, description (its intent), owner, version (a positive integer, raised on
 * every change, with `change: { by, reason }` saying who and why), type (simple | ratio |
 * cumulative | derived, default simple), grains (allowed), dimensions (allowed), timezone
 * (default UTC), deprecations of older versions. Per type:
 * - simple: model, measure { agg, expr }, filter (a SQL condition), time { column, semantics }, late;
 * - cumulative: as simple, plus cumulative { window: '7 days' } or { to_date: month };
 * - ratio: numerator and denominator, each { metric: name[@v] } or an inline { agg, expr, filter }
 *   over the ratio's own model/time/filter;
 * - derived: inputs [{ metric, as, offset }] and expr over their aliases (derived-expression.ts).
 */
import { z } from 'zod';
import { DURATION_PATTERN } from '../core/duration.js';
import { type Expression, ExpressionError, parseExpression } from './derived-expression.js';
import { GRAINS, grainRank, INTERVAL_PATTERN } from './grains.js';

export const AGGREGATES = ['sum', 'count', 'count_distinct', 'avg', 'min', 'max'] as const;
export type Aggregate = (typeof AGGREGATES)[number];

export const NAME_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;
/** `revenue` or `revenue@2`. */
export const REF_PATTERN = /^([a-z][a-z0-9_]{0,62})(?:@([1-9][0-9]{0,5}))?$/;

/** Columns the output names itself: a dimension cannot take them. */
export const RESERVED_COLUMNS: readonly string[] = ['period', 'value', 'provisional'];

const name = z
  .string()
  .regex(NAME_PATTERN, 'a name of lower-case letters, digits and _ (starting with a letter)');
const ref = z.string().regex(REF_PATTERN, 'a metric name, optionally with @version (revenue, revenue@2)');
const interval = z.string().regex(INTERVAL_PATTERN, 'a calendar interval such as 7 days, 1 month or 1 year');
const duration = z.string().regex(DURATION_PATTERN, 'a duration such as 30m, 6h or 2d');
const text = z.string().trim().min(1);

export const timeZone = z.string().refine((zone) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}, 'a time zone such as UTC or America/Los_Angeles');

const measure = z
  .object({
    agg: z.enum(AGGREGATES),
    /** A SQL expression over the model's columns; for count, optional (counts rows). */
    expr: text.optional(),
  })
  .strict()
  .refine((m) => m.expr !== undefined || m.agg === 'count', {
    message: 'an expr: is required (only count may leave it out, to count rows)',
    path: ['expr'],
  });

const time = z
  .object({
    column: text,
    /** event: when it happened (late rows still arrive: see late:); ingestion: when it reached the warehouse. */
    semantics: z.enum(['event', 'ingestion']),
  })
  .strict();

const dimension = text.refine((d) => !RESERVED_COLUMNS.includes(d), {
  message: `a dimension cannot be named ${RESERVED_COLUMNS.join(', ')} (the output's own columns)`,
});

const common = {
  name,
  description: text,
  owner: text,
  version: z.number().int().positive(),
  timezone: timeZone.default('UTC'),
  grains: z
    .array(z.enum(GRAINS))
    .min(1, 'at least one grain')
    .refine((g) => new Set(g).size === g.length, 'each grain once'),
  dimensions: z
    .array(dimension)
    .default([])
    .refine((d) => new Set(d).size === d.length, 'each dimension once'),
  change: z.object({ by: text.optional(), reason: text.optional() }).strict().optional(),
  deprecations: z
    .array(
      z
        .object({
          version: z.number().int().positive(),
          date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date such as 2027-01-31'),
          /** What a query of that version does once the date has passed. */
          after: z.enum(['warn', 'refuse', 'latest']),
        })
        .strict(),
    )
    .optional(),
};

const source = {
  model: text,
  measure,
  filter: text.optional(),
  time,
  /** Event time: how long after a period ends rows may still arrive for it (its values are provisional). */
  late: duration.optional(),
};

const inlineMeasure = z
  .object({ agg: z.enum(AGGREGATES), expr: text.optional(), filter: text.optional() })
  .strict()
  .refine((m) => m.expr !== undefined || m.agg === 'count', {
    message: 'an expr: is required (only count may leave it out, to count rows)',
    path: ['expr'],
  });

const ratioInput = z.union([z.object({ metric: ref }).strict(), inlineMeasure], {
  error: 'a { metric: name[@version] } or an inline { agg, expr, filter }',
});

const simple = z.object({ ...common, type: z.literal('simple'), ...source }).strict();

const cumulative = z
  .object({
    ...common,
    type: z.literal('cumulative'),
    ...source,
    cumulative: z.union(
      [
        z.object({ window: interval }).strict(),
        z.object({ to_date: z.enum(['week', 'month', 'quarter', 'year']) }).strict(),
      ],
      { error: "{ window: '7 days' } (a trailing window) or { to_date: month | quarter | year | week }" },
    ),
  })
  .strict()
  .superRefine((c, context) => {
    if (!('to_date' in c.cumulative)) return;
    const unit = c.cumulative.to_date;
    for (const [i, grain] of c.grains.entries())
      if (grainRank(grain) > grainRank(unit))
        context.addIssue({
          code: 'custom',
          message: `a ${unit}-to-date value cannot be served per ${grain}: use grains no coarser than ${unit}`,
          path: ['grains', i],
        });
  });

const ratio = z
  .object({
    ...common,
    type: z.literal('ratio'),
    numerator: ratioInput,
    denominator: ratioInput,
    model: text.optional(),
    filter: text.optional(),
    time: time.optional(),
    late: duration.optional(),
  })
  .strict()
  .superRefine((r, context) => {
    const inline = !('metric' in r.numerator) || !('metric' in r.denominator);
    if (inline && (r.model === undefined || r.time === undefined))
      context.addIssue({
        code: 'custom',
        message: 'an inline numerator or denominator reads the ratio’s own model: and time:; give both',
        path: [r.model === undefined ? 'model' : 'time'],
      });
  });

const derived = z
  .object({
    ...common,
    type: z.literal('derived'),
    inputs: z
      .array(z.object({ metric: ref, as: name, offset: interval.optional() }).strict())
      .min(1, 'at least one input')
      .refine((i) => new Set(i.map((x) => x.as)).size === i.length, 'each alias (as:) once'),
    expr: text,
  })
  .strict()
  .superRefine((d, context) => {
    let tree: Expression;
    try {
      tree = parseExpression(d.expr);
    } catch (error) {
      if (!(error instanceof ExpressionError)) throw error;
      context.addIssue({ code: 'custom', message: `not an expression: ${error.message}`, path: ['expr'] });
      return;
    }
    const aliases = new Set(d.inputs.map((i) => i.as));
    for (const used of usedAliases(tree))
      if (!aliases.has(used))
        context.addIssue({
          code: 'custom',
          message: `uses ${used}, which no input declares (as: ${[...aliases].join(', ')})`,
          path: ['expr'],
        });
  });

function usedAliases(e: Expression): string[] {
  if (e.kind === 'alias') return [e.name];
  if (e.kind === 'negate') return usedAliases(e.arg);
  if (e.kind === 'binary') return [...usedAliases(e.left), ...usedAliases(e.right)];
  return [];
}

export const MetricSchema = z.preprocess(
  (raw) =>
    raw && typeof raw === 'object' && !Array.isArray(raw) && !('type' in raw)
      ? { ...raw, type: 'simple' }
      : raw,
  z
    .discriminatedUnion('type', [simple, cumulative, ratio, derived], {
      error: 'a type: simple, ratio, cumulative or derived',
    })
    .superRefine((m, context) => {
      for (const [i, d] of (m.deprecations ?? []).entries()) {
        if (d.version >= m.version)
          context.addIssue({
            code: 'custom',
            message: `only an older version than the current ${m.version} can be deprecated`,
            path: ['deprecations', i, 'version'],
          });
        if (Number.isNaN(Date.parse(`${d.date}T00:00:00Z`)))
          context.addIssue({
            code: 'custom',
            message: 'not a calendar date',
            path: ['deprecations', i, 'date'],
          });
      }
    }),
);

export type MetricSpec = z.infer<typeof MetricSchema>;
export type SimpleSpec = Extract<MetricSpec, { type: 'simple' }>;
export type CumulativeSpec = Extract<MetricSpec, { type: 'cumulative' }>;
export type RatioSpec = Extract<MetricSpec, { type: 'ratio' }>;
export type DerivedSpec = Extract<MetricSpec, { type: 'derived' }>;
export type RatioInput = RatioSpec['numerator'];

/** The definition as versions compare and the registry keeps it: without change: and deprecations:. */
export function definitionOf(spec: MetricSpec): Record<string, unknown> {
  const { change: _change, deprecations: _deprecations, ...definition } = spec;
  return definition;
}

/** The metrics a definition reads (its references, as written). */
export function referencesOf(spec: MetricSpec): string[] {
  if (spec.type === 'ratio')
    return [spec.numerator, spec.denominator].flatMap((i) => ('metric' in i ? [i.metric] : []));
  if (spec.type === 'derived') return spec.inputs.map((i) => i.metric);
  return [];
}

export function splitRef(text: string): { name: string; version: number | null } | null {
  const match = REF_PATTERN.exec(text);
  if (!match) return null;
  return { name: match[1] as string, version: match[2] === undefined ? null : Number(match[2]) };
}
