/**
 * `node dist/bench/copy-text/run.js`: CopyTextParser's throughput on COPY text held in memory,
 * against a reference measured in the same run: decoding the same chunks and splitting them on
 * line feeds and tabs (`toString` + `split`), which is what any parser must at least do, and
 * which gets escapes, NULLs and rows split across chunks wrong.
 *
 * The data: rows of 8 short fields as a snapshot of an orders table prints them (bigint, int,
 * numeric, text, timestamptz, boolean, a NULL-able text, a short text with the odd escape or
 * accent), in 64 kB chunks cut at arbitrary bytes, as a socket delivers them.
 *
 * Options: --rows N (default 1,000,000), --runs N (per parser, default 5).
 */
import { parseArgs } from 'node:util';
import { CopyTextParser } from '../../src/source/postgres/snapshot/copy-text.js';
import { loadText, median } from '../common/tools.js';

const COLUMNS = 8;
const CHUNK_BYTES = 64 * 1024;

function readOptions(): { rows: number; runs: number } {
  const { values } = parseArgs({
    options: { rows: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '5' } },
    strict: true,
  });
  const rows = Number(values.rows);
  const runs = Number(values.runs);
  if (!Number.isInteger(rows) || rows < 1) throw new Error('--rows must be a positive integer');
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  return { rows, runs };
}

const NOTES = ['', 'ok', 'gift wrap', 'fragile\\tstack', 'café', 'rush', 'leave at door', 'call first\\n2x'];

function copyText(rows: number): Buffer {
  const lines: string[] = [];
  const start = Date.UTC(2024, 0, 1);
  for (let i = 1; i <= rows; i++) {
    const at = new Date(start + i * 1_337).toISOString().replace('T', ' ').replace('Z', '+00');
    lines.push(
      [
        String(1_000_000 + i),
        String(i % 9_973),
        `${(i % 100_000) / 100}`,
        `customer-${i % 5_000}`,
        at,
        i % 3 === 0 ? 't' : 'f',
        i % 4 === 0 ? '\\N' : `SKU-${i % 777}`,
        NOTES[i % NOTES.length]!,
      ].join('\t'),
    );
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}

function chunksOf(data: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < data.length; at += CHUNK_BYTES) chunks.push(data.subarray(at, at + CHUNK_BYTES));
  return chunks;
}

function runParser(chunks: readonly Buffer[]): number {
  const parser = new CopyTextParser(COLUMNS);
  let fields = 0;
  const onRow = (row: (string | null)[]) => {
    fields += row.length;
  };
  for (const chunk of chunks) parser.push(chunk, onRow);
  parser.end();
  if (fields !== parser.rows * COLUMNS) throw new Error('the parser lost fields');
  return parser.rows;
}

function runSplit(chunks: readonly Buffer[]): number {
  let rows = 0;
  let fields = 0;
  let carry = '';
  for (const chunk of chunks) {
    const lines = (carry + chunk.toString('utf8')).split('\n');
    carry = lines.pop()!;
    for (const line of lines) {
      fields += line.split('\t').length;
      rows++;
    }
  }
  if (fields !== rows * COLUMNS) throw new Error('the split lost fields');
  return rows;
}

function rate(run: () => number, expectedRows: number): number {
  const started = process.hrtime.bigint();
  const rows = run();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (rows !== expectedRows) throw new Error(`parsed ${rows} rows, expected ${expectedRows}`);
  return rows / seconds;
}

function main(): void {
  const options = readOptions();
  const data = copyText(options.rows);
  const chunks = chunksOf(data);
  console.log(
    `${options.rows.toLocaleString('en')} rows, ${(data.length / options.rows).toFixed(1)} bytes/row, ` +
      `${chunks.length} chunks of ${CHUNK_BYTES / 1024} kB; load ${loadText()}`,
  );
  // warm up both, then alternate so drift in machine load hits both alike
  runParser(chunks);
  runSplit(chunks);
  const parser: number[] = [];
  const split: number[] = [];
  for (let i = 0; i < options.runs; i++) {
    parser.push(rate(() => runParser(chunks), options.rows));
    split.push(rate(() => runSplit(chunks), options.rows));
  }
  const mParser = median(parser);
  const mSplit = median(split);
  const mb = (rowsPerSecond: number) => ((rowsPerSecond * data.length) / options.rows / 1e6).toFixed(0);
  console.log(`CopyTextParser    ${Math.round(mParser).toLocaleString('en')} rows/s (${mb(mParser)} MB/s)`);
  console.log(`toString + split  ${Math.round(mSplit).toLocaleString('en')} rows/s (${mb(mSplit)} MB/s)`);
  console.log(`ratio parser / split: ${(mParser / mSplit).toFixed(2)} (medians of ${options.runs} runs)`);
}

main();
