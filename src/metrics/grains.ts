/**
 * Grains and calendar intervals, each emitted as a fixed SQL literal chosen from a map: a
 * caller's text never reaches SQL, only the key it was looked up by. Weeks are ISO weeks
 * (starting Monday, DuckDB's `date_trunc('week', …)`).
 */
export const GRAINS = ['hour', 'day', 'week', 'month', 'quarter', 'year'] as const;
export type Grain = (typeof GRAINS)[number];

interface GrainSql {
  /** date_trunc's first argument. */
  readonly trunc: string;
  /** One period, as an INTERVAL. */
  readonly step: string;
  /** strftime format of a period's start (its first day; the hour for hourly periods). */
  readonly format: string;
}

export const GRAIN_SQL: Readonly<Record<Grain, GrainSql>> = {
  hour: { trunc: "'hour'", step: 'INTERVAL 1 HOUR', format: "'%Y-%m-%dT%H:00'" },
  day: { trunc: "'day'", step: 'INTERVAL 1 DAY', format: "'%Y-%m-%d'" },
  week: { trunc: "'week'", step: 'INTERVAL 7 DAY', format: "'%Y-%m-%d'" },
  month: { trunc: "'month'", step: 'INTERVAL 1 MONTH', format: "'%Y-%m-%d'" },
  quarter: { trunc: "'quarter'", step: 'INTERVAL 3 MONTH', format: "'%Y-%m-%d'" },
  year: { trunc: "'year'", step: 'INTERVAL 1 YEAR', format: "'%Y-%m-%d'" },
};

/** Finer grains first: a grain's rank orders it against another. */
export function grainRank(grain: Grain): number {
  return GRAINS.indexOf(grain);
}

export function isGrain(text: unknown): text is Grain {
  return typeof text === 'string' && (GRAINS as readonly string[]).includes(text);
}

/** A calendar interval as a definition writes it: `7 days`, `1 year`, `2 weeks`. */
export interface CalendarInterval {
  readonly count: number;
  readonly unit: Grain;
}

export const INTERVAL_PATTERN = /^([1-9][0-9]{0,3}) ?(hour|day|week|month|quarter|year)s?$/;

export function parseInterval(text: string): CalendarInterval | null {
  const match = INTERVAL_PATTERN.exec(text.trim());
  if (!match) return null;
  return { count: Number(match[1]), unit: match[2] as Grain };
}

/** The interval as SQL: built from a validated integer and a unit chosen from a map. */
export function intervalSql(interval: CalendarInterval): string {
  const n = interval.count;
  if (!Number.isInteger(n) || n < 0) throw new Error(`not a count: ${n}`);
  switch (interval.unit) {
    case 'hour':
      return `INTERVAL ${n} HOUR`;
    case 'day':
      return `INTERVAL ${n} DAY`;
    case 'week':
      return `INTERVAL ${7 * n} DAY`;
    case 'month':
      return `INTERVAL ${n} MONTH`;
    case 'quarter':
      return `INTERVAL ${3 * n} MONTH`;
    case 'year':
      return `INTERVAL ${n} YEAR`;
  }
}

export function describeInterval(interval: CalendarInterval): string {
  return `${interval.count} ${interval.unit}${interval.count === 1 ? '' : 's'}`;
}
