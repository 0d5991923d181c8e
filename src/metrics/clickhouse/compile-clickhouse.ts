/**
 * Compiles a planned metric query to one ClickHouse statement with the same shape and the same
 * answers as compile.ts gives on DuckDB (its header describes the shape: periods, one scan and
 * one aggregate per leaf, the grid of periods × dimension values, the arithmetic, provisional).
 * The caller's only inputs are the bound parameters `{tz:String}`, `{from:String}`, `{to:String}`
 * (local times, half-open) and `{now:DateTime64(6, 'UTC')}`; dimensions are quoted names from the
 * definition, grains and intervals come from fixed maps (grains.ts, whose INTERVAL literals
 * ClickHouse reads as DuckDB does, end-of-month clamping included).
 *
 * Local time is a "naive" DateTime64(6, 'UTC') holding the wall clock of `tz`: an instant plus
 * its zone offset at that instant (`timeZoneOffset`), so calendar arithmetic (ISO weeks from
 * Monday, months, quarters) runs in UTC exactly as DuckDB's on a TIMESTAMP. A DateTime column
 * without a zone holds a wall clock (a Postgres timestamp) and is read as UTC, as on DuckDB; a
 * Date is a calendar day. A windowed leaf is read from partial aggregates per local day or hour
 * (`partialsSql`). It must run with read-rows.ts's settings (LEFT JOINs give NULL, not 0, for a
 * missing leaf; decimals keep their scale; count(DISTINCT) is exact).
 */
import { quoteName as q } from '../../warehouse/clickhouse/connect.js';
import { GRAIN_SQL, type Grain, intervalSql } from '../grains.js';
import { aggregateSql, type Leaf, type Plan, type ValueNode } from '../plan.js';

const FROM = "toDateTime64({from:String}, 6, 'UTC')";
const TO = "toDateTime64({to:String}, 6, 'UTC')";
const TZ = '{tz:String}';

/** A grain's period start, as a naive DateTime64(6, 'UTC'). */
function trunc(grain: Grain, x: string): string {
  const start: Record<Grain, string> = {
    hour: `toStartOfHour(${x})`,
    day: `toStartOfDay(${x})`,
    week: `toMonday(${x})`,
    month: `toStartOfMonth(${x})`,
    quarter: `toStartOfQuarter(${x})`,
    year: `toStartOfYear(${x})`,
  };
  return `toDateTime64(${start[grain]}, 6, 'UTC')`;
}

/** `x` plus `n` periods of the grain (n an SQL integer expression). */
function addPeriods(grain: Grain, x: string, n: string): string {
  const add: Record<Grain, string> = {
    hour: 'addHours',
    day: 'addDays',
    week: 'addWeeks',
    month: 'addMonths',
    quarter: 'addQuarters',
    year: 'addYears',
  };
  return `${add[grain]}(${x}, ${n})`;
}

export function compileClickHouseQuery(plan: Plan, grain: Grain, dims: readonly string[]): string {
  const g = GRAIN_SQL[grain];
  const d = dims.map((_, i) => `d${i}`);
  const first = trunc(grain, FROM);
  const ctes: string[] = [
    `periods AS (SELECT period FROM (SELECT ${addPeriods(grain, first, 'number')} AS period
       FROM numbers(toUInt64(greatest(dateDiff('${grain}', ${first}, ${TO}) + 2, 0)))) WHERE period < ${TO})`,
  ];
  plan.leaves.forEach((leaf, i) => {
    const rows = scanSql(leaf, grain, dims, d);
    ctes.push(`scan_${i} AS (${leaf.window === null ? rows : partialsSql(leaf, grain, d, rows)})`);
    ctes.push(`leaf_${i} AS (${leafSql(leaf, i, grain, d)})`);
  });
  if (dims.length > 0) {
    const keys = plan.leaves
      .map((_, i) => `SELECT DISTINCT ${d.join(', ')} FROM scan_${i}`)
      .join(' UNION DISTINCT ');
    ctes.push(`keys AS (${keys})`);
    ctes.push(
      `grid AS (SELECT periods.period AS period, ${d.map((c) => `keys.${c} AS ${c}`).join(', ')} FROM periods CROSS JOIN keys)`,
    );
  } else ctes.push('grid AS (SELECT period FROM periods)');
  const joins = plan.leaves
    .map(
      (_, i) =>
        `LEFT JOIN leaf_${i} AS l${i} ON l${i}.period = grid.period${d.map((c) => ` AND isNotDistinctFrom(l${i}.${c}, grid.${c})`).join('')}`,
    )
    .join('\n  ');
  const provisional = plan.leaves.map((leaf) => provisionalSql(leaf, grain)).join(' OR ') || 'false';
  const select = [
    `formatDateTime(grid.period, ${g.format}) AS _o_period`,
    ...d.map((c, i) => `grid.${c} AS _o_${i}`),
    `${valueSql(plan.value, plan.leaves)} AS _o_value`,
    `CAST((${provisional}) AS Bool) AS _o_provisional`,
  ];
  return `WITH ${ctes.join(',\n')}
SELECT ${select.join(', ')}
FROM grid
  ${joins}
ORDER BY grid.period${d.map((c) => `, grid.${c}`).join('')}`;
}

