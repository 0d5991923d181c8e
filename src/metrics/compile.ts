/**
 * Compiles a planned metric query to one SQL statement whose only inputs from the caller are
 * the bound parameters `$tz`, `$from`, `$to` (local times in `$tz`, half-open) and `$now`.
 * Dimensions are emitted from the definition (quoted identifiers), grains and intervals from
 * fixed maps (grains.ts); a caller's text is never pasted.
 *
 * The shape: `periods` is every period of the grain from the one holding `$from` up to `$to`
 * (generated, so a period without rows is still there); each leaf scans its relation once, its
 * rows' time converted to the zone, and aggregates them per period over its window — the
 * period itself; a trailing window ending with it; or the period-to-date — at the period
 * shifted back by its offsets. The grid is every period × every dimension combination seen; each
 * leaf is joined onto it (an empty sum or count is 0, an empty avg/min/max NULL) and the plan's
 * arithmetic combines them, a division NULL when its divisor is 0. A period is provisional while
 * it has not ended, or, for event time, until its late-data window has passed.
 */
import { quoteIdentifier as q } from '../core/table-ref.js';
import { GRAIN_SQL, type Grain, intervalSql } from './grains.js';
import { aggregateSql, type Leaf, type Plan, type ValueNode } from './plan.js';

export interface CompiledQuery {
  readonly sql: string;
  /** The output's columns: period, the dimensions, value, provisional. */
  readonly columns: readonly string[];
}

const FROM = '$from::TIMESTAMP';
const TO = '$to::TIMESTAMP';

export interface CompileOptions {
  /**
   * Sum rows per this many µs of UTC before any zone conversion (see `bucketedScanSql`): an
   * hour when the zone is offset by whole hours over the data, else a quarter hour. The caller
   * checks `$to` falls on such a boundary of local time; null: row by row.
   */
  readonly bucketUs?: number | null;
}

export function compileQuery(
  plan: Plan,
  grain: Grain,
  dims: readonly string[],
  options: CompileOptions = {},
): CompiledQuery {
  const g = GRAIN_SQL[grain];
  const d = dims.map((_, i) => `d${i}`);
  const ctes: string[] = [
    `periods AS (SELECT range AS period FROM range(date_trunc(${g.trunc}, ${FROM}), ${TO}, ${g.step}))`,
  ];
  plan.leaves.forEach((leaf, i) => {
    const bucketUs = options.bucketUs ?? null;
    const bucketed = bucketUs !== null && canBucket(leaf);
    ctes.push(
      `scan_${i} AS (${bucketed ? bucketedScanSql(leaf, grain, dims, d, bucketUs) : scanSql(leaf, grain, dims, d)})`,
    );
    ctes.push(`leaf_${i} AS (${leafSql(leaf, i, grain, d, bucketed)})`);
  });
  if (dims.length > 0) {
    const keys = plan.leaves.map((_, i) => `SELECT DISTINCT ${d.join(', ')} FROM scan_${i}`).join(' UNION ');
    ctes.push(`keys AS (${keys})`);
    ctes.push('grid AS (SELECT periods.period, keys.* FROM periods CROSS JOIN keys)');
  } else ctes.push('grid AS (SELECT period FROM periods)');
  const joins = plan.leaves
    .map(
      (_, i) =>
        `LEFT JOIN leaf_${i} l${i} ON l${i}.period = grid.period${d.map((c) => ` AND l${i}.${c} IS NOT DISTINCT FROM grid.${c}`).join('')}`,
    )
    .join('\n  ');
  const provisional = plan.leaves.map((leaf) => provisionalSql(leaf, grain)).join(' OR ') || 'false';
  const select = [
    `strftime(grid.period, ${g.format}) AS period`,
    ...dims.map((name, i) => `grid.${d[i]} AS ${q(name)}`),
    `${valueSql(plan.value, plan.leaves)} AS value`,
    `(${provisional}) AS provisional`,
  ];
  const sql = `WITH ${ctes.join(',\n')}
SELECT ${select.join(', ')}
FROM grid
  ${joins}
ORDER BY grid.period${d.map((c) => `, grid.${c}`).join('')}`;
  return { sql, columns: ['period', ...dims, 'value', 'provisional'] };
}

