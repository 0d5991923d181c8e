/**
 * The freshness check. Without `table:`, the end-to-end lag: now minus the commit time of the
 * newest transaction the warehouse applied (kept with the checkpoint, and with each lane's;
 * a file from before that was kept falls back to the checkpoint's `updated_at`, the time it was
 * applied). With `table:`, the age of the table's last change: the newest commit time in its
 * raw table, or, without a raw zone, the newest `_tributary_synced_at` of its rows. A quiet
 * source ages too: set the thresholds to what the source's traffic makes normal.
 *
 * The level is `fail` at or over `error:`, `warn` at or over `warn:`; a threshold not given
 * never applies.
 */

import { parseDuration } from '../core/duration.js';
import { displayName } from '../core/table-ref.js';
import type { CheckReader } from './check-reader.js';
import type { Outcome } from './check-result.js';
import { type CheckSpec, tableOf } from './check-spec.js';

type FreshnessSpec = Extract<CheckSpec, { type: 'freshness' }>;

export async function freshness(reader: CheckReader, spec: FreshnessSpec, now: Date): Promise<Outcome> {
  const last = spec.table === undefined ? await lastApplied(reader) : await lastChange(reader, spec.table);
  const what =
    spec.table === undefined ? 'end-to-end lag' : `last change to ${displayName(tableOf(spec.table))}`;
  if (last.time === null) {
    return judge(spec, Number.POSITIVE_INFINITY, {
      observed: { ageSeconds: null, lastCommitTime: null, from: last.from },
      message: `${what}: nothing applied yet`,
    });
  }
  const ageSeconds = Math.max(0, (now.getTime() - last.time.getTime()) / 1000);
  return judge(spec, ageSeconds, {
    observed: { ageSeconds, lastCommitTime: last.time.toISOString(), from: last.from },
    message: `${what} ${seconds(ageSeconds)}`,
  });
}

function judge(
  spec: FreshnessSpec,
  ageSeconds: number,
  seen: { observed: Record<string, unknown>; message: string },
): Outcome {
  const error = spec.error === undefined ? null : parseDuration(spec.error) / 1000;
  const warn = spec.warn === undefined ? null : parseDuration(spec.warn) / 1000;
  const limit = (over: number | null) => (over === null ? '' : ` (threshold ${seconds(over)})`);
  if (error !== null && ageSeconds >= error)
    return { level: 'fail', ...seen, message: `${seen.message}${limit(error)}` };
  if (warn !== null && ageSeconds >= warn)
    return { level: 'warn', ...seen, message: `${seen.message}${limit(warn)}` };
  return { level: 'pass', ...seen };
}

function seconds(s: number): string {
  return s >= 120 ? `${Math.round(s / 60)} min` : `${Math.round(s * 10) / 10} s`;
}

async function lastApplied(reader: CheckReader): Promise<{ time: Date | null; from: string }> {
  const parts: string[] = [];
  for (const table of ['checkpoint', 'lanes']) {
    if (!(await reader.exists('_tributary', table))) continue;
    const kept = await reader.hasColumn('_tributary', table, 'commit_time');
    parts.push(
      `SELECT ${kept ? 'commit_time' : 'NULL::TIMESTAMPTZ'} AS c, updated_at AS u FROM _tributary.${table}`,
    );
  }
  if (parts.length === 0) return { time: null, from: 'checkpoint' };
  const [row] = await reader.rows(
    `SELECT epoch_ms(max(c))::BIGINT AS c, epoch_ms(max(u))::BIGINT AS u FROM (${parts.join(' UNION ALL ')})`,
  );
  if (row?.c !== null && row?.c !== undefined)
    return { time: new Date(Number(row.c)), from: 'checkpoint.commit_time' };
  if (row?.u !== null && row?.u !== undefined)
    return { time: new Date(Number(row.u)), from: 'checkpoint.updated_at' };
  return { time: null, from: 'checkpoint' };
}

async function lastChange(reader: CheckReader, name: string): Promise<{ time: Date | null; from: string }> {
  const table = tableOf(name);
  const sql = await reader.table(table);
  const raw = await reader.rawTable(table);
  const [row] = raw
    ? await reader.rows(`SELECT epoch_ms(max(_tributary_commit_time))::BIGINT AS t FROM ${raw}`)
    : await reader.rows(`SELECT epoch_ms(max(_tributary_synced_at))::BIGINT AS t FROM ${sql}`);
  const t = row?.t;
  return {
    time: t === null || t === undefined ? null : new Date(Number(t)),
    from: raw ? 'raw zone commit time' : '_tributary_synced_at',
  };
}
