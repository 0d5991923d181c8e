/**
 * The dashboard in a real browser (headless Chromium, test/helpers/browser.ts) against a real
 * `tributary run --http` on a throwaway Postgres: it asks for the token and then sends it, shows
 * the pipeline's health, the lag chart grows while rows are written, a row written after the
 * page loaded appears in the live feed by its key, a failing check shows its failing rows, the
 * first copy's jobs and the WAL alert threshold show, the shipped metric is drawn by country,
 * and nothing is fetched from anywhere but the server itself, with nothing blocked by its
 * Content-Security-Policy. The screenshot is kept as test-artifacts/dashboard.png.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { launchChromium } from '../helpers/browser.js';
import { httpPort, runArgs, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';

const TOKEN = 'dashboard-test-token-0123456789';
const WAIT = { timeout: 30_000 };

describe('the dashboard of tributary run --http', () => {
  const cluster = useCluster({
    setup: (c) =>
      c.sql(`CREATE TABLE customers (id bigint PRIMARY KEY, email text);
             INSERT INTO customers VALUES (1, NULL), (2, 'two@example.com'), (3, 'three@example.com');
             CREATE TABLE orders (id bigint PRIMARY KEY, country text NOT NULL, total numeric(12,2) NOT NULL,
               status text NOT NULL DEFAULT 'paid', created_at timestamptz NOT NULL);
             INSERT INTO orders VALUES (1, 'US', 100, 'paid', '2026-03-01 10:00+00'),
               (2, 'CA', 50, 'paid', '2026-03-01 11:00+00'), (3, 'US', 7, 'paid', '2026-03-02 03:00+00')`),
  });

  it('shows health, a growing lag chart, live changes, a failing check with its sample, jobs and a metric', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-dashboard-'));
    const config = join(dir, 'tributary.yml');
    writeFileSync(
      config,
      `metrics: { dir: ${JSON.stringify(join(REPO_ROOT, 'examples', 'metrics'))} }
checks:
  - { name: emails-present, type: not_null, table: customers, columns: [email], every: 1s }
alerts: { walRetainedBytes: 1GB }
`,
    );
    const run = startCli(
      runArgs(
        cluster().url(),
        join(dir, 'w.duckdb'),
        '--config',
        config,
        '--http',
        '127.0.0.1:0',
        '--lag-sample',
        '300ms',
      ),
      { TRIBUTARY_HTTP_TOKEN: TOKEN },
    );
    const browser = await launchChromium();
    try {
      const port = await httpPort(run);
      const origin = `http://127.0.0.1:${port}`;
      const page = await browser.context.newPage();
      const requests: string[] = [];
      const problems: string[] = [];
      const failed: string[] = [];
      page.on('request', (request) => requests.push(request.url()));
      page.on('response', (response) => {
        if (response.status() >= 400) failed.push(`${response.status()} ${new URL(response.url()).pathname}`);
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      // CSP violations and script errors; failed requests are judged below, by status and path
      page.on('console', (message) => {
        if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
          problems.push(`console: ${message.text()}`);
      });
      await page.goto(`${origin}/`);

      // the first copy done (before that the metric's table is not there: 400, as it should be)
      await waitFor('the first copy', async () => {
        const answer = await fetch(`${origin}/api/backfills`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        const { jobs } = (await answer.json()) as { jobs: { state: string }[] };
        return (jobs.length === 2 && jobs.every((j) => j.state === 'done')) || undefined;
      });
      // the server wants its token: the page asks for it, keeps it for the tab and sends it
      await page.locator('#token-input').fill(TOKEN, WAIT);
      await page.locator('#token-form button').click();
      await page
        .locator('#health-state')
        .filter({ hasText: /healthy|degraded/ })
        .waitFor(WAIT);
      await page.locator('#fig-running').filter({ hasText: 'running' }).waitFor(WAIT);
      await page
        .locator('#fig-connected')
        .filter({ hasText: /^connected$/ })
        .waitFor(WAIT);
      await page.locator('#tables tbody tr[data-table="public.customers"]').waitFor(WAIT);

      const points = async () => Number(await page.locator('#chart-lag').getAttribute('data-points'));
      await waitFor('the first lag samples', async () => (await points()) > 0 || undefined);
      const before = await points();
      for (let i = 0; i < 5; i++)
        await cluster().sql(`INSERT INTO customers VALUES (${4240 + i}, 'c${i}@example.com')`);
      await cluster().sql(`UPDATE customers SET email = 'x@example.com' WHERE id = 4242`);
      await waitFor('more lag samples', async () => (await points()) > before || undefined);

      // a row written after the page loaded comes over the live feed, by its key
      await page.locator('#feed tbody tr', { hasText: 'id=4242' }).first().waitFor(WAIT);
      await expect
        .poll(() => page.locator('#feed tbody tr.op-update', { hasText: 'id=4242' }).count(), WAIT)
        .toBe(1);
      expect(await page.locator('#feed tbody tr.op-insert', { hasText: 'id=4244' }).count()).toBe(1);
      expect(await page.locator('#feed-state').textContent()).toBe('live'); // the SSE stream, not polling

      // the failing check, with its failing row when expanded
      const check = page.locator('#checks details[data-check="emails-present"][data-status="fail"]');
      await check.waitFor(WAIT);
      expect(await page.locator('#health').getAttribute('data-state')).toBe('degraded');
      await check.locator('summary').click();
      const sample = check.locator('table.sample');
      await sample.waitFor(WAIT);
      const cells = await sample.locator('tbody tr').first().locator('td').allTextContents();
      expect(cells).toContain('1');
      expect(cells).toContain('NULL');

      // the first copy's jobs, done; the WAL alert threshold drawn on the slot chart
      const job = page.locator('#backfills [data-state="done"]', { hasText: 'public.orders' });
      expect(await job.locator('progress').getAttribute('value')).toBe('3');
      expect(await job.locator('progress').getAttribute('max')).toBe('3');
      expect(await page.locator('#chart-slot').getAttribute('data-threshold')).toBe(String(1024 ** 3));

      // the shipped metric by a dimension: one line per country, one point per day
      await page.locator('#metric-by').selectOption('country', WAIT);
      await page.locator('#metric-from').fill('2026-03-01');
      await page.locator('#metric-to').fill('2026-03-04');
      await page.locator('#metric-form button').click();
      await expect.poll(() => page.locator('#chart-metric').getAttribute('data-series'), WAIT).toBe('2');
      expect(await page.locator('#chart-metric').getAttribute('data-points')).toBe('3');
      expect(await page.locator('#chart-metric .u-legend').textContent()).toMatch(/CA.*US/);

      mkdirSync(join(REPO_ROOT, 'test-artifacts'), { recursive: true });
      await page.screenshot({ path: join(REPO_ROOT, 'test-artifacts', 'dashboard.png'), fullPage: true });

      expect(problems).toEqual([]);
      // before the token: 401s, and nothing else failed
      expect(failed.filter((f) => !f.startsWith('401 /api/'))).toEqual([]);
      expect(failed).toContain('401 /api/status');
      expect(requests.filter((url) => !url.startsWith(`${origin}/`))).toEqual([]);
      expect(requests.filter((url) => url.includes(TOKEN))).toEqual([]);
      expect(run.stderr()).not.toContain(TOKEN);
    } finally {
      await browser.close();
      run.child.kill('SIGTERM');
    }
    expect((await run.exited).code, run.stderr()).toBe(0);
  });
});
