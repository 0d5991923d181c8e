/**
 * The HTTP server of `run`, on its own: where it listens when the default port is taken, the
 * live change stream (backlog, live changes, resuming without duplicates, keepalive, and
 * ending when the server closes), the token on every route but /healthz, and SQL served only
 * with a token. Real sockets, a real Telemetry, SQL on a real DuckDB.
 */
import { get } from 'node:http';
import { createServer, type Server } from 'node:net';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TributaryError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { Telemetry } from '../../src/pipeline/telemetry.js';
import { HttpApi, type HttpApiHandlers } from '../../src/server/http-api.js';
import { PrometheusExporter } from '../../src/server/prometheus.js';
import { readOnlyOnOwnConnection } from '../../src/warehouse/duckdb/read-only-sql.js';
import { readSse } from '../helpers/sse.js';
import { change } from '../warehouse/items.js';

const LOOPBACK = '127.0.0.1';

/** The status of a GET sent with this Host header (fetch does not let a caller set it). */
function statusFor(port: number, path: string, host: string, token?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = get(
      {
        host: LOOPBACK,
        port,
        path,
        headers: { host, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      },
      (response) => {
        response.destroy();
        resolve(response.statusCode ?? 0);
      },
    );
    request.on('error', reject);
  });
}

describe('the HTTP server of tributary run', () => {
  let instance: DuckDBInstance;
  beforeAll(async () => {
    instance = await DuckDBInstance.create(':memory:');
    const c = await instance.connect();
    await c.run('CREATE TABLE orders AS SELECT range AS id FROM range(3)');
    c.closeSync();
  });
  afterAll(() => instance.closeSync());

  function handlers(telemetry = new Telemetry()): HttpApiHandlers {
    return {
      metrics: () => null,
      status: async () => ({ running: true }),
      tables: async () => [],
      checks: async () => [],
      backfills: async () => [],
      sql: (text, maxRows, signal) =>
        readOnlyOnOwnConnection(() => instance.connect(), text, { maxRows, timeoutMs: 10_000, signal }),
      telemetry,
      sampleEveryMs: 1000,
      prometheus: new PrometheusExporter({
        telemetry,
        source: async () => null,
        checks: async () => [],
        jobs: async () => [],
        alerts: () => [],
      }),
      alerts: () => ({ thresholds: null, open: [] }),
    };
  }

  it('serves a free port when the default one is taken, and fails naming an address the user gave', async () => {
    const occupier: Server = createServer();
    await new Promise<void>((resolve) => occupier.listen(0, LOOPBACK, resolve));
    const taken = (occupier.address() as { port: number }).port;
    try {
      const api = await HttpApi.start({ host: LOOPBACK, port: taken }, null, handlers(), silentLogger(), {
        fallback: true,
      });
      try {
        expect(api.port).not.toBe(taken);
        const health = await fetch(`http://${LOOPBACK}:${api.port}/healthz`);
        expect(health.status).toBe(200);
        expect(await health.json()).toEqual({ ok: true });
      } finally {
        await api.close();
      }
      const given = await HttpApi.start(
        { host: LOOPBACK, port: taken },
        null,
        handlers(),
        silentLogger(),
      ).catch((error: unknown) => error);
      expect(given).toBeInstanceOf(TributaryError);
      expect((given as TributaryError).code).toBe('USAGE');
      expect((given as TributaryError).message).toContain(`${LOOPBACK}:${taken}`);
      expect((given as TributaryError).message).toContain('EADDRINUSE');
    } finally {
      occupier.close();
    }
  });

  it('streams changes: the backlog, then live ones; resumes after Last-Event-ID with no duplicate; ends on close', async () => {
    const telemetry = new Telemetry();
    telemetry.applied(
      [change('insert', 16n, 0, { row: { id: 1 } }), change('insert', 16n, 1, { row: { id: 2 } })],
      1,
    );
    const api = await HttpApi.start({ host: LOOPBACK, port: 0 }, null, handlers(telemetry), silentLogger(), {
      keepaliveMs: 100,
    });
    const base = `http://${LOOPBACK}:${api.port}`;
    try {
      const response = await fetch(`${base}/api/events/stream`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(response.headers.get('cache-control')).toBe('no-store');
      const stream = readSse(response);
      await stream.until('the backlog', (events) => events.length >= 2);
      telemetry.applied([change('update', 17n, 0, { row: { id: 2 } })], 1);
      await stream.until('the live change', (events) => events.length >= 3);
      await stream.until('a keepalive', () => stream.comments.includes('keepalive'));
      expect(stream.events.map((e) => [e.id, e.event])).toEqual([
        ['1', 'change'],
        ['2', 'change'],
        ['3', 'change'],
      ]);
      const live = JSON.parse(stream.events[2]!.data) as Record<string, unknown>;
      expect(live).toMatchObject({ seq: 3, op: 'update', key: { id: 2 }, table: 'public.items' });
      await stream.cancel();

      // a browser reconnecting after event 2 gets 3 and what came since, once each
      telemetry.applied([change('delete', 18n, 0, { pk: { id: 1 } })], 1);
      const resumed = readSse(
        await fetch(`${base}/api/events/stream`, { headers: { 'last-event-id': '2' } }),
      );
      await resumed.until('the changes after 2', (events) => events.length >= 2);
      telemetry.applied([change('insert', 19n, 0, { row: { id: 5 } })], 1);
      await resumed.until('the next live change', (events) => events.length >= 3);
      expect(resumed.events.map((e) => e.id)).toEqual(['3', '4', '5']);
      const after = readSse(await fetch(`${base}/api/events/stream?after=4`));
      await after.until('the change after 4', (events) => events.length >= 1);
      expect(after.events.map((e) => e.id)).toEqual(['5']);
      expect((await fetch(`${base}/api/events/stream?after=minus-one`)).status).toBe(400);
      // an id from before a restart (seqs start again at 1) gets what is kept, not silence
      const stale = readSse(
        await fetch(`${base}/api/events/stream`, { headers: { 'last-event-id': '999' } }),
      );
      await stale.until('the kept changes', (events) => events.length >= 5);
      expect(stale.events.map((e) => e.id)).toEqual(['1', '2', '3', '4', '5']);

      // closing the server ends the open streams (run stops promptly on SIGTERM)
      await api.close();
      await resumed.ended;
      await after.ended;
      await stale.ended;
    } finally {
      await api.close();
    }
  });

  it('asks for the token on every route but /healthz, and serves SQL only when a token is configured', async () => {
    const token = 'a-long-enough-secret-token';
    const guarded = await HttpApi.start({ host: LOOPBACK, port: 0 }, token, handlers(), silentLogger());
    const open = await HttpApi.start({ host: LOOPBACK, port: 0 }, null, handlers(), silentLogger());
    const sql = (port: number, body: string, headers: Record<string, string> = {}) =>
      fetch(`http://${LOOPBACK}:${port}/api/sql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
    try {
      const base = `http://${LOOPBACK}:${guarded.port}`;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      // the dashboard's page (static, no data) loads without it: src/server/dashboard.test.ts
      for (const path of [
        '/api/status',
        '/api/tables',
        '/api/lag',
        '/api/events',
        '/api/events/stream',
        '/api/checks',
        '/api/backfills',
        '/api/metrics',
        '/api/nothing',
      ]) {
        const denied = await fetch(`${base}${path}`);
        expect(denied.status, path).toBe(401);
        expect(denied.headers.get('www-authenticate')).toBe('Bearer');
        const wrong = await fetch(`${base}${path}`, {
          headers: { authorization: 'Bearer wrong-token-of-some-size' },
        });
        expect(wrong.status, path).toBe(401);
      }
      expect((await sql(guarded.port, '{"sql":"SELECT 1"}')).status).toBe(401);
      const auth = { authorization: `Bearer ${token}` };
      expect((await fetch(`${base}/api/events`, { headers: auth })).status).toBe(200);
      const answer = await sql(guarded.port, '{"sql":"SELECT id FROM orders ORDER BY id"}', auth);
      expect(answer.status).toBe(200);
      expect(await answer.json()).toEqual({
        columns: [{ name: 'id', type: 'BIGINT' }],
        rows: [['0'], ['1'], ['2']],
        truncated: false,
      });
      const refused = await sql(guarded.port, '{"sql":"DROP TABLE orders"}', auth);
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({ code: 'USAGE', hint: expect.any(String) });
      expect((await sql(guarded.port, 'not json', auth)).status).toBe(400);
      expect((await sql(guarded.port, '{"query":"SELECT 1"}', auth)).status).toBe(400);
      expect(
        (await sql(guarded.port, JSON.stringify({ sql: `SELECT '${'x'.repeat(70_000)}'` }), auth)).status,
      ).toBe(413);
      const plain = await fetch(`http://${LOOPBACK}:${guarded.port}/api/sql`, {
        method: 'POST',
        headers: auth,
        body: '{"sql":"SELECT 1"}',
      });
      expect(plain.status).toBe(415);
      expect((await fetch(`${base}/api/sql`, { headers: auth })).status).toBe(405);
      expect((await fetch(`${base}/api/tables`, { method: 'POST', headers: auth })).status).toBe(405);
      expect((await fetch(`${base}/api/nothing`, { headers: auth })).status).toBe(404);

      // without a token the data stays in: 403, saying what to set
      const forbidden = await sql(open.port, '{"sql":"SELECT 1"}');
      expect(forbidden.status).toBe(403);
      expect(await forbidden.json()).toMatchObject({
        code: 'FORBIDDEN',
        hint: expect.stringMatching(/TRIBUTARY_HTTP_TOKEN/),
      });
      expect((await fetch(`http://${LOOPBACK}:${open.port}/api/tables`)).status).toBe(200);
      expect((await fetch(`http://localhost:${open.port}/api/tables`)).status).toBe(200);
      // without a token, a request addressed to another name (DNS rebinding) reads nothing
      expect(await statusFor(open.port, '/api/tables', 'attacker.example')).toBe(403);
      expect(await statusFor(open.port, '/api/events/stream', `attacker.example:${open.port}`)).toBe(403);
      expect(await statusFor(open.port, '/healthz', 'attacker.example')).toBe(200);
      expect(await statusFor(open.port, '/api/tables', `127.0.0.1:${open.port}`)).toBe(200);
      // with a token the token decides, whatever the name
      expect(await statusFor(guarded.port, '/api/tables', 'tributary.internal', token)).toBe(200);
    } finally {
      await guarded.close();
      await open.close();
    }
  });
});
