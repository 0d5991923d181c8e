/**
 * The array text format (array_out) to nested JS arrays: '{1,2,NULL}', '{{1,2},{3,4}}', '{}'.
 * Elements are separated by the element type's delimiter (',' for all but box, which uses ';');
 * an element is double-quoted when it is empty, holds the delimiter, a quote, a backslash, a
 * brace or whitespace, or reads as NULL; inside quotes '\' escapes the next character. Only an
 * unquoted NULL (any case) is null: '"NULL"' is the string 'NULL'. Whitespace around elements is
 * ignored, as array_in does. Each element's text goes through the element decoder.
 *
 * Fidelity: an array whose lower bounds are not all 1 is printed with a dimension decoration,
 * '[0:1]={7,8}'. JS arrays cannot carry lower bounds, so such a value decodes to its exact text
 * (a string) rather than silently shifting its subscripts. The text is still checked.
 */
import type { Value } from '../../../core/values.js';
import { decodeError } from './decode-error.js';
import { digitsAt, endOfDigits } from './scan.js';

export type Decoder = (text: string) => Value;

const OPEN = 123; // {
const CLOSE = 125; // }
const QUOTE = 34; // "
const BACKSLASH = 92;

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function skipSpace(text: string, i: number): number {
  while (isSpace(text.charCodeAt(i))) i++;
  return i;
}

/**
 * Decodes an array's text. `delimiter` is the element type's delimiter as a char code;
 * `typeName` names the array type in errors.
 */
export function decodeArray(text: string, delimiter: number, element: Decoder, typeName: string): Value {
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) === 91) {
    i = skipDimensions(text, i, typeName);
    parseArrayAt(text, i, delimiter, element, typeName);
    return text;
  }
  return parseArrayAt(text, i, delimiter, element, typeName);
}

/** Checks a '[lb:ub][lb:ub]...=' decoration at i; returns the index after the '='. */
function skipDimensions(text: string, i: number, typeName: string): number {
  while (text.charCodeAt(i) === 91) {
    let j = text.charCodeAt(i + 1) === 45 ? i + 2 : i + 1;
    const lowerEnd = endOfDigits(text, j);
    if (lowerEnd === j || text.charCodeAt(lowerEnd) !== 58) throw decodeError(typeName, text);
    j = text.charCodeAt(lowerEnd + 1) === 45 ? lowerEnd + 2 : lowerEnd + 1;
    const upperEnd = endOfDigits(text, j);
    if (upperEnd === j || digitsAt(text, j, upperEnd) < 0 || text.charCodeAt(upperEnd) !== 93) {
      throw decodeError(typeName, text);
    }
    i = upperEnd + 1;
  }
  if (text.charCodeAt(i) !== 61) throw decodeError(typeName, text);
  return skipSpace(text, i + 1);
}

function parseArrayAt(
  text: string,
  i: number,
  delimiter: number,
  element: Decoder,
  typeName: string,
): Value[] {
  if (text.charCodeAt(i) !== OPEN) throw decodeError(typeName, text);
  const len = text.length;
  const root: Value[] = [];
  const stack: Value[][] = [root];
  let current = root;
  i++;
  let justOpened = true;
  for (;;) {
    // At an element position: a nested '{', an element, or '}' closing an empty array.
    i = skipSpace(text, i);
    let c = text.charCodeAt(i);
    if (c === OPEN) {
      const child: Value[] = [];
      current.push(child);
      stack.push(child);
      current = child;
      i++;
      justOpened = true;
      continue;
    }
    if (c === CLOSE && justOpened) {
      // '{}': an empty array (at the top) or, never from array_out, an empty sub-array.
    } else if (c === QUOTE) {
      i = quotedElement(text, i + 1, current, element, typeName);
    } else {
      i = unquotedElement(text, i, delimiter, current, element, typeName);
    }
    justOpened = false;
    // After a value: a delimiter, or '}' closing one or more levels.
    for (;;) {
      i = skipSpace(text, i);
      c = text.charCodeAt(i);
      if (c === delimiter) {
        i++;
        break;
      }
      if (c !== CLOSE) throw decodeError(typeName, text, i >= len ? 'unterminated' : 'unexpected character');
      stack.pop();
      i++;
      const parent = stack[stack.length - 1];
      if (parent === undefined) {
        if (skipSpace(text, i) !== len) throw decodeError(typeName, text, 'text after the array');
        return root;
      }
      current = parent;
    }
  }
}

/** Reads a quoted element whose text starts at i (after the quote); returns the index after the closing quote. */
function quotedElement(text: string, i: number, into: Value[], element: Decoder, typeName: string): number {
  const len = text.length;
  let start = i;
  let value = '';
  for (;;) {
    if (i >= len) throw decodeError(typeName, text, 'unterminated quoted element');
    const c = text.charCodeAt(i);
    if (c === QUOTE) break;
    if (c === BACKSLASH) {
      if (i + 1 >= len) throw decodeError(typeName, text, 'unterminated quoted element');
      value += text.slice(start, i);
      start = i + 1;
      i += 2;
      continue;
    }
    i++;
  }
  value += text.slice(start, i);
  into.push(element(value));
  return i + 1;
}

/** Reads an unquoted element starting at i; returns the index after it (at the delimiter or '}'). */
function unquotedElement(
  text: string,
  i: number,
  delimiter: number,
  into: Value[],
  element: Decoder,
  typeName: string,
): number {
  const len = text.length;
  const begin = i;
  let start = i;
  let value = '';
  let escaped = false;
  // End of the element's text without trailing unescaped whitespace.
  let end = i;
  for (;;) {
    if (i >= len) throw decodeError(typeName, text, 'unterminated');
    const c = text.charCodeAt(i);
    if (c === delimiter || c === CLOSE) break;
    if (c === OPEN || c === QUOTE) throw decodeError(typeName, text, 'unexpected character');
    if (c === BACKSLASH) {
      if (i + 1 >= len) throw decodeError(typeName, text, 'unterminated');
      value += text.slice(start, i);
      start = i + 1;
      i += 2;
      end = i;
      escaped = true;
      continue;
    }
    i++;
    if (!isSpace(c)) end = i;
  }
  if (end === begin) throw decodeError(typeName, text, 'empty element');
  value = escaped ? value + text.slice(start, Math.max(start, end)) : text.slice(begin, end);
  if (!escaped && end - begin === 4 && isNull(value)) into.push(null);
  else into.push(element(value));
  return i;
}

function isNull(s: string): boolean {
  return s === 'NULL' || s.toUpperCase() === 'NULL';
}