/** The leaf's time column as a local time in `$tz`. A plain TIMESTAMP is taken as UTC; a DATE is already a calendar day. */
function localTime(leaf: Leaf): string {
  const column = q(leaf.timeColumn);
  switch (leaf.timeKind) {
    case 'TIMESTAMPTZ':
      return `timezone($tz, ${column})`;
    case 'TIMESTAMP':
      return `timezone($tz, timezone('UTC', ${column}))`;
    case 'DATE':
      return `CAST(${column} AS TIMESTAMP)`;
  }
}

/** The start of the period a value at `period` reads: shifted back by the offsets, on the grain. */
function shifted(leaf: Leaf, period: string, grain: Grain): string {
  if (leaf.offsets.length === 0) return period;
  return `date_trunc(${GRAIN_SQL[grain].trunc}, ${period}${leaf.offsets.map((o) => ` - ${intervalSql(o)}`).join('')})`;
}

/** Where the rows a period reads start, for the period read starting at `start`. */
function windowStart(leaf: Leaf, start: string, grain: Grain): string {
  if (leaf.window === null) return start;
  if ('trailing' in leaf.window)
    return `${start} + ${GRAIN_SQL[grain].step} - ${intervalSql(leaf.window.trailing)}`;
  return `date_trunc(${GRAIN_SQL[leaf.window.toDate].trunc}, ${start})`;
}

function scanSql(leaf: Leaf, grain: Grain, dims: readonly string[], d: readonly string[]): string {
  const t = localTime(leaf);
  const read = `(SELECT ${shifted(leaf, 'period', grain)} AS q FROM periods)`;
  const lo = windowStart(leaf, `(SELECT min(q) FROM ${read})`, grain);
  // unshifted, a period ends at $to (the last may be cut short); shifted, it is read whole
  const hi = leaf.offsets.length === 0 ? TO : `(SELECT max(q) FROM ${read}) + ${GRAIN_SQL[grain].step}`;
  const conditions = [...leaf.filters.map((f) => `(${f})`), `${t} >= ${lo}`, `${t} < ${hi}`];
  const columns = [
    `${t} AS _t`,
    ...dims.map((name, i) => `${q(name)} AS ${d[i]}`),
    `(${leaf.expr ?? '1'}) AS _v`,
  ];
  return `SELECT ${columns.join(', ')} FROM ${leaf.relation} WHERE ${conditions.join(' AND ')}`;
}

/** Whether a leaf's rows can be summed per quarter hour first: a decomposable aggregate over an instant. */
function canBucket(leaf: Leaf): boolean {
  return leaf.timeKind !== 'DATE' && ['sum', 'count', 'min', 'max'].includes(leaf.agg);
}

/**
 * The rows read, as `scanSql` reads them, but summed per bucket of UTC (an hour, or a quarter
 * hour) and dimension first, and only each bucket's start converted into the zone. Converting a
 * time into a zone costs more than the rest of the query per row (ICU); this converts a few
 * thousand instants a year instead of every row. Exact: over the data the zone is offset from
 * UTC by whole buckets (the caller checks: whole hours, else quarter hours, which every zone in
 * use is) and changes offset on a bucket boundary, so a bucket of UTC lies in one hour (one
 * period of every grain) of local time; `$to` falls on a bucket boundary (checked too), so the
 * cut is at one. Rows are first narrowed on the column itself, a day wider than the window on
 * each side (zonemaps skip what lies outside); the exact cut is on the buckets' local starts.
 * Only for sum, count, min and max (re-aggregated as sum, sum, min, max); avg, count_distinct and
 * DATE columns read row by row.
 */
