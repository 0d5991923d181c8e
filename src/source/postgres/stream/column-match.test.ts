import { describe, expect, it } from 'vitest';
import { type CatalogColumn, matchColumns } from './column-match.js';

const col = (name: string, attnum: number, dropped = false, generated = false): CatalogColumn => ({
  name,
  attnum,
  dropped,
  generated,
});
const attnums = (m: { columns: Map<string, CatalogColumn> }) =>
  Object.fromEntries([...m.columns].map(([k, v]) => [k, v.attnum]));

describe('matchColumns', () => {
  it('sees a rename made after the message by position', () => {
    const catalog = [col('id', 1), col('a', 2), col('label', 3)];
    expect(attnums(matchColumns(['id', 'a', 'v'], catalog, null))).toEqual({ id: 1, a: 2, v: 3 });
  });

  it('sees a swap made after the message by position, not by the swapped names', () => {
    const catalog = [col('id', 1), col('b', 2), col('a', 3)];
    expect(attnums(matchColumns(['id', 'a', 'b'], catalog, null))).toEqual({ id: 1, a: 2, b: 3 });
  });

  it('ignores columns added after the message', () => {
    const catalog = [col('id', 1), col('x', 2), col('added', 3)];
    expect(attnums(matchColumns(['id', 'v'], catalog, null))).toEqual({ id: 1, v: 2 });
  });

  it('falls back to names when a column may have been dropped after the message', () => {
    const catalog = [col('id', 1), col('........pg.dropped.2........', 2, true), col('b', 3), col('c', 4)];
    expect(attnums(matchColumns(['id', 'a', 'b'], catalog, null))).toEqual({ id: 1, b: 3 });
    // the previous message of the relation had it: still unknown whether it went before this one
    expect(attnums(matchColumns(['id', 'a', 'b'], catalog, new Set([1, 2, 3])))).toEqual({ id: 1, b: 3 });
  });

  it('matches by position past a drop the previous message already lacked', () => {
    const catalog = [
      col('id', 1),
      col('a', 2),
      col('label', 3),
      col('amount', 4),
      col('x', 5, true),
      col('extra', 6),
    ];
    expect(
      attnums(matchColumns(['id', 'a', 'v', 'amount', 'extra'], catalog, new Set([1, 2, 3, 4, 6]))),
    ).toEqual({
      id: 1,
      a: 2,
      v: 3,
      amount: 4,
      extra: 6,
    });
  });

  it('counts generated columns only when the message has them', () => {
    const catalog = [col('id', 1), col('g', 2, false, true), col('v', 3)];
    expect(attnums(matchColumns(['id', 'v'], catalog, null))).toEqual({ id: 1, v: 3 });
    expect(attnums(matchColumns(['id', 'g', 'v'], catalog, null))).toEqual({ id: 1, g: 2, v: 3 });
  });
});
