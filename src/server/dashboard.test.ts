/**
 * The dashboard's files over a real HTTP API server: the page and every file it names are served
 * with their content types, a strict Content-Security-Policy and an ETag (304 when unchanged);
 * no name outside the fixed list is served, whatever the path tries; the page holds no inline
 * script or style; and with a token configured the page loads while the API still wants it.
 */
import { get } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.js';
import { Telemetry } from '../pipeline/telemetry.js';
import { CONTENT_SECURITY_POLICY } from './dashboard.js';
import { HttpApi } from './http-api.js';
import { PrometheusExporter } from './prometheus.js';

const TOKEN = 'a-token-for-the-dashboard-test';

/** A GET of `path` exactly as written (fetch would resolve `..` and `%2e%2e` first). */
function rawGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('the dashboard files', () => {
  let api: HttpApi;
  let origin: string;
  beforeAll(async () => {
    const telemetry = new Telemetry();
    api = await HttpApi.start(
      { host: '127.0.0.1', port: 0 },
      TOKEN,
      {
        metrics: () => null,
        status: async () => ({ running: true }),
        tables: async () => [],
        checks: async () => [],
        backfills: async () => [],
        sql: async () => {
          throw new Error('no SQL in this test');
        },
        telemetry,
        sampleEveryMs: 5000,
        prometheus: new PrometheusExporter({
          telemetry,
          source: async () => null,
          checks: async () => [],
          jobs: async () => [],
          alerts: () => [],
        }),
        alerts: () => ({ thresholds: null, open: [] }),
      },
      silentLogger(),
    );
    origin = `http://127.0.0.1:${api.port}`;
  });
  afterAll(async () => {
    await api?.close();
  });

  it('serves the page and every file it names, with a strict policy and no inline code', async () => {
    const page = await fetch(`${origin}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'self'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await page.text();
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    expect(html).not.toMatch(/https?:\/\//);

    const named = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(named).toContain('/assets/uplot.iife.min.js');
    expect(named).toContain('/assets/uplot.min.css');
    expect(named).toContain('/assets/dashboard.js');
    const types: Record<string, string> = {
      js: 'text/javascript; charset=utf-8',
      css: 'text/css; charset=utf-8',
      svg: 'image/svg+xml',
    };
    const modules = new Set<string>();
    for (const path of named) {
      const response = await fetch(`${origin}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type'), path).toBe(types[path.split('.').pop()!]);
      const text = await response.text();
      // the modules each script imports are served too
      for (const m of text.matchAll(/from '\.\/([a-z-]+\.js)'/g)) modules.add(m[1]!);
    }
    expect(modules.size).toBeGreaterThan(3);
    for (const module of modules)
      expect((await fetch(`${origin}/assets/${module}`)).status, module).toBe(200);
  });

  it('answers 304 to a browser whose copy is current', async () => {
    const first = await fetch(`${origin}/assets/uplot.iife.min.js`);
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect(first.headers.get('cache-control')).toBe('no-cache');
    const again = await fetch(`${origin}/assets/uplot.iife.min.js`, { headers: { 'if-none-match': etag! } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
  });

  it('serves no file outside its list, whatever the path', async () => {
    for (const path of [
      '/assets/',
      '/assets/index.html',
      '/assets/..%2f..%2fpackage.json',
      '/assets/dashboard.ts',
      '/assets/uplot/dist/uPlot.esm.js',
      '/assets//etc/passwd',
      '/assets/dashboard.js/',
      '/assets/DASHBOARD.JS',
    ]) {
      const response = await rawGet(api.port, path);
      expect(response.status, path).toBe(404);
      expect(response.body, path).toBe('not found\n');
    }
    // dot segments leave /assets/: another route, which wants the token
    for (const path of [
      '/assets/../package.json',
      '/assets/%2e%2e/%2e%2e/package.json',
      '/assets/../../etc/passwd',
    ]) {
      const response = await rawGet(api.port, path);
      expect(response.status, path).toBe(401);
      expect(response.body, path).not.toContain('"version"');
    }
  });

  it('loads the page without the token, while the API wants it', async () => {
    expect((await fetch(`${origin}/api/status`)).status).toBe(401);
    const status = await fetch(`${origin}/api/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(status.status).toBe(200);
    expect((await fetch(`${origin}/`, { method: 'POST' })).status).toBe(401);
  });
});
