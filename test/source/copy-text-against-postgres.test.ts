/**
 * For each available Postgres major, CopyTextParser reads what a real server's
 * `COPY (SELECT ...) TO STDOUT` sends through pg-copy-streams, in the chunks the socket delivers,
 * under Tributary's session settings: every field equals the text the server gives for the same
 * value over a plain query, and NULL stays null.
 * - hostile text (tabs, line feeds, CR, backslashes, the text `\N`, empty strings, NULLs, every
 *   control character, unicode, emoji, a 100 kB value) next to int, numeric, bytea, jsonb,
 *   timestamptz and arrays, plus 30,000 generated rows so rows fall across many chunks, against
 *   `SELECT col::text`;
 * - every column of the every-type table (test/values), against the output function's text as a
 *   raw query returns it (not `::text`, which for some types is another function: boolean's
 *   says `true`, char(n)'s drops the padding, inet's adds `/32`);
 * - 500 random strings of random code points, bound as parameters, which must come back exactly.
 */
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CopyTextParser, type CopyTextRow } from '../../src/source/postgres/snapshot/copy-text.js';
import { EACH_MAJOR, useCluster } from '../harness/use-cluster.js';
import { xorshift } from '../helpers/random.js';
import { columnsFor } from '../values/every-type.columns.js';
import {
  applySessionSettings,
  createEveryTypeTable,
  insertEveryTypeRows,
  rawQuery,
  TABLE,
} from '../values/every-type.facts.js';

/** Runs `COPY (select) TO STDOUT` and parses it; also returns how many chunks it arrived in. */
async function copyRows(client: pg.Client, select: string, columns: number) {
  const parser = new CopyTextParser(columns);
  const rows: CopyTextRow[] = [];
  const stream = client.query(copyTo(`COPY (${select}) TO STDOUT`));
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    parser.push(chunk as Buffer, (row) => rows.push(row));
  }
  parser.end();
  expect(parser.rows).toBe(stream.rowCount);
  return { rows, chunks };
}

const CONTROL_CHARACTERS = Array.from({ length: 0x1f }, (_, i) => String.fromCharCode(i + 1)).join('');
const BIG = Array.from({ length: 12_500 }, (_, k) => `${k % 10}\t\\\n😀é`).join('');

const HOSTILE_TEXTS: readonly (string | null)[] = [
  'plain',
  'tab\there',
  'line\nfeed',
  'carriage\rreturn\r\n',
  'back\\slash',
  'ends in a backslash\\',
  '\\',
  '\\\\',
  '\\N',
  '\\\\N',
  'N',
  'NULL',
  '',
  null,
  '\\.',
  '\\x41\\101\\n',
  'Ünïcödé, ñ, ß',
  '日本語のテキスト',
  '😀🎉👩‍👩‍👧 family',
  CONTROL_CHARACTERS,
  `\x7f\u0085\u00a0\u2028\uFEFF\uFFFD`,
  BIG,
];
const INTS = [0, -2147483648, 2147483647, null];
const NUMERICS = ['0', '-123.4500', 'NaN', '1e-20', '99999999999999999999.99999', null];
const BYTEAS = [
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  Buffer.alloc(0),
  Buffer.from('\\N'),
  null,
];
const JSONS = ['{"a": "tab\\t \\"q\\" \\\\ 😀", "n": null, "x": [1, 2.5e10]}', '"\\\\N"', '[]', 'null', null];
const TIMESTAMPS = ['2024-02-29 12:34:56.789012+05:30', '-infinity', '0044-03-15 12:00:00+00 BC', null];
const TEXT_ARRAYS = [['a,b', 'q"', null, 'back\\slash', 'tab\t', '', 'NULL', '\\N', '{x}', 'é😀'], [], null];
const INT_ARRAYS = [[1, null, -3], [], null];

const at = <T>(list: readonly T[], row: number): T => list[row % list.length]!;

const COLUMNS = ['id', 't', 'i', 'n', 'b', 'j', 'ts', 'ta', 'ia'];
const HOSTILE_DDL = `CREATE TABLE hostile (
  id int PRIMARY KEY, t text, i int, n numeric, b bytea, j jsonb, ts timestamptz, ta text[], ia int[])`;
const GENERATED_ROWS = `INSERT INTO hostile
  SELECT g, md5(g::text) || E'\\t\\\\' || chr(160 + g % 5000) || repeat(E'\\n', g % 3), g, g / 7.0,
         decode(md5(g::text), 'hex'), jsonb_build_object('g', g, 's', E'a\\tb'),
         '2024-01-01'::timestamptz + g * interval '1 second', ARRAY[g::text, NULL, E'\\\\'], ARRAY[g]
    FROM generate_series(1000, 30999) g`;

