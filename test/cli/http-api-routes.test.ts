/**
 * The HTTP API of a real `tributary run` as the dashboard reads it: tables with this process's
 * applied changes, the lag history (sampled every 200ms), the last changes, the live change
 * stream (a change written after connecting arrives; resuming with Last-Event-ID repeats none),
 * a failing check with its sample and history, backfill jobs, and SQL (refused without a token;
 * with one: a SELECT answers, writes, files and several statements are refused, 10,000 rows at
 * most). Also: HTTP is on by default (on 7878, or a free port when another run has it) and
 * `--no-http` (or the config file's `http: false`) serves nothing; a bad `--lag-sample` exits 2.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { httpPort, runCli, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';
import { readSse, type SseStream } from '../helpers/sse.js';
import { waitForWarehouse } from '../helpers/warehouse.js';

type Body = Record<string, unknown>;

async function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Body> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
  const body = (await response.json()) as Body;
  if (response.status !== 200) throw new Error(`${path}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

function postSql(port: number, sql: string, token?: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}/api/sql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ sql }),
  });
}

describe('the HTTP API routes of tributary run', () => {
  const cluster = useCluster({
    binaries: newestBinaries(),
    setup: (c) =>
      c.sql(`CREATE TABLE orders (id bigint PRIMARY KEY, email text, total numeric(12,2));
             CREATE TABLE events (id bigint PRIMARY KEY, note text);
             CREATE TABLE "Order Items" (id bigint PRIMARY KEY, qty int)`),
  });

  it('serves tables, lag, events, the live stream, checks and backfills of a running pipeline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-http-routes-'));
    const warehouse = join(dir, 'w.duckdb');
    const config = join(dir, 'tributary.yml');
    writeFileSync(
      config,
      `source: ${cluster().url()}
warehouse: ${warehouse}
tables: [public.orders, 'public."Order Items"']
batch: { delay: 20ms }
checks:
  - { name: emails, type: not_null, table: orders, columns: [email], every: 1s }
`,
    );
    const run = startCli(['run', '--config', config, '--http', '127.0.0.1:0', '--lag-sample', '200ms']);
    let open: SseStream | undefined;
    try {
      const port = await httpPort(run);
      expect(run.stderr()).toContain(`"dashboard":"http://127.0.0.1:${port}/"`);
      await waitFor('the slot', () => /replication slot/.test(run.stderr()) || undefined);
      const stream = readSse(await fetch(`http://127.0.0.1:${port}/api/events/stream`));

      await cluster().sql(`INSERT INTO orders VALUES (1, 'a@x', 10), (2, NULL, 20), (3, 'c@x', 30)`);
      await cluster().sql(`UPDATE orders SET total = 11 WHERE id = 1`);
      await cluster().sql(`DELETE FROM orders WHERE id = 3`);
      await cluster().sql(`INSERT INTO "Order Items" VALUES (1, 5); UPDATE "Order Items" SET qty = 6`);
      await waitForWarehouse(cluster(), { warehouse });

      const tables = (await get(port, '/api/tables')).tables as Body[];
      expect(tables).toHaveLength(2);
      expect(tables).toContainEqual({
        table: 'public."Order Items"',
        rows: 1,
        lastChange: expect.any(String),
        ageSeconds: expect.any(Number),
        applied: { insert: 1, update: 1, delete: 0, truncate: 0 },
      });
      expect(tables).toContainEqual({
        table: 'public.orders',
        rows: 2,
        lastChange: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        ageSeconds: expect.any(Number),
        applied: { insert: 3, update: 1, delete: 1, truncate: 0 },
      });

      const all = (await get(port, '/api/events')).events as Body[];
      const allSeqs = all.map((e) => e.seq as number);
      expect(allSeqs).toHaveLength(7);
      const events = all.filter((e) => e.table === 'public.orders');
      expect(events.map((e) => [e.op, e.key])).toEqual([
        ['insert', { id: '1' }],
        ['insert', { id: '2' }],
        ['insert', { id: '3' }],
        ['update', { id: '1' }],
        ['delete', { id: '3' }],
      ]);
      expect(events[0]).toMatchObject({ table: 'public.orders', columns: ['id', 'email', 'total'] });
      expect(JSON.stringify(events)).not.toContain('a@x');
      const seqs = events.map((e) => e.seq as number);
      expect(((await get(port, '/api/events?limit=2')).events as Body[]).map((e) => e.seq)).toEqual(
        allSeqs.slice(-2),
      );
      expect(
        ((await get(port, `/api/events?after=${allSeqs[3]}`)).events as Body[]).map((e) => e.seq),
      ).toEqual(allSeqs.slice(4));
      for (const bad of [
        '/api/events?limit=0',
        '/api/events?limit=501',
        '/api/events?after=x',
        '/api/lag?since=soon',
      ])
        await expect(get(port, bad), bad).rejects.toThrow(/: 400 .*"code":"USAGE"/);

      // the stream, opened before the writes, got each of them once, in order
      await stream.until('the seven changes', (received) => received.length >= 7);
      expect(stream.events.map((e) => Number(e.id))).toEqual(allSeqs);
      expect(seqs).toEqual(allSeqs.slice(0, 5));
      expect(stream.events.map((e) => (JSON.parse(e.data) as Body).op)).toEqual([
        ...events.map((e) => e.op),
        'insert',
        'update',
      ]);
      expect(JSON.parse(stream.events[6]!.data)).toMatchObject({
        table: 'public."Order Items"',
        key: { id: '1' },
      });
      await stream.cancel();
      // a client that saw the third change resumes with the fourth, and then gets new ones live
      const resumed = readSse(
        await fetch(`http://127.0.0.1:${port}/api/events/stream`, {
          headers: { 'last-event-id': String(allSeqs[2]) },
        }),
      );
      await resumed.until('the backlog', (received) => received.length >= 4);
      await cluster().sql(`INSERT INTO orders VALUES (4, 'd@x', 40)`);
      await resumed.until('the live change', (received) => received.length >= 5);
      expect(resumed.events.map((e) => Number(e.id))).toEqual([...allSeqs.slice(3), allSeqs.at(-1)! + 1]);
      expect(JSON.parse(resumed.events[4]!.data)).toMatchObject({ op: 'insert', key: { id: '4' } });
      await resumed.cancel();

      const lag = await waitFor('lag samples', async () => {
        const body = await get(port, '/api/lag');
        return (body.samples as Body[]).length >= 3 && body;
      });
      expect(lag.sampleEveryMs).toBe(200);
      const samples = lag.samples as Body[];
      expect(samples[0]).toEqual({
        at: expect.any(String),
        lagSeconds: expect.toSatisfy((v) => v === null || typeof v === 'number'),
        slotLagBytes: expect.toSatisfy((v) => v === null || typeof v === 'number'),
        slotRetainedBytes: expect.toSatisfy((v) => v === null || typeof v === 'number'),
        changesPerSecond: expect.any(Number),
      });
      const since = samples.at(-1)!.at as string;
      const recent = (await get(port, `/api/lag?since=${encodeURIComponent(since)}`)).samples as Body[];
      expect(recent.length).toBeGreaterThanOrEqual(1);
      expect(recent.every((s) => (s.at as string) >= since)).toBe(true);

      const check = await waitFor('two results of the check', async () => {
        const checks = (await get(port, '/api/checks')).checks as Body[];
        const found = checks.find((c) => c.name === 'emails');
        return found && (found.history as Body[]).length >= 2 && found;
      });
      expect(check).toMatchObject({
        type: 'not_null',
        severity: 'error',
        status: 'fail',
        message: expect.any(String),
        finishedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        observed: expect.any(Object),
        sample: [expect.objectContaining({ id: '2', email: null })],
      });
      const history = check.history as { status: string; finishedAt: string }[];
      expect(history[0]).toEqual({ status: 'fail', finishedAt: check.finishedAt });
      expect(history[0]!.finishedAt >= history[1]!.finishedAt).toBe(true);

      const backfill = await runCli([
        'backfill',
        'public.orders',
        '--reason',
        'audit',
        '--wait',
        '--warehouse',
        warehouse,
      ]);
      expect(backfill.code, backfill.stderr).toBe(0);
      const jobs = (await get(port, '/api/backfills')).jobs as Body[];
      expect(jobs.map((j) => [j.table, j.reason, j.state])).toContainEqual([
        'public.orders',
        'audit',
        'done',
      ]);
      expect(jobs.at(-1)).toMatchObject({
        rows: 3,
        attempts: expect.any(Number),
        requestedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/),
        finishedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/),
      });

      // no token configured: the data stays in
      const sql = await postSql(port, 'SELECT * FROM orders');
      expect(sql.status).toBe(403);
      expect(await sql.json()).toMatchObject({
        code: 'FORBIDDEN',
        hint: expect.stringMatching(/TRIBUTARY_HTTP_TOKEN/),
      });
      expect(await get(port, '/healthz')).toEqual({ ok: true });
      // a stream still open does not hold run up: SIGTERM ends it
      open = readSse(await fetch(`http://127.0.0.1:${port}/api/events/stream`));
      await open.until('the backlog', (received) => received.length >= 8);
    } finally {
      run.child.kill('SIGTERM');
    }
    expect((await run.exited).code, run.stderr()).toBe(0);
    await open?.ended;
  });

  it('answers SQL with a token: a SELECT works, writes, files and several statements are refused, 10,000 rows at most', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-http-sql-'));
    const warehouse = join(dir, 'w.duckdb');
    const token = 'another-long-enough-secret';
    await cluster().sql(`INSERT INTO events SELECT i, 'note ' || i FROM generate_series(1, 10050) AS i`);
    const run = startCli(
      [
        'run',
        '--source',
        cluster().url(),
        '--warehouse',
        warehouse,
        '--tables',
        'public.events',
        '--slot',
        'http_sql',
        '--publication',
        'http_sql',
        '--http',
        '127.0.0.1:0',
      ],
      { TRIBUTARY_HTTP_TOKEN: token },
    );
    try {
      const port = await httpPort(run);
      await waitForWarehouse(cluster(), { slot: 'http_sql', warehouse });
      expect(run.stderr()).not.toContain(token);
      expect((await postSql(port, 'SELECT 1')).status).toBe(401);
      expect((await fetch(`http://127.0.0.1:${port}/api/tables`)).status).toBe(401);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);

      const answer = await postSql(port, 'SELECT count(*) AS n, max(note) AS top FROM events', token);
      expect(answer.status).toBe(200);
      expect(await answer.json()).toEqual({
        columns: [
          { name: 'n', type: 'BIGINT' },
          { name: 'top', type: 'VARCHAR' },
        ],
        rows: [['10050', 'note 9999']],
        truncated: false,
      });
      const all = (await (await postSql(port, 'SELECT id FROM events ORDER BY id', token)).json()) as {
        rows: unknown[][];
        truncated: boolean;
      };
      expect(all.rows).toHaveLength(10_000);
      expect(all.rows[0]).toEqual(['1']);
      expect(all.truncated).toBe(true);

      const csv = join(dir, 'secret.csv');
      writeFileSync(csv, 'a\n1\n');
      for (const sql of [
        'DELETE FROM events',
        "UPDATE events SET note = 'x'",
        "INSERT INTO events VALUES (0, 'x')",
        'DROP TABLE events',
        'CREATE TABLE t (a int)',
        `ATTACH '${join(dir, 'x.duckdb')}' AS x`,
        `COPY events TO '${join(dir, 'out.csv')}'`,
        'PRAGMA database_list',
        'SET threads = 1',
        'SELECT 1; DELETE FROM events',
        `SELECT * FROM read_csv('${csv}')`,
        `SELECT * FROM '${csv}'`,
        "SELECT getenv('HOME')",
      ]) {
        const refused = await postSql(port, sql, token);
        expect(refused.status, sql).toBe(400);
        expect(await refused.json(), sql).toMatchObject({
          code: 'USAGE',
          error: expect.any(String),
          hint: expect.any(String),
        });
      }
      const after = (await (await postSql(port, 'SELECT count(*) FROM events', token)).json()) as {
        rows: unknown[][];
      };
      expect(after.rows).toEqual([['10050']]);
    } finally {
      run.child.kill('SIGTERM');
    }
    expect((await run.exited).code, run.stderr()).toBe(0);
  });

  it('serves HTTP by default (on 7878, or a free port when it is taken), and nothing with --no-http', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-http-default-'));
    const byDefault = startCli([
      'run',
      '--source',
      cluster().url(),
      '--warehouse',
      join(dir, 'a.duckdb'),
      '--tables',
      'public.events',
      '--slot',
      'http_default',
      '--publication',
      'http_default',
    ]);
    const second = startCli([
      'run',
      '--source',
      cluster().url(),
      '--warehouse',
      join(dir, 'b.duckdb'),
      '--tables',
      'public.events',
      '--slot',
      'http_default_2',
      '--publication',
      'http_default_2',
    ]);
    const none = startCli([
      'run',
      '--source',
      cluster().url(),
      '--warehouse',
      join(dir, 'c.duckdb'),
      '--tables',
      'public.events',
      '--slot',
      'http_none',
      '--publication',
      'http_none',
      '--no-http',
    ]);
    const config = join(dir, 'no-http.yml');
    writeFileSync(
      config,
      `source: ${cluster().url()}
warehouse: ${join(dir, 'd.duckdb')}
tables: [public.events]
slot: http_none_file
publication: http_none_file
http: false
`,
    );
    const noneByFile = startCli(['run', '--config', config]);
    try {
      // two runs at once: at most one has 7878, the other says so once and serves elsewhere
      const ports = [await httpPort(byDefault), await httpPort(second)];
      expect(ports[0]).not.toBe(ports[1]);
      for (const port of ports) {
        expect(await get(port, '/healthz')).toEqual({ ok: true });
        expect(await get(port, '/api/tables')).toHaveProperty('tables');
      }
      for (const [i, port] of ports.entries()) {
        const stderr = [byDefault, second][i]!.stderr();
        if (port !== 7878) expect(stderr.match(/default HTTP port is taken/g)).toHaveLength(1);
        expect(stderr).toContain(`"dashboard":"http://127.0.0.1:${port}/"`);
      }
      for (const run of [none, noneByFile]) {
        await waitFor(
          'the run without HTTP to stream',
          () => /replication slot/.test(run.stderr()) || undefined,
        );
        expect(run.stderr()).not.toMatch(/serving the HTTP API|dashboard/);
      }
      const badSample = await runCli(['run', '--source', cluster().url(), '--lag-sample', '10ms']);
      expect(badSample.code).toBe(2);
      expect(badSample.stderr).toMatch(/--lag-sample is from 100ms to 1h/);
    } finally {
      for (const run of [byDefault, second, none, noneByFile]) run.child.kill('SIGTERM');
    }
    for (const run of [byDefault, second, none, noneByFile])
      expect((await run.exited).code, run.stderr()).toBe(0);
  });
});