/** An instant's wall clock in `tz`, as a naive DateTime64(6, 'UTC'). */
function inZone(instant: string): string {
  return `(${instant} + toIntervalSecond(timeZoneOffset(toTimeZone(${instant}, ${TZ}))))`;
}

/** The leaf's time column as a local time in `tz` (see the header for each kind). */
function localTime(leaf: Leaf): string {
  const column = q(leaf.timeColumn);
  switch (leaf.timeKind) {
    case 'TIMESTAMPTZ':
      return inZone(`toDateTime64(${column}, 6, 'UTC')`);
    case 'TIMESTAMP':
      // its wall clock (in the column's own zone) taken as UTC, as DuckDB takes a TIMESTAMP
      return inZone(`(toDateTime64(${column}, 6, 'UTC') + toIntervalSecond(timeZoneOffset(${column})))`);
    case 'DATE':
      return `toDateTime64(${column}, 6, 'UTC')`;
  }
}

/** The start of the period a value at `period` reads: shifted back by the offsets, on the grain. */
function shifted(leaf: Leaf, period: string, grain: Grain): string {
  if (leaf.offsets.length === 0) return period;
  return trunc(grain, `${period}${leaf.offsets.map((o) => ` - ${intervalSql(o)}`).join('')}`);
}

/** Where the rows a period reads start, for the period read starting at `start`. */
function windowStart(leaf: Leaf, start: string, grain: Grain): string {
  if (leaf.window === null) return start;
  if ('trailing' in leaf.window)
    return `(${start} + ${GRAIN_SQL[grain].step} - ${intervalSql(leaf.window.trailing)})`;
  return trunc(leaf.window.toDate, start);
}

function scanSql(leaf: Leaf, grain: Grain, dims: readonly string[], d: readonly string[]): string {
  const t = localTime(leaf);
  const read = `(SELECT ${shifted(leaf, 'period', grain)} AS q FROM periods)`;
  const lo = windowStart(leaf, `(SELECT min(q) FROM ${read})`, grain);
  // unshifted, a period ends at `to` (the last may be cut short); shifted, it is read whole
  const hi = leaf.offsets.length === 0 ? TO : `((SELECT max(q) FROM ${read}) + ${GRAIN_SQL[grain].step})`;
  const conditions = [...leaf.filters.map((f) => `(${f})`), `${t} >= ${lo}`, `${t} < ${hi}`];
  const columns = [
    `${t} AS _t`,
    ...dims.map((name, i) => `${q(name)} AS ${d[i]}`),
    `(${leaf.expr ?? '1'}) AS _v`,
  ];
  return `SELECT ${columns.join(', ')} FROM ${leaf.relation} WHERE ${conditions.join('\n AND ')}`;
}

/** ClickHouse's aggregate function for each aggregate (count(DISTINCT) is uniqExact: exact). */
const AGGREGATE_FUNCTION: Readonly<Record<Leaf['agg'], string>> = {
  sum: 'sum',
  count: 'count',
  count_distinct: 'uniqExact',
  avg: 'avg',
  min: 'min',
  max: 'max',
};

/**
 * A windowed leaf's rows folded first into partial aggregates (`-State`) per local day — per
 * local hour when the grain or the window counts hours — and dimension: every period and window
 * boundary is on such a boundary, so merging the partials of a window (`-Merge`) gives exactly
 * the aggregate over its rows, count(DISTINCT) and avg included, while the window join pairs
 * periods with a few thousand partials instead of every row.
 */