describe.each(EACH_MAJOR)('COPY text from a real server (%s)', (_label, binaries) => {
  const cluster = useCluster({ binaries });
  let client: pg.Client;

  beforeAll(async () => {
    client = await cluster().connect();
    await applySessionSettings(client);
  });

  afterAll(async () => {
    await client?.end();
  });

  it('reads hostile values and other types exactly as SELECT col::text gives them', async () => {
    await client.query(HOSTILE_DDL);
    for (let row = 0; row < HOSTILE_TEXTS.length; row++) {
      await client.query('INSERT INTO hostile VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)', [
        row,
        HOSTILE_TEXTS[row],
        at(INTS, row),
        at(NUMERICS, row),
        at(BYTEAS, row),
        at(JSONS, row),
        at(TIMESTAMPS, row),
        at(TEXT_ARRAYS, row),
        at(INT_ARRAYS, row),
      ]);
    }
    await client.query(GENERATED_ROWS);

    const { rows, chunks } = await copyRows(
      client,
      `SELECT ${COLUMNS.join(', ')} FROM hostile ORDER BY id`,
      COLUMNS.length,
    );
    // ORDER BY hostile.id: a bare id would be the output column, id::text, in text order
    const expected = await client.query<Record<string, string | null>>(
      `SELECT ${COLUMNS.map((c) => `${c}::text`).join(', ')} FROM hostile ORDER BY hostile.id`,
    );
    expect(rows.length).toBe(HOSTILE_TEXTS.length + 30_000);
    expect(chunks).toBeGreaterThan(10);
    rows.forEach((row, r) => {
      const want = expected.rows[r]!;
      COLUMNS.forEach((column, c) => {
        if (row[c] !== want[column]) {
          expect.fail(
            `row ${want.id} ${column}: ${JSON.stringify(row[c])} != ${JSON.stringify(want[column])}`,
          );
        }
      });
    });
    expect(rows.slice(0, HOSTILE_TEXTS.length).map((row) => row[1])).toEqual(HOSTILE_TEXTS);
    expect(rows.find((row) => row[1] === BIG)?.[1]?.length).toBe(BIG.length);
  });

  it('reads every column of the every-type table as the output functions print it', async () => {
    const columns = columnsFor(binaries.major);
    await createEveryTypeTable(client, columns);
    await insertEveryTypeRows(client, columns);
    const names = ['id', ...columns.map((c) => c.name)];
    const select = `SELECT ${names.join(', ')} FROM ${TABLE} ORDER BY id`;
    const { rows } = await copyRows(client, select, names.length);
    const expected = await rawQuery(client, select);
    expect(rows.length).toBe(expected.length);
    rows.forEach((row, r) => {
      names.forEach((name, c) => {
        expect(row[c], `row ${r} ${name}`).toBe(expected[r]![name]);
      });
    });
  });

  it('round-trips 500 random strings bound as parameters', async () => {
    const random = xorshift(0xc0_9e_7e_57);
    const strings = Array.from({ length: 500 }, () => randomString(random));
    await client.query('CREATE TABLE random_text (id int PRIMARY KEY, s text)');
    await client.query('INSERT INTO random_text SELECT * FROM unnest($1::int[], $2::text[])', [
      strings.map((_, i) => i),
      strings,
    ]);
    const { rows } = await copyRows(client, 'SELECT s FROM random_text ORDER BY id', 1);
    expect(rows.map((row) => row[0])).toEqual(strings);
  });
});

const SPECIAL = ['\\', '\t', '\n', '\r', 'N', '.', 'x', '0', '\x7f'];

/** Up to 60 code points: specials, control characters, ASCII, the BMP (no surrogates), astral planes. */
function randomString(random: () => number): string {
  let text = '';
  for (let n = random() % 61; n > 0; n--) {
    const kind = random() % 5;
    if (kind === 0) text += SPECIAL[random() % SPECIAL.length]!;
    else if (kind === 1) text += String.fromCharCode(1 + (random() % 0x1f));
    else if (kind === 2) text += String.fromCharCode(0x20 + (random() % 0x5f));
    else if (kind === 3) {
      const unit = 0x80 + (random() % (0x10000 - 0x80 - 0x800));
      text += String.fromCharCode(unit < 0xd800 ? unit : unit + 0x800);
    } else text += String.fromCodePoint(0x10000 + (random() % 0x100000));
  }
  return text;
}
