/**
 * What the read-only routes of the HTTP API answer, from the running process (telemetry) and the
 * warehouse (tables, checks, jobs). Each takes the request's query parameters and refuses an
 * unknown, repeated or malformed one with a USAGE error (400) saying what it takes.
 */

import type { Operation } from '../core/change-event.js';
import { TributaryError } from '../core/errors.js';
import { displayName, type TableRef } from '../core/table-ref.js';
import type { JobStatus, TableStatus } from '../pipeline/status-report.js';
import type { ChangeSummary, Telemetry, TelemetrySample } from '../pipeline/telemetry.js';

export interface TableActivity {
  readonly table: string;
  readonly rows: number;
  readonly lastChange: string | null;
  readonly ageSeconds: number | null;
  readonly applied: Readonly<Record<Operation, number>>;
}

/**
 * Each warehouse table's rows and last change, with the changes this process applied to it; the
 * table named as the change feed names it (quoted where needed: `public."Order Items"`).
 */
export function tablesBody(
  tables: readonly (TableStatus & { readonly ref: TableRef })[],
  telemetry: Telemetry,
  nowMs: number,
): { tables: TableActivity[] } {
  const counts = new Map<string, Record<Operation, number>>();
  for (const { table, op, changes } of telemetry.changeCounts()) {
    const applied = counts.get(table) ?? { insert: 0, update: 0, delete: 0, truncate: 0 };
    applied[op] += changes;
    counts.set(table, applied);
  }
  return {
    tables: tables.map((t) => {
      const lastMs = t.lastChange === null ? null : timeMs(t.lastChange);
      const table = displayName(t.ref);
      return {
        table,
        rows: t.rows,
        lastChange: lastMs === null ? null : new Date(lastMs).toISOString(),
        ageSeconds: lastMs === null ? null : Math.max(0, Math.round((nowMs - lastMs) / 100) / 10),
        applied: counts.get(table) ?? { insert: 0, update: 0, delete: 0, truncate: 0 },
      };
    }),
  };
}

/** The lag history, oldest first; `?since=<ISO time>` keeps the samples from then on. */
export function lagBody(
  params: URLSearchParams,
  telemetry: Telemetry,
  sampleEveryMs: number,
): { sampleEveryMs: number; samples: TelemetrySample[] } {
  only(params, ['since'], 'since (an ISO 8601 time)');
  const since = params.get('since');
  if (since === null) return { sampleEveryMs, samples: telemetry.history() };
  const ms = /^\d{4}-\d\d-\d\d(?:T|$)/.test(since) ? Date.parse(since) : Number.NaN;
  if (Number.isNaN(ms))
    throw new TributaryError(
      'USAGE',
      `since must be an ISO 8601 time, not ${JSON.stringify(since.slice(0, 40))}`,
      {
        hint: 'such as since=2026-03-01T10:00:00Z',
      },
    );
  return { sampleEveryMs, samples: telemetry.history(ms) };
}

export const MAX_EVENTS = 500;

/** The last changes applied, oldest first: `?limit=<1..500>` (default 100), `?after=<seq>`. */
export function eventsBody(params: URLSearchParams, telemetry: Telemetry): { events: ChangeSummary[] } {
  only(params, ['limit', 'after'], `limit (1..${MAX_EVENTS}), after (a seq)`);
  const limit = integer(params.get('limit'), 'limit', 1, MAX_EVENTS) ?? 100;
  const after = integer(params.get('after'), 'after', 0, Number.MAX_SAFE_INTEGER) ?? 0;
  return { events: telemetry.recent(limit, after) };
}

export function jobsBody(jobs: readonly JobStatus[]): { jobs: readonly JobStatus[] } {
  return { jobs };
}

/** Refuses parameters other than `names`, and any given twice. */
export function only(params: URLSearchParams, names: readonly string[], takes: string): void {
  for (const name of new Set(params.keys())) {
    if (!names.includes(name))
      throw new TributaryError('USAGE', `unknown query parameter ${JSON.stringify(name.slice(0, 40))}`, {
        hint: names.length === 0 ? 'this route takes no parameters' : `parameters: ${takes}`,
      });
    if (params.getAll(name).length > 1)
      throw new TributaryError('USAGE', `the query parameter ${name} is given more than once`);
  }
}

function integer(text: string | null, name: string, min: number, max: number): number | null {
  if (text === null) return null;
  const n = /^\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new TributaryError(
      'USAGE',
      `${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(text.slice(0, 40))}`,
    );
  return n;
}

/**
 * Milliseconds of a time as the warehouses give it: ISO 8601 in UTC (`2026-03-01T10:00:00.123456Z`,
 * what `status` reads from either warehouse) or DuckDB's TIMESTAMPTZ text
 * (`2026-03-01 10:00:00.123456+00`, `...+05:30`); null when it is neither.
 */
export function timeMs(text: string): number | null {
  const match = /^(\d{4,}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(\.\d+)?(?:(Z)|([+-]\d\d)(?::?(\d\d))?)$/.exec(
    text.trim(),
  );
  if (!match) return null;
  const fraction = (match[3] ?? '').slice(0, 4);
  const zone = match[4] ? 'Z' : `${match[5]}:${match[6] ?? '00'}`;
  const ms = Date.parse(`${match[1]}T${match[2]}${fraction}${zone}`);
  return Number.isNaN(ms) ? null : ms;
}
