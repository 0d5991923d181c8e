import { describe, expect, it } from 'vitest';
import { predicateProblem } from './predicate.js';

describe('predicateProblem', () => {
  it.each([
    'id < 100',
    `"Id" < 10 AND "from" IS NOT NULL`,
    `note = 'it''s; -- not a comment'`,
    `note = E'a\\'b; (' AND x = 1`,
    `note LIKE 'C:\\%'`,
    `body = $$ ; ) -- $$ OR body = $tag$ $$ ; $tag$`,
    `a$b = $1`.replace('$1', '2'),
    `id IN (SELECT id FROM other WHERE (x > 1))`,
    `"we;ird"")" = 1`,
    `coalesce(a, b) - 1 > 0`,
  ])('accepts %s', (text) => {
    expect(predicateProblem(text)).toBeNull();
  });

  it.each([
    ['1=1); DROP TABLE events; --', /closes a parenthesis/],
    ['1=1; DROP TABLE events', /;/],
    ['1=1) UNION (SELECT 1', /closes a parenthesis/],
    ['true -- and the rest', /comment/],
    ['true /* x */', /comment/],
    ['(true', /not closed/],
    [`note = 'open`, /string/],
    [`"open = 1`, /quoted name/],
    [`x = $q$ open`, /dollar-quoted/],
    // an E'' string's \\' is a quote inside it: the ; after the string is outside
    [`x = E'\\'' ; DROP TABLE t; SELECT '`, /;/],
    [`x = 1;`, /;/],
  ])('refuses %s', (text, says) => {
    expect(predicateProblem(text)).toMatch(says);
  });
});
