/**
 * The oracle the metric tests compare against: JavaScript arithmetic over the generated rows,
 * written without the compiler's SQL. Local times are "naive" milliseconds (the wall clock of
 * the zone, encoded as if it were UTC), taken from Intl for each instant; periods, windows and
 * offsets are calendar arithmetic on them.
 */
import type { Grain } from '../../src/metrics/grains.js';

export type Naive = number;

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall clock of `zone` at `instant`, as naive ms. */
export function localOf(instant: Date, zone: string): Naive {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(instant).map((p) => [p.type, p.value]));
  return (
    Date.UTC(
      Number(parts.year),
      Number(parts.month) - 1,
      Number(parts.day),
      Number(parts.hour),
      Number(parts.minute),
      Number(parts.second),
    ) +
    (instant.getTime() % 1000)
  );
}

/** `2026-03-01` or `2026-03-01T06:00` as naive ms. */
export function naive(text: string): Naive {
  return Date.parse(`${text.length === 10 ? `${text}T00:00` : text}:00Z`);
}

export function trunc(grain: Grain, t: Naive): Naive {
  const d = new Date(t);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  switch (grain) {
    case 'hour':
      return Date.UTC(y, m, d.getUTCDate(), d.getUTCHours());
    case 'day':
      return Date.UTC(y, m, d.getUTCDate());
    case 'week': {
      const day = Date.UTC(y, m, d.getUTCDate());
      const sinceMonday = (new Date(day).getUTCDay() + 6) % 7;
      return day - sinceMonday * 86_400_000;
    }
    case 'month':
      return Date.UTC(y, m, 1);
    case 'quarter':
      return Date.UTC(y, m - (m % 3), 1);
    case 'year':
      return Date.UTC(y, 0, 1);
  }
}

/** t + n units; months clamp to the month's last day (Jan 31 + 1 month = Feb 28), as SQL does. */
export function add(t: Naive, n: number, unit: Grain): Naive {
  switch (unit) {
    case 'hour':
      return t + n * 3_600_000;
    case 'day':
      return t + n * 86_400_000;
    case 'week':
      return t + n * 7 * 86_400_000;
    case 'month':
    case 'quarter':
    case 'year': {
      const months = unit === 'month' ? n : unit === 'quarter' ? 3 * n : 12 * n;
      const d = new Date(t);
      const target = d.getUTCMonth() + months;
      const y = d.getUTCFullYear() + Math.floor(target / 12);
      const m = ((target % 12) + 12) % 12;
      const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
      const day = Math.min(d.getUTCDate(), last);
      return Date.UTC(y, m, day) + (t - Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
    }
  }
}

/** The periods of a query: from the one holding `from` while they start before `to`. */
export function periods(grain: Grain, from: Naive, to: Naive): Naive[] {
  const out: Naive[] = [];
  const start = trunc(grain, from);
  for (let i = 0; ; i++) {
    const p = add(start, i, grain);
    if (p >= to) return out;
    out.push(p);
  }
}

/** How the output names a period. */
export function label(grain: Grain, p: Naive): string {
  const iso = new Date(p).toISOString();
  return grain === 'hour' ? `${iso.slice(0, 13)}:00` : iso.slice(0, 10);
}

export type Agg = 'sum' | 'count' | 'count_distinct' | 'avg' | 'min' | 'max';

/** An aggregate over values (null: the row counts but has no value); empty sum/count → 0, else null. */
export function aggregate(agg: Agg, values: readonly number[]): number | null {
  switch (agg) {
    case 'sum':
      return values.reduce((a, b) => a + b, 0);
    case 'count':
      return values.length;
    case 'count_distinct':
      return new Set(values).size;
    case 'avg':
      return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
    case 'min':
      return values.length === 0 ? null : Math.min(...values);
    case 'max':
      return values.length === 0 ? null : Math.max(...values);
  }
}
