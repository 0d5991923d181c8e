/**
 * The every-type rows a DuckDB warehouse takes in their columns' first types: values that do not
 * fit (widened or refused, see type-mapping.ts and widen.ts) are left out and stand-ins added, so
 * each column keeps its type and still has non-NULL rows. Shared by the tests that load the
 * every-type table into DuckDB through the stream and through the snapshot.
 */
import { type Check, type Column, columnsFor } from './every-type.columns.js';

/** The first finite timestamp DuckDB cannot hold (type-mapping.ts). */
export const DUCK_TIMESTAMP_LIMIT_YEAR = 294247;

function elementCheck(check: Check): Check {
  return typeof check === 'object' ? elementCheck(check.array) : check;
}

/** Why this input value does not fit the column's first DuckDB type; null when it does. */
export function documentedRefusal(column: Column, value: string): string | null {
  if (typeof column.check === 'object' && /\{\s*\{|\]\[/.test(value)) return 'multi-dimensional array';
  if (/^numeric\(/.test(column.type) && /nan/i.test(value)) return 'NaN in numeric(p,s)';
  if (elementCheck(column.check) === 'timestamp') {
    const dates = [...value.matchAll(/(?<![\d.])(\d+)-\d\d-\d\d([^",}]*)/g)];
    if (dates.some((m) => Number(m[1]) >= DUCK_TIMESTAMP_LIMIT_YEAR && !m[2]?.includes('BC'))) {
      return 'timestamp beyond DuckDB range';
    }
  }
  return null;
}

/** A 1-D array with a lower bound other than 1 (`[0:1]={1,2}`): it widens its column to JSON. */
export function lowerBoundBug(column: Column, value: string): boolean {
  return typeof column.check === 'object' && /^\[-?\d+:-?\d+\]=/.test(value);
}

/** Values that replace a column's refused ones, so it still has non-NULL rows to compare. */
const STAND_INS: Readonly<Record<string, readonly string[]>> = {
  a_int_list: ['{"{1,2}","{3}",NULL,"{}"}'],
  a_timestamp: ['{"4713-11-24 00:00:00 BC",infinity,"294247-01-10 04:00:54.775806",NULL}'],
};

export function acceptedColumns(major: number): Column[] {
  return columnsFor(major).map((c) => ({
    ...c,
    values: [
      ...c.values.filter((v) => v === null || !(documentedRefusal(c, v) || lowerBoundBug(c, v))),
      ...(STAND_INS[c.name] ?? []),
    ],
  }));
}
