/**
 * What a CSV chunk's insert sends to a ClickHouse server over HTTP (snapshot-csv.ts, the
 * `input()` source). No ClickHouse server runs on the test machine (the other tests use chdb,
 * which reads the file with `file()`), so this one listens as the server would and checks the
 * request itself: the INSERT … FROM input(…) FORMAT CSV in the URL, the settings the exactness
 * rests on (the empty null representation above all: its default `\N` would read the text `\N`
 * as NULL), and the file's bytes, unchanged, as the body.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TableSchema } from '../../../src/core/change-event.js';
import { connectClickHouse, parseClickHouseUrl } from '../../../src/warehouse/clickhouse/connect.js';
import { loadCsvChunk } from '../../../src/warehouse/clickhouse/snapshot-csv.js';
import { chTable } from '../../../src/warehouse/clickhouse/tables.js';

const SCHEMA: TableSchema = {
  table: { schema: 'public', name: 'notes' },
  relationOid: 1,
  version: 'v1',
  columns: [
    { name: 'id', typeOid: 23, typeModifier: -1, isKey: true },
    { name: 'at', typeOid: 1184, typeModifier: -1, isKey: false },
    { name: 'body', typeOid: 25, typeModifier: -1, isKey: false },
  ],
  key: ['id'],
  replicaIdentity: 'default',
};

interface Seen {
  readonly url: URL;
  readonly body: Buffer;
}

describe('a CSV chunk sent to a ClickHouse server over HTTP', () => {
  let server: Server;
  let seen: Seen[];
  let dir: string;
  /** How the server answers: as ClickHouse does when the insert succeeded, refused it, or dropped. */
  let answer: 'ok' | 'refused' | 'dropped';

  beforeEach(async () => {
    seen = [];
    answer = 'ok';
    dir = mkdtempSync(join(tmpdir(), 'tributary-csv-http-'));
    server = createServer((request: IncomingMessage, response) => {
      const parts: Buffer[] = [];
      request.on('data', (part: Buffer) => parts.push(part));
      request.on('end', () => {
        seen.push({ url: new URL(request.url ?? '/', 'http://localhost'), body: Buffer.concat(parts) });
        if (answer === 'dropped') {
          request.socket.destroy();
          return;
        }
        if (answer === 'refused') {
          response.writeHead(500, { 'X-ClickHouse-Exception-Code': '395' });
          response.end(
            "Code: 395. DB::Exception: a value outside its ClickHouse type: while executing 'FUNCTION throwIf'. (FUNCTION_THROW_IF_VALUE_IS_NON_ZERO) (version 26.7.2.1)\n",
          );
          return;
        }
        response.writeHead(200, { 'X-ClickHouse-Summary': '{"written_rows":"3"}' });
        response.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterEach(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function load(): Promise<void> {
    const port = (server.address() as AddressInfo).port;
    const connection = await connectClickHouse(
      parseClickHouseUrl(`clickhouse://default@127.0.0.1:${port}/w`),
    );
    const path = join(dir, 'chunk.csv');
    writeFileSync(path, '1,,x\n');
    try {
      await loadCsvChunk(
        connection.client,
        chTable(SCHEMA, { database: 'w' }),
        '`w`.`_tributary_rows_notes`',
        { path, rows: 1, version: (7n << 64n).toString(), token: 't' },
        { inProcess: false, lookup: undefined },
      );
    } finally {
      await connection.close();
    }
  }

  it('says SINK (read the chunk as rows) when the server refused the insert, and not when the connection failed', async () => {
    answer = 'refused';
    await expect(load()).rejects.toMatchObject({ code: 'SINK' });
    // the insert may have been stored: reading the chunk again as rows could copy a multiset's rows twice
    answer = 'dropped';
    const error = await load().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as { code?: unknown }).code).not.toBe('SINK');
  });

  it('sends the INSERT from input(), the exactness settings, and the file unchanged as the body', async () => {
    const port = (server.address() as AddressInfo).port;
    const connection = await connectClickHouse(
      parseClickHouseUrl(`clickhouse://default@127.0.0.1:${port}/w`),
    );
    const path = join(dir, 'chunk.csv');
    const csv = '1,2024-01-02 03:04:05.5+00,\\N\n2,,""\n3,1900-01-01 00:00:00+00," lead, ""q""\n"\n';
    writeFileSync(path, csv);
    try {
      const table = chTable(SCHEMA, { database: 'w' });
      await loadCsvChunk(
        connection.client,
        table,
        '`w`.`_tributary_rows_notes`',
        { path, rows: 3, version: (7n << 64n).toString(), token: 'snapshot-file:j:0:7' },
        { inProcess: false, lookup: undefined },
      );
    } finally {
      await connection.close();
    }
    expect(seen).toHaveLength(1);
    const [request] = seen as [Seen];
    expect(request.body.toString('utf8')).toBe(csv);
    const query = request.url.searchParams.get('query') ?? '';
    expect(query).toMatch(/^INSERT INTO `w`\.`_tributary_rows_notes` \(`id`, `at`, `body`, /);
    expect(query).toContain("FROM input('c0 Nullable(Int32), c1 Nullable(String), c2 Nullable(String)')");
    expect(query).toMatch(/ FORMAT CSV$/);
    const settings = request.url.searchParams;
    expect(settings.get('format_csv_null_representation')).toBe('');
    expect(settings.get('input_format_csv_trim_whitespaces')).toBe('0');
    expect(settings.get('format_csv_allow_single_quotes')).toBe('0');
    expect(settings.get('input_format_csv_detect_header')).toBe('0');
    expect(settings.get('precise_float_parsing')).toBe('1');
    expect(settings.get('insert_deduplicate')).toBe('1');
    expect(settings.get('insert_deduplication_token')).toBe('snapshot-file:j:0:7');
  });
});
