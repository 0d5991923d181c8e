import { describe, expect, it } from 'vitest';
import { canonicalJson, diffDefinitions } from './definition-diff.js';

describe('diffDefinitions', () => {
  it('names each changed field by its path, with old and new', () => {
    const before = {
      version: 1,
      filter: 'a',
      measure: { agg: 'sum', expr: 'total' },
      dimensions: ['country'],
    };
    const after = {
      version: 2,
      measure: { agg: 'sum', expr: 'net' },
      dimensions: ['country', 'status'],
      late: '1h',
    };
    expect(diffDefinitions(before, after)).toEqual([
      { path: 'dimensions[1]', old: null, new: 'status' },
      { path: 'filter', old: 'a', new: null },
      { path: 'late', old: null, new: '1h' },
      { path: 'measure.expr', old: 'total', new: 'net' },
      { path: 'version', old: 1, new: 2 },
    ]);
  });

  it('finds nothing between equal definitions, whatever their key order', () => {
    expect(diffDefinitions({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 })).toEqual([]);
    expect(canonicalJson({ b: 1, a: { d: 1, c: 2 } })).toBe(canonicalJson({ a: { c: 2, d: 1 }, b: 1 }));
  });
});
