/**
 * A streaming parser for the text format of `COPY ... TO STDOUT` (PostgreSQL docs, "COPY",
 * File Formats → Text Format): rows end with a line feed, fields are separated by a tab, a
 * field that is exactly `\N` is NULL, and a backslash starts an escape — `\b \f \n \r \t \v`,
 * `\` and 1–3 octal digits or `\x` and 1–2 hex digits for one byte, and a backslash before any
 * other character for that character (so `\\N` is the text `\N`, and a backslash before a raw
 * tab or line feed keeps it in the field). Escapes make bytes; a field's bytes are UTF-8.
 *
 * Contract: `push` takes chunks split anywhere (mid-row, mid-escape, mid-character) and calls
 * `onRow` once per complete row, in order, with one entry per field: its text, or null for NULL.
 * It keeps no reference to a chunk after it returns. A row with another number of fields than
 * the parser was built for throws `TributaryError('PROTOCOL')` naming the row; so does `end()`
 * when the input stops inside a row. After a throw (its own or `onRow`'s) the parser is unusable.
 *
 * How it is fast: a chunk, up to its last line feed, is decoded as UTF-8 in one call (a line
 * feed never falls inside a character); rows are split by scanning that string, and a field
 * without a backslash is a slice of it. Only the bytes after the last line feed wait for the
 * next chunk. When the decoded text holds U+FFFD (bytes that are not UTF-8, or the character
 * itself), the chunk is read as Latin-1 instead, one character per byte, and each field's bytes
 * are decoded on their own, so an escape can complete a character whose other bytes are raw.
 * A longer field sliced from a chunk's text may share that text's memory (V8 sliced strings):
 * keeping one field keeps its chunk's text, about the size of the chunk, until the field goes.
 */
import { TributaryError } from '../../../core/errors.js';

const TAB = 0x09;
const LF = 0x0a;
const BACKSLASH = 0x5c;
const CAPITAL_N = 0x4e;
const LOWER_X = 0x78;
const REPLACEMENT_CHARACTER = '\uFFFD';

/** What a backslash before these characters stands for; any other character stands for itself. */
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

/** One row: a field's text, or null for NULL. */
export type CopyTextRow = (string | null)[];

export class CopyTextParser {
  readonly #columns: number;
  #rows = 0;
  /** Copies of the bytes after the last complete row: they may end inside a character or an escape. */
  #pending: Buffer[] = [];

  /** `columns`: how many fields every row has. */
  constructor(columns: number) {
    if (!Number.isInteger(columns) || columns < 0) {
      throw new TributaryError('INTERNAL', `COPY text parser: bad column count ${columns}`);
    }
    this.#columns = columns;
  }

  /** Rows parsed so far. */
  get rows(): number {
    return this.#rows;
  }

  push(chunk: Buffer, onRow: (fields: CopyTextRow) => void): void {
    const lastLf = chunk.lastIndexOf(LF);
    if (lastLf === -1) {
      if (chunk.length > 0) this.#pending.push(Buffer.from(chunk));
      return;
    }
    let bytes = chunk.subarray(0, lastLf + 1);
    if (this.#pending.length > 0) {
      this.#pending.push(bytes);
      bytes = Buffer.concat(this.#pending);
      this.#pending = [];
    }
    let text = bytes.toString('utf8');
    const bytewise = text.includes(REPLACEMENT_CHARACTER);
    if (bytewise) text = bytes.toString('latin1');
    const done = this.#parseRows(text, bytewise, onRow);
    // only a line feed escaped by a backslash leaves a row open here
    if (done < text.length) this.#pending.push(Buffer.from(text.slice(done), bytewise ? 'latin1' : 'utf8'));
    if (lastLf + 1 < chunk.length) this.#pending.push(Buffer.from(chunk.subarray(lastLf + 1)));
  }

  /** Checks that the input ended at a row boundary. */
  end(): void {
    if (this.#pending.length > 0) {
      throw new TributaryError(
        'PROTOCOL',
        `COPY text: the data ended inside row ${this.#rows + 1} (after ${this.#rows} complete rows)`,
      );
    }
  }

  /**
   * Calls `onRow` for each complete row of `text`, which ends with a line feed; returns where the
   * first incomplete row starts. `bytewise`: `text` is Latin-1, one character per byte.
   */
  #parseRows(text: string, bytewise: boolean, onRow: (fields: CopyTextRow) => void): number {
    const length = text.length;
    let rowStart = 0;
    while (rowStart < length) {
      const fields: CopyTextRow = [];
      let start = rowStart;
      let c = 0;
      for (;;) {
        let i = start;
        for (; i < length; i++) {
          c = text.charCodeAt(i);
          if (c === TAB || c === LF || c === BACKSLASH) break;
        }
        if (i === length) return rowStart;
        if (c !== BACKSLASH) {
          fields.push(bytewise ? utf8FromLatin1(text.slice(start, i)) : text.slice(start, i));
        } else if (
          i === start &&
          text.charCodeAt(i + 1) === CAPITAL_N &&
          isFieldEnd(text.charCodeAt(i + 2))
        ) {
          fields.push(null);
          i += 2;
          c = text.charCodeAt(i);
        } else {
          i = fieldEnd(text, i);
          if (i === -1) return rowStart;
          fields.push(unescapeField(text, start, i, bytewise));
          c = text.charCodeAt(i);
        }
        start = i + 1;
        if (c === LF) break;
      }
      if (fields.length !== this.#columns) this.#checkCount(fields, start - rowStart === 1);
      this.#rows++;
      onRow(fields);
      rowStart = start;
    }
    return rowStart;
  }

  /** A row of one empty field is the empty line a zero-column row prints; anything else is wrong. */
  #checkCount(fields: CopyTextRow, emptyLine: boolean): void {
    if (this.#columns === 0 && emptyLine) {
      fields.length = 0;
      return;
    }
    throw new TributaryError(
      'PROTOCOL',
      `COPY text: row ${this.#rows + 1} has ${fields.length} fields, expected ${this.#columns}`,
      { hint: 'the COPY query must select exactly the columns the snapshot expects' },
    );
  }
}

