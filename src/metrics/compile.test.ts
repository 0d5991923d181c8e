import { describe, expect, it } from 'vitest';
import { compileQuery } from './compile.js';
import { GRAINS } from './grains.js';
import type { Leaf, Plan } from './plan.js';

const leaf: Leaf = {
  relation: '"main"."orders"',
  timeColumn: 'ordered_at',
  timeKind: 'TIMESTAMPTZ',
  semantics: 'event',
  agg: 'sum',
  expr: 'total',
  filters: ["status <> 'refunded'"],
  window: null,
  offsets: [],
  lateMs: 3_600_000,
};
const simple: Plan = { leaves: [leaf], value: { kind: 'leaf', index: 0 }, warnings: [] };

describe('compileQuery', () => {
  it('takes nothing from outside but the four bound parameters', () => {
    for (const grain of GRAINS) {
      const { sql } = compileQuery(simple, grain, ['country']);
      expect(new Set(sql.match(/\$[a-z_]+/g))).toEqual(new Set(['$tz', '$from', '$to', '$now']));
      expect(sql).toContain(`date_trunc('${grain}', $from::TIMESTAMP)`);
    }
  });

  it('quotes the dimensions it takes from the definition, and names the output after them', () => {
    const { sql, columns } = compileQuery(simple, 'day', ['country', 'we"ird']);
    expect(sql).toContain('"we""ird" AS d1');
    expect(sql).toContain('grid.d1 AS "we""ird"');
    expect(columns).toEqual(['period', 'country', 'we"ird', 'value', 'provisional']);
  });

  it('converts each kind of time column into the zone', () => {
    const at = (timeKind: Leaf['timeKind']) =>
      compileQuery({ ...simple, leaves: [{ ...leaf, timeKind }] }, 'day', []).sql;
    expect(at('TIMESTAMPTZ')).toContain('timezone($tz, "ordered_at") AS _t');
    expect(at('TIMESTAMP')).toContain(`timezone($tz, timezone('UTC', "ordered_at")) AS _t`);
    expect(at('DATE')).toContain('CAST("ordered_at" AS TIMESTAMP) AS _t');
  });

  it('divides with NULLIF, so a zero divisor gives NULL', () => {
    const ratio: Plan = {
      leaves: [leaf, { ...leaf, agg: 'count', expr: null }],
      value: { kind: 'binary', op: '/', left: { kind: 'leaf', index: 0 }, right: { kind: 'leaf', index: 1 } },
      warnings: [],
    };
    expect(compileQuery(ratio, 'day', []).sql).toContain(
      '(CAST(coalesce(l0.value, 0) AS DOUBLE) / NULLIF(CAST(coalesce(l1.value, 0) AS DOUBLE), 0))',
    );
  });
});
