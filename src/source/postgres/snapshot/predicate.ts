/**
 * A backfill's `--where` is spliced into the SQL that reads the source, `… WHERE (<predicate>)`,
 * in statements that take no parameters (COPY, EXPLAIN). It must stay one expression inside
 * those parentheses: `1=1); DROP TABLE orders; --` dropped the table when the check ran it.
 *
 * `predicateProblem` reads the text as Postgres's lexer does (with standard_conforming_strings
 * on, which the snapshot sessions set): quoted identifiers, strings ('' doubled; E'' with
 * backslash escapes; dollar-quoted), and refuses a `;`, a comment (it could hide the rest of the
 * statement), and a parenthesis closed before it was opened or left open. What remains is an
 * expression Postgres itself checks (EXPLAIN, with the extended protocol, which takes one
 * statement only) and runs in read-only transactions.
 */

/** Why `text` cannot be a backfill predicate, or null when it can. */
export function predicateProblem(text: string): string | null {
  let depth = 0;
  let i = 0;
  const n = text.length;
  const identifierChar = (c: string | undefined) => c !== undefined && /[A-Za-z0-9_$\u0080-\uffff]/.test(c);
  while (i < n) {
    const c = text[i] as string;
    const next = text[i + 1];
    if (c === '-' && next === '-')
      return 'a comment (--) is not allowed: it could hide the rest of the statement';
    if (c === '/' && next === '*')
      return 'a comment (/* */) is not allowed: it could hide the rest of the statement';
    if (c === ';') return 'a ; is not allowed: the predicate is one condition, not statements';
    if (c === '(') {
      depth++;
      i++;
      continue;
    }
    if (c === ')') {
      if (--depth < 0) return 'a ) closes a parenthesis the predicate did not open';
      i++;
      continue;
    }
    if (c === '"') {
      const end = closing(text, i + 1, '"');
      if (end < 0) return 'a quoted name (") is not closed';
      i = end;
      continue;
    }
    if (c === "'") {
      // E'…' (not the end of a longer name) takes backslash escapes
      const escapes = (text[i - 1] === 'E' || text[i - 1] === 'e') && !identifierChar(text[i - 2]);
      const end = escapes ? closingEscaped(text, i + 1) : closing(text, i + 1, "'");
      if (end < 0) return "a string (') is not closed";
      i = end;
      continue;
    }
    if (c === '$' && !identifierChar(text[i - 1])) {
      const tag = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(text.slice(i));
      if (tag) {
        const end = text.indexOf(tag[0], i + tag[0].length);
        if (end < 0) return `a dollar-quoted string (${tag[0]}) is not closed`;
        i = end + tag[0].length;
        continue;
      }
    }
    i++;
  }
  if (depth > 0) return 'a ( is not closed';
  return null;
}

/** The index after the quote that closes a quoted text starting at `from` (doubled quotes stay inside); -1 if none. */
function closing(text: string, from: number, quote: string): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] !== quote) continue;
    if (text[i + 1] === quote) {
      i++;
      continue;
    }
    return i + 1;
  }
  return -1;
}

/** As `closing`, for an E'' string: a backslash escapes the next character. */
function closingEscaped(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === '\\') {
      i++;
      continue;
    }
    if (text[i] !== "'") continue;
    if (text[i + 1] === "'") {
      i++;
      continue;
    }
    return i + 1;
  }
  return -1;
}
