/**
 * The expression of a derived metric (`(rev - rev_ly) / rev_ly`), parsed by a tiny grammar of
 * its own rather than handed to SQL: input aliases, numbers, + - * /, unary minus and
 * parentheses. Anything else is refused with the character where it went wrong.
 *
 *   sum    := product (('+' | '-') product)*
 *   product:= unary (('*' | '/') unary)*
 *   unary  := '-' unary | atom
 *   atom   := number | alias | '(' sum ')'
 */
export type Expression =
  | { readonly kind: 'number'; readonly text: string }
  | { readonly kind: 'alias'; readonly name: string }
  | { readonly kind: 'negate'; readonly arg: Expression }
  | {
      readonly kind: 'binary';
      readonly op: '+' | '-' | '*' | '/';
      readonly left: Expression;
      readonly right: Expression;
    };

export class ExpressionError extends Error {
  override readonly name = 'ExpressionError';
}

interface Token {
  readonly type: 'number' | 'alias' | 'op' | '(' | ')' | 'end';
  readonly text: string;
  readonly at: number;
}

const TOKEN = /\s*(?:(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|([-+*/])|([()]))/y;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  for (;;) {
    while (at < text.length && /\s/.test(text[at] as string)) at++;
    if (at >= text.length) break;
    TOKEN.lastIndex = at;
    const match = TOKEN.exec(text);
    if (!match) throw new ExpressionError(`unexpected ${JSON.stringify(text[at])} at character ${at + 1}`);
    const start = at + (match[0].length - match[0].trimStart().length);
    if (match[1] !== undefined) tokens.push({ type: 'number', text: match[1], at: start });
    else if (match[2] !== undefined) tokens.push({ type: 'alias', text: match[2], at: start });
    else if (match[3] !== undefined) tokens.push({ type: 'op', text: match[3], at: start });
    else tokens.push({ type: match[4] as '(' | ')', text: match[4] as string, at: start });
    at = TOKEN.lastIndex;
  }
  tokens.push({ type: 'end', text: '', at: text.length });
  return tokens;
}

export function parseExpression(text: string): Expression {
  const tokens = tokenize(text);
  let i = 0;
  const peek = () => tokens[i] as Token;
  const next = () => tokens[i++] as Token;
  const unexpected = (token: Token): never => {
    throw new ExpressionError(
      token.type === 'end'
        ? 'the expression ends too early'
        : `unexpected ${JSON.stringify(token.text)} at character ${token.at + 1}`,
    );
  };
  const sum = (): Expression => {
    let left = product();
    while (peek().type === 'op' && (peek().text === '+' || peek().text === '-')) {
      const op = next().text as '+' | '-';
      left = { kind: 'binary', op, left, right: product() };
    }
    return left;
  };
  const product = (): Expression => {
    let left = unary();
    while (peek().type === 'op' && (peek().text === '*' || peek().text === '/')) {
      const op = next().text as '*' | '/';
      left = { kind: 'binary', op, left, right: unary() };
    }
    return left;
  };
  const unary = (): Expression => {
    if (peek().type === 'op' && peek().text === '-') {
      next();
      return { kind: 'negate', arg: unary() };
    }
    return atom();
  };
  const atom = (): Expression => {
    const token = next();
    if (token.type === 'number') return { kind: 'number', text: token.text };
    if (token.type === 'alias') return { kind: 'alias', name: token.text };
    if (token.type === '(') {
      const inner = sum();
      const close = next();
      if (close.type !== ')') unexpected(close);
      return inner;
    }
    return unexpected(token);
  };
  const tree = sum();
  if (peek().type !== 'end') unexpected(peek());
  return tree;
}

/** The aliases an expression uses, each once. */
export function aliasesOf(expression: Expression): string[] {
  const found = new Set<string>();
  const walk = (e: Expression): void => {
    if (e.kind === 'alias') found.add(e.name);
    else if (e.kind === 'negate') walk(e.arg);
    else if (e.kind === 'binary') {
      walk(e.left);
      walk(e.right);
    }
  };
  walk(expression);
  return [...found];
}
