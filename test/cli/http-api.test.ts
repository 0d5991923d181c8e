/**
 * `tributary run --http`: the metrics layer over HTTP gives the numbers the command line gives;
 * hostile dimensions, grains, dates, zones and parameters get 400 with a message (and leave the
 * warehouse as it was); an address other than loopback is refused without a token (exit 2), and
 * with one every request must carry it.
 */
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newestBinaries, REPO_ROOT } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { httpPort, runCli, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';
import { waitForWarehouse } from '../helpers/warehouse.js';

const EXAMPLE = join(REPO_ROOT, 'examples', 'metrics', 'net_revenue.yml');

async function get(
  port: number,
  path: string,
  token?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('the HTTP API of tributary run', () => {
  const cluster = useCluster({
    binaries: newestBinaries(),
    setup: (c) =>
      c.sql(`CREATE TABLE orders (id bigint PRIMARY KEY, country text NOT NULL, total numeric(12,2) NOT NULL,
          status text NOT NULL DEFAULT 'paid', created_at timestamptz NOT NULL DEFAULT now())`),
  });

  it('serves metric queries as the command line does, refuses hostile requests with 400', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-http-'));
    const warehouse = join(dir, 'w.duckdb');
    mkdirSync(join(dir, 'metrics'));
    copyFileSync(EXAMPLE, join(dir, 'metrics', 'net_revenue.yml'));
    const run = startCli([
      'run',
      '--source',
      cluster().url(),
      '--warehouse',
      warehouse,
      '--metrics',
      join(dir, 'metrics'),
      '--http',
      '127.0.0.1:0',
      '--batch-delay',
      '20ms',
    ]);
    try {
      const port = await httpPort(run);
      // written once the slot exists, so the stream carries them (waitForWarehouse then means applied)
      await waitFor('the slot', () => /replication slot/.test(run.stderr()) || undefined);
      await cluster().sql(`INSERT INTO orders (id, country, total, created_at) VALUES
        (1, 'US', 100, '2026-03-01 10:00+00'), (2, 'CA', 50, '2026-03-01 11:00+00'),
        (3, 'US', 7, '2026-03-02 03:00+00'), (4, 'CA', 20, '2026-03-02 10:00+00')`);
      await cluster().sql(`UPDATE orders SET status = 'refunded' WHERE id = 2`);
      await waitForWarehouse(cluster());

      const list = await get(port, '/api/metrics');
      expect(list.status).toBe(200);
      expect(JSON.stringify(list.body)).toContain('net_revenue');
      const show = await get(port, '/api/metrics/net_revenue@1');
      expect(show.status, JSON.stringify(show.body)).toBe(200);
      expect(JSON.stringify(show.body)).toContain('finance');

      const path = '/api/metrics/net_revenue/query?grain=day&from=2026-03-01&to=2026-03-03&by=country';
      for (const tz of ['UTC', 'America/Los_Angeles']) {
        const http = await get(port, `${path}&tz=${encodeURIComponent(tz)}`);
        expect(http.status, JSON.stringify(http.body)).toBe(200);
        const cli = await runCli([
          'metrics',
          'query',
          'net_revenue',
          '--grain',
          'day',
          '--from',
          '2026-03-01',
          '--to',
          '2026-03-03',
          '--by',
          'country',
          '--tz',
          tz,
          '--json',
          '--warehouse',
          warehouse,
          '--metrics',
          join(dir, 'metrics'),
        ]);
        expect(cli.code, cli.stderr).toBe(0);
        expect(http.body).toEqual(JSON.parse(cli.stdout));
      }
      // the 03:00 UTC order of March 2nd is on March 1st in Los Angeles
      const la = await get(port, `${path}&tz=America%2FLos_Angeles`);
      const rows = (la.body as { rows: unknown[] }).rows;
      expect(rows).toContainEqual({
        period: '2026-03-01',
        country: 'US',
        value: '107.00',
        provisional: false,
      });

      const hostile = [
        `${path.replace('by=country', 'by=country%3B%20DROP%20TABLE%20orders')}`,
        path.replace('by=country', 'by=_tributary_lsn'),
        path.replace('grain=day', 'grain=day%27%29%3B--'),
        path.replace('grain=day', 'grain=decade'),
        path.replace('from=2026-03-01', 'from=2026-03-01%27%20OR%201%3D1--'),
        path.replace('to=2026-03-03', 'to=yesterday'),
        `${path}&tz=Mars%2FOlympus`,
        `${path}&tz=UTC%27%3B%20DROP%20TABLE%20orders%3B--`,
        `${path}&filter=1%3D1`,
        `${path}&grain=month`,
        '/api/metrics/net_revenue%3B%20DROP%20TABLE%20orders/query?grain=day&from=2026-03-01&to=2026-03-02',
        '/api/metrics/net_revenue@9/query?grain=day&from=2026-03-01&to=2026-03-02',
        '/api/metrics/net_revenue/query?grain=day',
      ];
      for (const request of hostile) {
        const answer = await get(port, request);
        expect(answer.status, `${request}: ${JSON.stringify(answer.body)}`).toBe(400);
        expect(answer.body.error, request).toEqual(expect.any(String));
        expect(answer.body.code).toBe('USAGE');
      }
      // nothing happened to the warehouse
      const after = await get(port, `${path}&tz=UTC`);
      expect(after.status).toBe(200);
      expect((after.body as { rows: unknown[] }).rows).toHaveLength(4);
      expect((await get(port, '/api/nothing')).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${port}/api/metrics`, { method: 'POST' })).status).toBe(405);
    } finally {
      run.child.kill('SIGTERM');
    }
    expect((await run.exited).code, run.stderr()).toBe(0);
  });

  it('refuses to serve other machines without a token, and checks the token when it has one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-http-token-'));
    const warehouse = join(dir, 'w.duckdb');
    const exposed = await runCli([
      'run',
      '--source',
      cluster().url(),
      '--warehouse',
      warehouse,
      '--slot',
      'http_token',
      '--http',
      '0.0.0.0:0',
    ]);
    expect(exposed.code, exposed.stderr).toBe(2);
    expect(exposed.stderr).toMatch(/without a token/);
    expect(exposed.stderr).toMatch(/TRIBUTARY_HTTP_TOKEN/);
    const malformed = await runCli([
      'run',
      '--source',
      cluster().url(),
      '--warehouse',
      warehouse,
      '--http',
      'nowhere',
    ]);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/--http must be host:port/);

    const token = 'a-long-enough-secret-token';
    writeFileSync(join(dir, 'empty'), '');
    const run = startCli(
      [
        'run',
        '--source',
        cluster().url(),
        '--warehouse',
        warehouse,
        '--slot',
        'http_token',
        '--http',
        '0.0.0.0:0',
      ],
      { TRIBUTARY_HTTP_TOKEN: token },
    );
    try {
      const port = await httpPort(run, '0.0.0.0');
      expect(run.stderr()).not.toContain(token);
      expect((await get(port, '/api/status')).status).toBe(401);
      expect((await get(port, '/api/status', 'wrong-token-of-some-length')).status).toBe(401);
      const status = await get(port, '/api/status', token);
      expect(status.status).toBe(200);
      expect(status.body).toHaveProperty('checkpoint');
      const none = await get(port, '/api/metrics', token);
      expect(none.status).toBe(404);
      expect(none.body.hint).toMatch(/--metrics/);
    } finally {
      run.child.kill('SIGTERM');
    }
    expect((await run.exited).code, run.stderr()).toBe(0);
  });
});
