/**
 * CopyTextParser on hand-written COPY text: every escape, NULL against the empty string and the
 * text `\N`, multi-byte UTF-8 raw and escaped, and the errors. Every input is also fed split at
 * every byte position, at every pair of positions, and byte by byte: the rows must not change.
 * A seeded round trip then encodes random fields with randomly chosen escapes and parses them back.
 */
import { describe, expect, it } from 'vitest';
import { xorshift } from '../../../../test/helpers/random.js';
import { isTributaryError } from '../../../core/errors.js';
import { CopyTextParser, type CopyTextRow } from './copy-text.js';

/** Parses `input` fed as the pieces `cuts` divides it into. */
function parse(input: Buffer, columns: number, cuts: readonly number[] = []): CopyTextRow[] {
  const parser = new CopyTextParser(columns);
  const rows: CopyTextRow[] = [];
  let from = 0;
  for (const to of [...cuts, input.length]) {
    parser.push(input.subarray(from, to), (row) => rows.push(row));
    from = to;
  }
  parser.end();
  expect(parser.rows).toBe(rows.length);
  return rows;
}

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

interface Case {
  readonly name: string;
  readonly input: Buffer;
  readonly columns: number;
  readonly rows: CopyTextRow[];
}

const CASES: readonly Case[] = [
  {
    name: 'plain rows',
    input: bytes('1\tone\n2\ttwo\n'),
    columns: 2,
    rows: [
      ['1', 'one'],
      ['2', 'two'],
    ],
  },
  { name: 'no rows', input: bytes(''), columns: 3, rows: [] },
  {
    name: 'NULL, empty and the text \\N',
    input: bytes('\\N\t\t\\\\N\t\\N\n\t\\N\t\t\n'),
    columns: 4,
    rows: [
      [null, '', '\\N', null],
      ['', null, '', ''],
    ],
  },
  { name: 'one NULL column', input: bytes('\\N\n\n\\N\n'), columns: 1, rows: [[null], [''], [null]] },
  {
    name: '\\N with more after it is not NULL',
    input: bytes('\\Nx\tx\\N\n'),
    columns: 2,
    rows: [['Nx', 'xN']],
  },
  {
    name: 'the named escapes',
    input: bytes('\\b\\f\\n\\r\\t\\v\\\\\ta\\nb\\tc\\\\\n'),
    columns: 2,
    rows: [['\b\f\n\r\t\v\\', 'a\nb\tc\\']],
  },
  {
    name: 'octal escapes of one to three digits',
    input: bytes('\\1\t\\12\t\\101\t\\1012\t\\0\t\\8\t\\18\t\\377\n'),
    columns: 8,
    rows: [['\x01', '\n', 'A', 'A2', '\0', '8', '\x018', '\uFFFD']],
  },
  {
    name: 'octal above 0377 keeps its low byte',
    input: bytes('\\501\t\\777\n'),
    columns: 2,
    rows: [['A', '\uFFFD']],
  },
  {
    name: 'hex escapes of one and two digits',
    input: bytes('\\x41\t\\x4g\t\\x4\t\\xg\t\\X41\t\\x7e7\t\\xaF\n'),
    columns: 7,
    rows: [['A', '\x04g', '\x04', 'xg', 'X41', '~7', '\uFFFD']],
  },
  {
    name: 'escaped bytes that make one character',
    input: bytes('\\303\\251\t\\xe2\\x82\\xac\t\\xF0\\x9F\\x98\\x80!\tcaf\\xc3\\xa9\\n\n'),
    columns: 4,
    rows: [['é', '€', '😀!', 'café\n']],
  },
  {
    name: 'a character whose bytes are part raw, part escaped',
    input: bytes([0xc3], '\\251\t\\xe2', [0x82], '\\254\tx', [0xf0, 0x9f], '\\x98', [0x80], '\n'),
    columns: 3,
    rows: [['é', '€', 'x😀']],
  },
  {
    name: 'a backslash before any other character',
    input: bytes('\\a\\.\\"\t\\é\\中\t\\😀x\t\\\t\\\n\n'),
    columns: 4,
    rows: [['a."', 'é中', '😀x', '\t\n']],
  },
  {
    name: 'multi-byte UTF-8',
    input: bytes('Ünïcödé\t日本語のテキスト\t😀🎉👩‍👩‍👧\tx\\ty😀\n'),
    columns: 4,
    rows: [['Ünïcödé', '日本語のテキスト', '😀🎉👩‍👩‍👧', 'x\ty😀']],
  },
  {
    name: 'control characters and CR sent raw',
    input: bytes('a\rb\x01\x1f\tc\x7f\n'),
    columns: 2,
    rows: [['a\rb\x01\x1f', 'c\x7f']],
  },
  {
    name: 'bytes that are not UTF-8, and U+FFFD itself',
    input: bytes([0x61, 0xff, 0x62], '\t\uFFFD\\x41\t\\xc3', [0x28], '\n'),
    columns: 3,
    rows: [['a\uFFFDb', '\uFFFDA', '\uFFFD(']],
  },
  { name: 'rows of no columns', input: bytes('\n\n'), columns: 0, rows: [[], []] },
];

