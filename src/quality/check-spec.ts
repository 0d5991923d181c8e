/**
 * Data checks as the config file declares them (`checks:`), validated strictly: every check has
 * a unique `name`, a `type`, a `severity` (warn | error, default error: the most a failure of
 * it counts for) and `every` (how often `tributary run` runs it, default 5m), plus the fields of
 * its type. Table names take the `--tables` syntax (an unqualified name is in `public`); a
 * problem is a zod issue on the key that has it, so the config file's error names that key.
 *
 * Types: freshness (end-to-end lag, or with `table:` the age of the table's last change, against
 * `warn:`/`error:` durations), unique, not_null, accepted_values, relationships (orphans older
 * than `grace:`), custom (a SELECT returning the failing rows), volume (changes per hour or day
 * against the same weekday [and hour] of the previous weeks).
 */
import { z } from 'zod';
import { DURATION_PATTERN, parseDuration } from '../core/duration.js';
import { isTributaryError } from '../core/errors.js';
import type { TableRef } from '../core/table-ref.js';
import { parseTableList } from '../source/postgres/setup/tables.js';

export const DEFAULT_EVERY = '5m';

const duration = z.string().regex(DURATION_PATTERN, 'a duration such as 500ms, 30s or 5m');

/** One table, in the `--tables` syntax: an issue on the key when it does not parse or names more. */
const table = z.string({ error: 'a table name such as public.orders' }).superRefine((text, context) => {
  try {
    const tables = parseTableList(text);
    if (tables.length !== 1) context.addIssue({ code: 'custom', message: 'name exactly one table' });
  } catch (error) {
    if (!isTributaryError(error)) throw error;
    context.addIssue({
      code: 'custom',
      message: `not a table name: ${error.message.replace(/^--tables /, '')}`,
    });
  }
});

const column = z.string({ error: 'a column name' }).min(1, 'a column name');
const columns = z.array(column).min(1, 'at least one column');

const base = {
  name: z
    .string()
    .min(1, 'a name')
    .regex(/^[^,\s][^,]*$/, 'a name without commas (--only takes a comma-separated list)'),
  severity: z.enum(['warn', 'error']).default('error'),
  every: duration.default(DEFAULT_EVERY),
};

const timeZone = z.string().refine((zone) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}, 'a time zone such as UTC or Europe/Berlin');

const CheckSchema = z.discriminatedUnion(
  'type',
  [
    z
      .object({
        ...base,
        type: z.literal('freshness'),
        table: table.optional(),
        warn: duration.optional(),
        error: duration.optional(),
      })
      .strict()
      .refine((c) => c.warn !== undefined || c.error !== undefined, {
        message: 'give a warn: or an error: threshold (or both)',
        path: ['warn'],
      }),
    z.object({ ...base, type: z.literal('unique'), table, columns }).strict(),
    z.object({ ...base, type: z.literal('not_null'), table, columns }).strict(),
    z
      .object({
        ...base,
        type: z.literal('accepted_values'),
        table,
        column,
        values: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1, 'at least one value'),
      })
      .strict(),
    z
      .object({
        ...base,
        type: z.literal('relationships'),
        table,
        column: column.optional(),
        columns: columns.optional(),
        to: table,
        field: column.optional(),
        fields: columns.optional(),
        grace: duration.optional(),
      })
      .strict()
      .superRefine((c, context) => {
        const from = c.columns ?? (c.column === undefined ? [] : [c.column]);
        const to = c.fields ?? (c.field === undefined ? [] : [c.field]);
        if ((c.column === undefined) === (c.columns === undefined))
          context.addIssue({ code: 'custom', message: 'give column: or columns:', path: ['column'] });
        else if ((c.field === undefined) === (c.fields === undefined))
          context.addIssue({ code: 'custom', message: 'give field: or fields:', path: ['field'] });
        else if (from.length !== to.length)
          context.addIssue({
            code: 'custom',
            message: `${from.length} column(s) refer to ${to.length} field(s)`,
            path: ['fields'],
          });
      }),
    z.object({ ...base, type: z.literal('custom'), sql: z.string().min(1, 'a SELECT') }).strict(),
    z
      .object({
        ...base,
        type: z.literal('volume'),
        table: table.optional(),
        grain: z.enum(['hour', 'day']).default('day'),
        weeks: z.number().int().min(1).max(52).default(4),
        drop: z.number().gt(0).lt(1).optional(),
        spike: z.number().gt(1).optional(),
        floor: z.number().int().min(0).default(10),
        buckets: z.number().int().min(1).max(1000).default(1),
        timezone: timeZone.default('UTC'),
      })
      .strict()
      .refine((c) => c.drop !== undefined || c.spike !== undefined, {
        message: 'give drop: (e.g. 0.5) or spike: (e.g. 3), or both',
        path: ['drop'],
      }),
  ],
  { error: () => 'a type: freshness, unique, not_null, accepted_values, relationships, custom or volume' },
);

export const ChecksSchema = z.array(CheckSchema).superRefine((checks, context) => {
  const seen = new Set<string>();
  for (const [i, check] of checks.entries()) {
    if (seen.has(check.name))
      context.addIssue({ code: 'custom', message: `a second check named ${check.name}`, path: [i, 'name'] });
    seen.add(check.name);
  }
});

/** A check as declared (durations still as written). */
export type CheckSpec = z.infer<typeof CheckSchema>;
export type CheckType = CheckSpec['type'];

/** The one table a spec's table field names (already validated). */
export function tableOf(text: string): TableRef {
  return parseTableList(text)[0] as TableRef;
}

export function everyMs(check: CheckSpec): number {
  return parseDuration(check.every);
}

/** Parses checks from anything (the control endpoint's body): the problems, joined, or the checks. */
export function parseChecks(raw: unknown): { checks: CheckSpec[] } | { problems: string[] } {
  const result = ChecksSchema.safeParse(raw);
  if (result.success) return { checks: result.data };
  return {
    problems: result.error.issues.map((issue) => `checks.${issue.path.join('.')}: ${issue.message}`),
  };
}
