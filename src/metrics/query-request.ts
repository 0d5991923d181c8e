/**
 * A metric query as a caller sends it (the CLI's flags, the HTTP API's body), checked before
 * anything reaches SQL: the dimensions and the grain must be in the definition's allowed lists
 * (and are then taken from the definition, never from the request), `from`/`to` strictly ISO
 * 8601 local dates or times (read in the query's zone; `from` inclusive, `to` exclusive), the
 * zone one DuckDB knows (checked where the query runs). Every refusal is a USAGE error.
 */
import { z } from 'zod';
import { TributaryError } from '../core/errors.js';
import { type Grain, isGrain } from './grains.js';
import type { MetricSpec } from './metric-spec.js';

export interface MetricQueryRequest {
  /** `revenue` (the newest version) or `revenue@2`. */
  readonly metric: string;
  /** Dimensions to break the metric down by: names from its allowed `dimensions:`. */
  readonly by?: readonly string[] | undefined;
  readonly grain: string;
  /** Local date or time in the query's zone, inclusive: `2026-03-01` or `2026-03-01T06:00`. */
  readonly from: string;
  /** Local date or time, exclusive. */
  readonly to: string;
  /** An IANA zone (default the definition's timezone:). */
  readonly tz?: string | undefined;
}

const RequestSchema = z
  .object({
    metric: z.string().max(80),
    by: z.array(z.string().max(200)).max(16).optional(),
    grain: z.string().max(40),
    from: z.string().max(40),
    to: z.string().max(40),
    tz: z.string().max(80).optional(),
  })
  .strict();

/** The request's shape, or a USAGE error naming the field. */
export function parseRequest(body: unknown): MetricQueryRequest {
  const result = RequestSchema.safeParse(body);
  if (!result.success)
    throw new TributaryError(
      'USAGE',
      `a metric query needs {metric, grain, from, to, by?, tz?}: ${result.error.issues
        .map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
        .join('; ')}`,
    );
  return result.data;
}

/** A caller's text, shortened and quoted, safe to put in a message. */
export function shown(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

export interface CheckedQuery {
  readonly grain: Grain;
  readonly dims: readonly string[];
  readonly from: string;
  readonly to: string;
}

const LOCAL_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?$/;

/** `2026-03-01` or `2026-03-01T06:30[:00]` as DuckDB reads a TIMESTAMP, or a USAGE error. */
export function localTime(text: string, flag: string): string {
  const m = LOCAL_TIME.exec(text);
  if (m) {
    const [y, mo, d, h = '00', mi = '00', s = '00'] = m.slice(1) as [
      string,
      string,
      string,
      string?,
      string?,
      string?,
    ];
    const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)));
    if (
      date.getUTCFullYear() === Number(y) &&
      date.getUTCMonth() === Number(mo) - 1 &&
      date.getUTCDate() === Number(d) &&
      date.getUTCHours() === Number(h) &&
      date.getUTCMinutes() === Number(mi) &&
      date.getUTCSeconds() === Number(s)
    )
      return `${y}-${mo}-${d} ${h}:${mi}:${s}`;
  }
  throw new TributaryError('USAGE', `${flag} ${shown(text)} is not an ISO 8601 date or local time`, {
    hint: `write e.g. 2026-03-01 or 2026-03-01T06:00 (no zone: it is read in --tz)`,
  });
}

/** The request checked against the definition it queries. */
export function checkQuery(request: MetricQueryRequest, spec: MetricSpec): CheckedQuery {
  const grain = request.grain;
  if (!isGrain(grain) || !spec.grains.includes(grain))
    throw new TributaryError('USAGE', `${spec.name} is not served at grain ${shown(grain)}`, {
      hint: `--grain takes one of ${spec.grains.join(', ')}`,
    });
  const dims: string[] = [];
  for (const asked of request.by ?? []) {
    const found = spec.dimensions.find((d) => d === asked);
    if (found === undefined)
      throw new TributaryError('USAGE', `${spec.name} cannot be broken down by ${shown(asked)}`, {
        hint:
          spec.dimensions.length > 0
            ? `--by takes some of ${spec.dimensions.join(', ')}`
            : `${spec.name} has no dimensions: leave out --by`,
      });
    if (!dims.includes(found)) dims.push(found);
  }
  const from = localTime(request.from, '--from');
  const to = localTime(request.to, '--to');
  if (from >= to)
    throw new TributaryError('USAGE', `--from ${request.from} is not before --to ${request.to}`, {
      hint: '--from is inclusive, --to exclusive: --from 2026-03-01 --to 2026-04-01 is March',
    });
  const periods =
    (Date.parse(`${to.replace(' ', 'T')}Z`) - Date.parse(`${from.replace(' ', 'T')}Z`)) / GRAIN_MS[grain];
  if (periods > MAX_PERIODS)
    throw new TributaryError(
      'USAGE',
      `${request.from} to ${request.to} is about ${Math.round(periods)} ${grain}s; at most ${MAX_PERIODS} are served`,
      {
        hint: 'narrow --from/--to, or take a coarser --grain',
      },
    );
  return { grain, dims, from, to };
}

/** The most periods one query returns (per dimension combination). */
export const MAX_PERIODS = 100_000;

/** A period's shortest length, for the estimate above. */
const GRAIN_MS: Readonly<Record<Grain, number>> = {
  hour: 3_600_000,
  day: 82_800_000,
  week: 7 * 82_800_000,
  month: 28 * 82_800_000,
  quarter: 89 * 82_800_000,
  year: 365 * 82_800_000,
};
