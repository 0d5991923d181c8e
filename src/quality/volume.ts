/**
 * The volume check: changes per table per hour or day, from the raw zone (one row per change,
 * `_tributary_commit_time`; snapshot rows are not changes), judged against a baseline with
 * weekly seasonality: the median count of the same bucket (same weekday, and hour) in each of
 * the previous `weeks` weeks. Buckets are in `timezone` (default UTC) and judged only once
 * complete: the last `buckets` buckets before the one `now` is in.
 *
 * A bucket is an anomaly when its count is at most `drop` × baseline (a drop) or at least
 * `spike` × baseline (a spike). A bucket whose count and baseline are both under `floor` is not
 * judged (too few changes to say anything), nor is one without a baseline week: weeks before
 * the table's first recorded change (a new table, a pruned raw zone) are left out of it.
 *
 * Weekly arithmetic happens on local wall-clock times, so "the same hour a week ago" stays
 * the same hour across a daylight-saving change.
 */
import { DuckDBTimestampTZValue } from '@duckdb/node-api';
import { TributaryError } from '../core/errors.js';
import { displayName, type TableRef } from '../core/table-ref.js';
import type { CheckReader } from './check-reader.js';
import { type Outcome, SAMPLE_ROWS } from './check-result.js';
import { type CheckSpec, tableOf } from './check-spec.js';

type VolumeSpec = Extract<CheckSpec, { type: 'volume' }>;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

/** One judged bucket. */
export interface VolumeBucket {
  readonly table: string;
  /** Local wall-clock start, ISO 8601 without a zone. */
  readonly bucket: string;
  readonly count: number;
  readonly baseline: number | null;
  /** The counts of the same bucket in the weeks before, newest first (only weeks with data). */
  readonly weeks: readonly number[];
  readonly verdict: 'ok' | 'drop' | 'spike' | 'below floor' | 'no baseline';
}

export async function volume(reader: CheckReader, spec: VolumeSpec, now: Date): Promise<Outcome> {
  const tables = spec.table === undefined ? await reader.rawTables() : [await rawOf(reader, spec.table)];
  const judged: VolumeBucket[] = [];
  for (const t of tables) judged.push(...(await judgeTable(reader, spec, t, now)));
  const anomalies = judged.filter((b) => b.verdict === 'drop' || b.verdict === 'spike');
  const judgedCount = judged.filter((b) => b.verdict !== 'below floor' && b.verdict !== 'no baseline').length;
  return {
    level: anomalies.length > 0 ? 'fail' : 'pass',
    observed: {
      grain: spec.grain,
      timezone: spec.timezone,
      judged: judgedCount,
      anomalies: anomalies.length,
      buckets: judged,
    },
    message:
      anomalies.length === 0
        ? `${judgedCount} completed ${spec.grain}(s) within their weekly baseline`
        : anomalies
            .slice(0, 3)
            .map(
              (a) =>
                `${a.table} ${a.bucket}: ${a.count} changes, a ${a.verdict} from a baseline of ${a.baseline}`,
            )
            .join('; ') + (anomalies.length > 3 ? `; and ${anomalies.length - 3} more` : ''),
    sample: anomalies.slice(0, SAMPLE_ROWS).map((a) => ({ ...a })),
  };
}

async function rawOf(reader: CheckReader, name: string): Promise<{ table: TableRef; sql: string }> {
  const table = tableOf(name);
  const sql = await reader.rawTable(table);
  if (sql === null)
    throw new TributaryError(
      'USAGE',
      `${displayName(table)} has no raw table: volume is counted from the raw zone`,
      {
        hint: 'keep the raw zone on (drop --no-raw), or remove the volume check',
      },
    );
  return { table, sql };
}

async function judgeTable(
  reader: CheckReader,
  spec: VolumeSpec,
  raw: { table: TableRef; sql: string },
  now: Date,
): Promise<VolumeBucket[]> {
  const grainMs = spec.grain === 'hour' ? HOUR : DAY;
  const nowValue = new DuckDBTimestampTZValue(BigInt(now.getTime()) * 1000n);
  // the bucket `now` is in, as a local wall-clock time (read as if UTC for the arithmetic)
  const [current] = await reader.rows(
    `SELECT strftime(date_trunc($1, $2::TIMESTAMPTZ AT TIME ZONE $3), '%Y-%m-%dT%H:%M:%S') AS b`,
    [spec.grain, nowValue, spec.timezone],
  );
  const currentMs = wall(String(current?.b));
  // every change since the oldest baseline bucket, with two days' room for the zone's offset
  const from = new DuckDBTimestampTZValue(
    BigInt(now.getTime() - spec.weeks * WEEK - (spec.buckets + 1) * grainMs - 2 * DAY) * 1000n,
  );
  const rows = await reader.rows(
    `SELECT strftime(date_trunc($1, _tributary_commit_time AT TIME ZONE $2), '%Y-%m-%dT%H:%M:%S') AS b, count(*)::BIGINT AS n
       FROM ${raw.sql}
      WHERE _tributary_op <> 'snapshot' AND _tributary_commit_time >= $3 AND _tributary_commit_time < $4
      GROUP BY 1`,
    [spec.grain, spec.timezone, from, nowValue],
  );
  const counts = new Map(rows.map((r) => [String(r.b), Number(r.n)]));
  const [first] = await reader.rows(
    `SELECT strftime(date_trunc($1, min(_tributary_commit_time) AT TIME ZONE $2), '%Y-%m-%dT%H:%M:%S') AS b
       FROM ${raw.sql} WHERE _tributary_op <> 'snapshot'`,
    [spec.grain, spec.timezone],
  );
  // the first bucket with a change is partial: baseline weeks start after it
  const firstFull = first?.b === null || first?.b === undefined ? null : wall(String(first.b)) + grainMs;
  const out: VolumeBucket[] = [];
  for (let k = spec.buckets; k >= 1; k--) {
    const bucketMs = spec.grain === 'day' ? addDays(currentMs, -k) : currentMs - k * grainMs;
    const count = counts.get(label(bucketMs)) ?? 0;
    const weeks: number[] = [];
    for (let w = 1; w <= spec.weeks; w++) {
      const before = addDays(bucketMs, -7 * w);
      if (firstFull === null || before < firstFull) break;
      weeks.push(counts.get(label(before)) ?? 0);
    }
    const baseline = weeks.length === 0 ? null : median(weeks);
    out.push({
      table: displayName(raw.table),
      bucket: label(bucketMs),
      count,
      baseline,
      weeks,
      verdict: verdict(spec, count, baseline),
    });
  }
  return out;
}

function verdict(spec: VolumeSpec, count: number, baseline: number | null): VolumeBucket['verdict'] {
  if (baseline === null) return 'no baseline';
  if (count < spec.floor && baseline < spec.floor) return 'below floor';
  if (spec.drop !== undefined && count <= baseline * spec.drop) return 'drop';
  if (spec.spike !== undefined && count >= baseline * spec.spike) return 'spike';
  return 'ok';
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** A wall-clock time `YYYY-MM-DDTHH:MM:SS`, as milliseconds if it were UTC. */
function wall(text: string): number {
  return Date.parse(`${text}Z`);
}

function label(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

/** Days added on the wall clock (each exactly 24 h there, whatever the zone's offsets do). */
function addDays(ms: number, days: number): number {
  return ms + days * DAY;
}
