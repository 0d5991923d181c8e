import { describe, expect, it } from 'vitest';
import { aliasesOf, ExpressionError, parseExpression } from './derived-expression.js';

/** The tree written back with every operation in parentheses: precedence made visible. */
function show(text: string): string {
  const walk = (e: ReturnType<typeof parseExpression>): string =>
    e.kind === 'number'
      ? e.text
      : e.kind === 'alias'
        ? e.name
        : e.kind === 'negate'
          ? `(-${walk(e.arg)})`
          : `(${walk(e.left)} ${e.op} ${walk(e.right)})`;
  return walk(parseExpression(text));
}

describe('parseExpression', () => {
  it('binds * and / tighter than + and -, left to right', () => {
    expect(show('a + b * c')).toBe('(a + (b * c))');
    expect(show('a - b - c')).toBe('((a - b) - c)');
    expect(show('a / b / 2')).toBe('((a / b) / 2)');
    expect(show('(rev - rev_ly) / rev_ly')).toBe('((rev - rev_ly) / rev_ly)');
    expect(show('-a * 100.5')).toBe('((-a) * 100.5)');
    expect(show('  a*(b+c)  ')).toBe('(a * (b + c))');
  });

  it('lists the aliases used, once each', () => {
    expect(aliasesOf(parseExpression('(rev - rev_ly) / rev_ly'))).toEqual(['rev', 'rev_ly']);
  });

  it.each([
    ['a +', 'the expression ends too early'],
    ['a b', 'unexpected "b" at character 3'],
    ['(a + b', 'the expression ends too early'],
    ['a + b)', 'unexpected ")" at character 6'],
    ['a; DROP TABLE x', 'unexpected ";" at character 2'],
    ['sum(a)', 'unexpected "(" at character 4'],
    ["a || 'x'", 'unexpected "|" at character 3'],
    ['a % b', 'unexpected "%" at character 3'],
    ['1e9', 'unexpected "e9" at character 2'],
    ['', 'the expression ends too early'],
  ])('refuses %j', (text, message) => {
    expect(() => parseExpression(text)).toThrow(ExpressionError);
    expect(() => parseExpression(text)).toThrow(message);
  });
});