/** Every way to cut `length` bytes in two and in three (all pairs below 120 bytes). */
function cutsOf(length: number): number[][] {
  const cuts: number[][] = [];
  for (let i = 0; i <= length; i++) cuts.push([i]);
  if (length < 120) for (let i = 0; i <= length; i++) for (let j = i; j <= length; j++) cuts.push([i, j]);
  cuts.push(Array.from({ length }, (_, i) => i));
  return cuts;
}

describe('CopyTextParser', () => {
  it.each(CASES)('$name', ({ input, columns, rows }) => {
    expect(parse(input, columns)).toEqual(rows);
  });

  it.each(CASES)('$name: the same rows however the input is split', ({ input, columns, rows }) => {
    for (const cuts of cutsOf(input.length)) {
      expect(parse(input, columns, cuts), `cut at ${cuts.join(',')}`).toEqual(rows);
    }
  });

  it('keeps no reference to a chunk once push returns', () => {
    const parser = new CopyTextParser(2);
    const rows: CopyTextRow[] = [];
    const chunk = Buffer.from('a\tb\nc\\');
    parser.push(chunk, (row) => rows.push(row));
    chunk.fill(0x7a);
    parser.push(Buffer.from('té\td\n'), (row) => rows.push(row));
    parser.end();
    expect(rows).toEqual([
      ['a', 'b'],
      ['c\té', 'd'],
    ]);
  });

  it('names the row whose field count is wrong', () => {
    for (const input of ['a\tb\nc\n', 'a\tb\nc\td\te\n', 'a\tb\n\n']) {
      const parser = new CopyTextParser(2);
      const seen: CopyTextRow[] = [];
      const error = catchError(() => parser.push(Buffer.from(input), (row) => seen.push(row)));
      expect(isTributaryError(error, 'PROTOCOL'), String(error)).toBe(true);
      expect((error as Error).message).toMatch(/row 2 has \d fields, expected 2/);
      expect(seen).toEqual([['a', 'b']]);
    }
    expect(() => parse(bytes('x\n'), 0)).toThrow(/row 1 has 1 fields, expected 0/);
  });

  it('rejects input that ends inside a row', () => {
    for (const tail of ['c', 'c\t', 'c\td', 'c\\', 'c\t\\N', 'c\td\\\n', 'c\t\\xc3\\\n']) {
      const parser = new CopyTextParser(2);
      parser.push(Buffer.from(`a\tb\n${tail}`), () => {});
      const error = catchError(() => parser.end());
      expect(isTributaryError(error, 'PROTOCOL'), tail).toBe(true);
      expect((error as Error).message).toContain('ended inside row 2 (after 1 complete rows)');
    }
  });

  it('round-trips random fields written with randomly chosen escapes', () => {
    const random = xorshift(20240611);
    for (let round = 0; round < 300; round++) {
      const columns = 1 + (random() % 5);
      const rows: CopyTextRow[] = [];
      const lines: Buffer[] = [];
      for (let r = random() % 6; r > 0; r--) {
        const row: CopyTextRow = [];
        for (let c = 0; c < columns; c++) row.push(random() % 7 === 0 ? null : randomText(random));
        rows.push(row);
        lines.push(encodeRow(row, random));
      }
      const input = Buffer.concat(lines);
      const cuts = Array.from({ length: random() % 6 }, () => random() % (input.length + 1)).sort(
        (a, b) => a - b,
      );
      expect(parse(input, columns, cuts), input.toString('hex')).toEqual(rows);
    }
  });
});

function catchError(run: () => void): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

const ALPHABET = ['a', 'Z', '0', '7', '8', 'f', 'x', 'N', '\\', '\t', '\n', '\r', '\x01', '\x7f', ' ', '.'];
const WIDE = ['é', 'ß', '中', '語', '😀', '👩‍👧', '\uFFFD'];

function randomText(random: () => number): string {
  let text = '';
  for (let n = random() % 12; n > 0; n--) {
    text += random() % 4 === 0 ? WIDE[random() % WIDE.length]! : ALPHABET[random() % ALPHABET.length]!;
  }
  return text;
}

const NAMED: Readonly<Record<number, string>> = {
  8: 'b',
  9: 't',
  10: 'n',
  11: 'v',
  12: 'f',
  13: 'r',
  92: '\\',
};

/** A row as COPY text, each byte written raw (where allowed) or as any escape that makes it. */
function encodeRow(row: CopyTextRow, random: () => number): Buffer {
  const out: number[] = [];
  row.forEach((field, index) => {
    if (index > 0) out.push(0x09);
    if (field === null) {
      out.push(0x5c, 0x4e);
      return;
    }
    for (const byte of Buffer.from(field)) {
      const forced = byte === 0x09 || byte === 0x0a || byte === 0x5c;
      const choice = random() % 6;
      if (!forced && choice < 3) out.push(byte);
      else if (choice === 3 && NAMED[byte]) out.push(0x5c, NAMED[byte].charCodeAt(0));
      else if (choice === 4) out.push(0x5c, ...Buffer.from(byte.toString(8).padStart(3, '0')));
      else if (choice === 5 || byte >= 0x80 || /[0-7xbfnrtvN]/.test(String.fromCharCode(byte)))
        out.push(0x5c, ...Buffer.from(`x${byte.toString(16).padStart(2, '0')}`));
      else out.push(0x5c, byte);
    }
  });
  out.push(0x0a);
  return Buffer.from(out);
}