function partialsSql(leaf: Leaf, grain: Grain, d: readonly string[], rows: string): string {
  const hourly =
    grain === 'hour' ||
    (leaf.window !== null && 'trailing' in leaf.window && leaf.window.trailing.unit === 'hour');
  const bucket = trunc(hourly ? 'hour' : 'day', '_r._t');
  const fn = AGGREGATE_FUNCTION[leaf.agg];
  return `SELECT _b AS _t, ${d.map((c) => `_p.${c} AS ${c}`).join(', ')}${d.length > 0 ? ', ' : ''}_s AS _v
      FROM (SELECT ${bucket} AS _b, ${d.map((c) => `_r.${c} AS ${c}`).join(', ')}${d.length > 0 ? ', ' : ''}${fn}State(_r._v) AS _s
              FROM (${rows}) AS _r GROUP BY ${['_b', ...d].join(', ')}) AS _p`;
}

function leafSql(leaf: Leaf, i: number, grain: Grain, d: readonly string[]): string {
  const g = GRAIN_SQL[grain];
  const value =
    leaf.window === null ? aggregateSql(leaf.agg, 's._v') : `${AGGREGATE_FUNCTION[leaf.agg]}Merge(s._v)`;
  const on =
    leaf.window === null
      ? `${trunc(grain, 's._t')} = k.q`
      : `s._t >= ${windowStart(leaf, 'k.q', grain)} AND s._t < k.q + ${g.step}`;
  const group = ['k.period', ...d.map((c) => `s.${c}`)];
  return `SELECT ${['k.period AS period', ...d.map((c) => `s.${c} AS ${c}`)].join(', ')}, ${value} AS value
    FROM (SELECT period, ${shifted(leaf, 'period', grain)} AS q FROM periods) AS k
    INNER JOIN scan_${i} AS s ON ${on}
    GROUP BY ${group.join(', ')}`;
}

function valueSql(node: ValueNode, leaves: readonly Leaf[]): string {
  switch (node.kind) {
    case 'leaf': {
      const leaf = leaves[node.index] as Leaf;
      const zero = leaf.agg === 'sum' || leaf.agg === 'count' || leaf.agg === 'count_distinct';
      return zero ? `coalesce(l${node.index}.value, 0)` : `l${node.index}.value`;
    }
    case 'number': {
      const match = /^\d+(?:\.(\d+))?$/.exec(node.text);
      if (!match) throw new Error(`not a number: ${node.text}`);
      // 1.5 is a decimal, as DuckDB reads it (ClickHouse would read a Float64)
      const scale = match[1]?.length ?? 0;
      return scale === 0 || node.text.length > 38 ? node.text : `toDecimal128('${node.text}', ${scale})`;
    }
    case 'negate':
      return `(-${valueSql(node.arg, leaves)})`;
    case 'binary': {
      const left = valueSql(node.left, leaves);
      const right = valueSql(node.right, leaves);
      return node.op === '/'
        ? `(toFloat64(${left}) / nullIf(toFloat64(${right}), 0))`
        : `(${left} ${node.op} ${right})`;
    }
  }
}

/** Whether a period's value may still change: it has not ended, or its rows may still arrive late. */
function provisionalSql(leaf: Leaf, grain: Grain): string {
  const ends = `least(${shifted(leaf, 'grid.period', grain)} + ${GRAIN_SQL[grain].step}, ${TO})`;
  const late = Math.max(0, Math.round(leaf.lateMs));
  return `(${instantOf(ends)} + toIntervalMillisecond(${late}) > {now:DateTime64(6, 'UTC')})`;
}

/**
 * The instant a naive local time stands for in `tz`, resolved as DuckDB (ICU) resolves it: a
 * wall clock the zone skips (spring forward) is read with the offset before the change, one it
 * repeats (fall back) as the later instant. The offsets a day before (o1) and after (o2) give the
 * candidates; the later one (by o2) when it really shows that wall clock, else the former.
 */
function instantOf(naive: string): string {
  const offset = (instant: string) => `timeZoneOffset(toTimeZone(${instant}, ${TZ}))`;
  const o1 = offset(`(${naive} - INTERVAL 1 DAY)`);
  const o2 = offset(`(${naive} + INTERVAL 1 DAY)`);
  const c1 = `(${naive} - toIntervalSecond(${o1}))`;
  const c2 = `(${naive} - toIntervalSecond(${o2}))`;
  return `if(${offset(c2)} = ${o2}, ${c2}, ${c1})`;
}
