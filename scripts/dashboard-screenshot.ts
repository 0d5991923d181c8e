/**
 * `npm run screenshot`: writes docs/dashboard.png, the dashboard of a demo-like run. An embedded
 * Postgres with the demo's `orders` (three weeks of them), `customers` (one without an email,
 * which a warn-severity check finds) and a larger `events` table; `tributary run` (the built
 * CLI) with the shipped metric, checks and a WAL alert threshold; a workload of orders while
 * the page is open; a backfill of `events` under way; the metric drawn by country and the
 * warning check opened. Needs Chromium at /usr/bin/chromium, as the browser tests do.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newestBinaries, PostgresCluster } from '../src/embedded/postgres-cluster.js';
import { launchChromium } from '../test/helpers/browser.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const OUT = join(ROOT, 'docs', 'dashboard.png');
const COUNTRIES = ['US', 'CA', 'DE', 'FR', 'JP'];

const CONFIG = `metrics: { dir: ${JSON.stringify(join(ROOT, 'examples', 'metrics'))} }
checks:
  - { name: lag, type: freshness, warn: 1m, error: 5m, every: 2s }
  - { name: order-ids, type: unique, table: orders, columns: [id], every: 2s }
  - { name: order-status, type: accepted_values, table: orders, column: status, values: [paid, refunded], every: 2s }
  - { name: customer-emails, type: not_null, table: customers, columns: [email], severity: warn, every: 2s }
alerts:
  walRetainedBytes: 64kB
  lagSeconds: 60
`;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function cli(args: readonly string[]): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'info' },
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return { child, stderr: () => stderr };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-screenshot-'));
  const warehouse = join(dir, 'shop.duckdb');
  const config = join(dir, 'tributary.yml');
  writeFileSync(config, CONFIG);
  console.log('▸ starting an embedded PostgreSQL …');
  const cluster = await PostgresCluster.start({ binaries: newestBinaries() });
  let run: ReturnType<typeof cli> | null = null;
  let writing = true;
  try {
    await cluster.sql(`CREATE TABLE orders (
        id bigint PRIMARY KEY, country text NOT NULL, total numeric(12,2) NOT NULL,
        status text NOT NULL DEFAULT 'paid', created_at timestamptz NOT NULL DEFAULT now());
      INSERT INTO orders
        SELECT i, (ARRAY['US','CA','DE','FR','JP'])[1 + i % 5], round((10 + (i * 7919) % 290)::numeric, 2),
               CASE WHEN i % 11 = 0 THEN 'refunded' ELSE 'paid' END,
               now() - make_interval(hours => (i * 37) % (21 * 24))
          FROM generate_series(1, 3000) AS i;
      CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, email text);
      INSERT INTO customers VALUES (1, 'Ada', 'ada@example.com'), (2, 'Grace', NULL), (3, 'Edsger', 'ew@example.com');
      CREATE TABLE events (id bigint PRIMARY KEY, kind text NOT NULL, at timestamptz NOT NULL);
      INSERT INTO events SELECT i, 'view', now() - make_interval(secs => i) FROM generate_series(1, 1500000) AS i;`);

    console.log('▸ starting tributary run --http …');
    const r = cli([
      'run',
      '--source',
      cluster.url(),
      '--warehouse',
      warehouse,
      '--config',
      config,
      '--http',
      '127.0.0.1:0',
      '--lag-sample',
      '500ms',
      '--batch-delay',
      '50ms',
      '--snapshot-chunk-rows',
      '50000',
    ]);
    run = r;
    const port = await until('the HTTP API', async () => {
      const match = /"http":"127\.0\.0\.1:(\d+)"/.exec(r.stderr());
      return match ? Number(match[1]) : undefined;
    });
    const origin = `http://127.0.0.1:${port}`;
    const jobs = async () =>
      ((await (await fetch(`${origin}/api/backfills`)).json()) as { jobs: { state: string; rows: number }[] })
        .jobs;
    await until('the first copy', async () => {
      const all = await jobs();
      return all.length > 0 && all.every((j) => j.state === 'done') ? true : undefined;
    });

    const workload = (async () => {
      for (let id = 10_000; writing; id++) {
        const country = COUNTRIES[id % COUNTRIES.length];
        await cluster.sql(
          `INSERT INTO orders (id, country, total, created_at) VALUES ($1, $2, $3, now() - make_interval(hours => $4))`,
          [id, country, (20 + (id % 180)).toFixed(2), id % 48],
        );
        if (id % 7 === 0) await cluster.sql(`UPDATE orders SET status = 'refunded' WHERE id = $1`, [id - 3]);
        await new Promise((res) => setTimeout(res, 40 + (id % 5) * 40));
      }
    })();

    const browser = await launchChromium({ width: 1440, height: 1100 });
    try {
      const page = await browser.context.newPage();
      await page.goto(`${origin}/`);
      await page
        .locator('#health-state')
        .filter({ hasText: /healthy|degraded/ })
        .waitFor();
      await page.locator('#metric-by').selectOption('country', { timeout: 30_000 });
      await page.locator('#metric-form button').click();
      await until('the metric by country', async () =>
        Number(await page.locator('#chart-metric').getAttribute('data-series')) > 1 ? true : undefined,
      );
      await page.locator('#checks details[data-check="customer-emails"] summary').click({ timeout: 30_000 });
      // let the charts gather a few dozen samples of the workload
      await new Promise((res) => setTimeout(res, 15_000));
      console.log('▸ a backfill of public.events …');
      cli(['backfill', 'public.events', '--reason', 'repair after incident', '--warehouse', warehouse]);
      await until('the backfill under way', async () => {
        const running = (await jobs()).find((j) => j.state === 'running' && j.rows > 0);
        return running ? true : undefined;
      });
      await new Promise((res) => setTimeout(res, 2500));
      mkdirSync(join(ROOT, 'docs'), { recursive: true });
      await page.screenshot({ path: OUT, fullPage: true });
      console.log(`▸ wrote ${OUT}`);
    } finally {
      await browser.close();
      writing = false;
      await workload;
    }
  } finally {
    writing = false;
    if (run) {
      const exited = new Promise((res) => run?.child.once('exit', res));
      run.child.kill('SIGTERM');
      await exited;
    }
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