/** Where the field holding `from` ends: the next tab or line feed no backslash escapes, or -1. */
function fieldEnd(text: string, from: number): number {
  const length = text.length;
  for (let i = from; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === TAB || c === LF) return i;
    if (c === BACKSLASH) i++;
  }
  return -1;
}

/**
 * The text of the field text[start..end), escapes replaced. An escape makes a byte; one above
 * 0x7f is not a character on its own, so the field is redone on its bytes (Latin-1 text).
 */
function unescapeField(text: string, start: number, end: number, bytewise: boolean): string {
  let out = '';
  let run = start;
  for (let i = text.indexOf('\\', start); i !== -1 && i < end; i = text.indexOf('\\', run)) {
    out += text.slice(run, i);
    const found = readEscape(text, i + 1);
    if (found.byte > 0x7f && !bytewise) {
      const bytes = Buffer.from(text.slice(start, end), 'utf8').toString('latin1');
      return unescapeField(bytes, 0, bytes.length, true);
    }
    out += found.byte >= 0 ? String.fromCharCode(found.byte) : found.text;
    run = found.next;
  }
  out += text.slice(run, end);
  return bytewise ? utf8FromLatin1(out) : out;
}

interface Escape {
  /** The byte an octal or hex escape stands for, else -1. */
  readonly byte: number;
  /** The character any other escape stands for. */
  readonly text: string;
  /** Where the text after the escape starts. */
  readonly next: number;
}

/** The escape whose backslash is just before `at`; `at` is inside the field. */
function readEscape(text: string, at: number): Escape {
  const c = text.charCodeAt(at);
  if (c >= 0x30 && c <= 0x37) {
    let value = c - 0x30;
    let next = at + 1;
    for (let d = text.charCodeAt(next); next < at + 3 && d >= 0x30 && d <= 0x37; d = text.charCodeAt(next)) {
      value = value * 8 + d - 0x30;
      next++;
    }
    // as Postgres reads it: \777 is 0x1ff, of which the low byte counts
    return { byte: value & 0xff, text: '', next };
  }
  if (c === LOWER_X) {
    const high = hexValue(text.charCodeAt(at + 1));
    if (high >= 0) {
      const low = hexValue(text.charCodeAt(at + 2));
      return low >= 0
        ? { byte: high * 16 + low, text: '', next: at + 3 }
        : { byte: high, text: '', next: at + 2 };
    }
  }
  if (c >= 0xd800 && c <= 0xdbff) {
    // a character outside the BMP is two UTF-16 units: keep them together
    return { byte: -1, text: text.slice(at, at + 2), next: at + 2 };
  }
  const char = text[at]!;
  return { byte: -1, text: SIMPLE_ESCAPES[char] ?? char, next: at + 1 };
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/** A tab or line feed (NaN, past the end of the text, is neither). */
function isFieldEnd(c: number): boolean {
  return c === TAB || c === LF;
}

/** Latin-1 text, one character per byte, read as the UTF-8 those bytes are. */
function utf8FromLatin1(bytes: string): string {
  return Buffer.from(bytes, 'latin1').toString('utf8');
}