function bucketedScanSql(
  leaf: Leaf,
  grain: Grain,
  dims: readonly string[],
  d: readonly string[],
  bucketUs: number,
): string {
  if (!Number.isSafeInteger(bucketUs) || bucketUs <= 0) throw new Error(`not a bucket: ${bucketUs}`);
  const column = q(leaf.timeColumn);
  const read = `(SELECT ${shifted(leaf, 'period', grain)} AS q FROM periods)`;
  const lo = windowStart(leaf, `(SELECT min(q) FROM ${read})`, grain);
  const hi = leaf.offsets.length === 0 ? TO : `(SELECT max(q) FROM ${read}) + ${GRAIN_SQL[grain].step}`;
  // the window's ends as instants, in the column's own type, a day wider
  const instant = (local: string) =>
    leaf.timeKind === 'TIMESTAMPTZ' ? `timezone($tz, ${local})` : `timezone('UTC', timezone($tz, ${local}))`;
  const partial =
    leaf.agg === 'sum' || leaf.agg === 'min' || leaf.agg === 'max'
      ? `${leaf.agg}(${leaf.expr ?? '1'})`
      : `count(${leaf.expr ?? '1'})`;
  const groups = `SELECT epoch_us(${column}) // ${bucketUs} AS _b, ${[
    ...dims.map((name, i) => `${q(name)} AS ${d[i]}`),
    `${partial} AS _v`,
  ].join(', ')}
      FROM ${leaf.relation}
      WHERE ${[
        ...leaf.filters.map((f) => `(${f})`),
        `${column} >= ${instant(lo)} - INTERVAL 1 DAY`,
        `${column} < ${instant(hi)} + INTERVAL 1 DAY`,
      ].join(' AND ')}
      GROUP BY ALL`;
  return `WITH g AS (${groups}),
    starts AS (SELECT _b, timezone($tz, make_timestamptz(_b * ${bucketUs})) AS _t FROM (SELECT DISTINCT _b FROM g))
    SELECT starts._t, ${[...d.map((c) => `g.${c}`), 'g._v'].join(', ')}
      FROM g JOIN starts USING (_b)
     WHERE starts._t >= ${lo} AND starts._t < ${hi}`;
}

/** How a leaf's quarter-hour partials are aggregated again: counts are summed. */
function reaggregateSql(leaf: Leaf, expr: string): string {
  return leaf.agg === 'count' ? `CAST(sum(${expr}) AS BIGINT)` : aggregateSql(leaf.agg, expr);
}

function leafSql(leaf: Leaf, i: number, grain: Grain, d: readonly string[], bucketed: boolean): string {
  const g = GRAIN_SQL[grain];
  const on =
    leaf.window === null
      ? `date_trunc(${g.trunc}, s._t) = k.q`
      : `s._t >= ${windowStart(leaf, 'k.q', grain)} AND s._t < k.q + ${g.step}`;
  const group = ['k.period', ...d.map((c) => `s.${c}`)];
  const value = bucketed ? reaggregateSql(leaf, 's._v') : aggregateSql(leaf.agg, 's._v');
  return `SELECT ${group.join(', ')}, ${value} AS value
    FROM (SELECT period, ${shifted(leaf, 'period', grain)} AS q FROM periods) k JOIN scan_${i} s ON ${on}
    GROUP BY ${group.join(', ')}`;
}

function valueSql(node: ValueNode, leaves: readonly Leaf[]): string {
  switch (node.kind) {
    case 'leaf': {
      const leaf = leaves[node.index] as Leaf;
      const empty =
        leaf.agg === 'sum' || leaf.agg === 'count' || leaf.agg === 'count_distinct' ? '0' : 'NULL';
      return empty === '0' ? `coalesce(l${node.index}.value, 0)` : `l${node.index}.value`;
    }
    case 'number':
      if (!/^\d+(\.\d+)?$/.test(node.text)) throw new Error(`not a number: ${node.text}`);
      return node.text;
    case 'negate':
      return `(-${valueSql(node.arg, leaves)})`;
    case 'binary': {
      const left = valueSql(node.left, leaves);
      const right = valueSql(node.right, leaves);
      return node.op === '/'
        ? `(CAST(${left} AS DOUBLE) / NULLIF(CAST(${right} AS DOUBLE), 0))`
        : `(${left} ${node.op} ${right})`;
    }
  }
}

/** Whether a period's value may still change: it has not ended, or its rows may still arrive late. */
function provisionalSql(leaf: Leaf, grain: Grain): string {
  const ends = `least(${shifted(leaf, 'grid.period', grain)} + ${GRAIN_SQL[grain].step}, ${TO})`;
  const late = Math.max(0, Math.round(leaf.lateMs));
  return `timezone($tz, ${ends}) + to_milliseconds(${late}) > $now::TIMESTAMPTZ`;
}
