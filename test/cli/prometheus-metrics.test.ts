/**
 * `tributary run --http`: GET /metrics is the Prometheus text format a real parser reads, with
 * every family of the contract (README, "Prometheus and alerts") of the right type and labels,
 * and the applied-change counters equal to the rows written; it needs the token when one is set.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import parsePrometheusTextFormat, { type PrometheusFamily } from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { httpPort, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';
import { waitForWarehouse } from '../helpers/warehouse.js';

const TOKEN = 'a-long-enough-scrape-token';

async function scrape(port: number): Promise<Map<string, PrometheusFamily>> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const families = parsePrometheusTextFormat(await response.text());
  return new Map(families.map((f) => [f.name, f]));
}

function family(families: Map<string, PrometheusFamily>, name: string): PrometheusFamily {
  const found = families.get(name);
  if (!found) throw new Error(`no metric family ${name} in the scrape`);
  return found;
}

function value(families: Map<string, PrometheusFamily>, name: string, labels: Record<string, string> = {}) {
  const sample = family(families, name).metrics.find((m) =>
    Object.entries(labels).every(([k, v]) => m.labels?.[k] === v),
  );
  return sample?.value === undefined ? undefined : Number(sample.value);
}

describe('GET /metrics of tributary run', () => {
  const cluster = useCluster({
    binaries: newestBinaries(),
    setup: (c) =>
      c.sql(`CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL);
             CREATE TABLE events (id bigint PRIMARY KEY, kind text)`),
  });

  it('serves the contract families to a Prometheus parser, counting what was applied', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-prometheus-'));
    const config = join(dir, 'tributary.yml');
    writeFileSync(
      config,
      `checks:
  - { name: item-ids, type: unique, table: items, columns: [id], every: 1s }
alerts:
  lagSeconds: 3600
  walRetainedBytes: 10GB
`,
    );
    const warehouse = join(dir, 'w.duckdb');
    const run = startCli(
      [
        'run',
        '--source',
        cluster().url(),
        '--warehouse',
        warehouse,
        '--config',
        config,
        '--http',
        '127.0.0.1:0',
        '--batch-delay',
        '20ms',
      ],
      { TRIBUTARY_HTTP_TOKEN: TOKEN },
    );
    try {
      const port = await httpPort(run);
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(401);
      const wrong = await fetch(`http://127.0.0.1:${port}/metrics`, {
        headers: { authorization: 'Bearer not-the-scrape-token-at-all' },
      });
      expect(wrong.status).toBe(401);

      await waitFor('the slot', () => /replication slot/.test(run.stderr()) || undefined);
      await cluster().sql(`INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 7) g`);
      await cluster().sql(`INSERT INTO events VALUES (1, 'a'), (2, 'b'), (3, null)`);
      await cluster().sql(`UPDATE events SET kind = 'c' WHERE id = 3`);
      await cluster().sql(`DELETE FROM items WHERE id = 7`);
      await waitForWarehouse(cluster(), { warehouse });

      // the check has run and the slot has been sampled (every 5 s)
      const families = await waitFor('a scrape with a check result and a slot reading', async () => {
        const f = await scrape(port);
        const checked = family(f, 'tributary_check_failing').metrics.length > 0;
        const sampled = value(f, 'tributary_slot_retained_wal_bytes') !== undefined;
        return (checked && sampled && f) || undefined;
      });

      const types = Object.fromEntries([...families.values()].map((f) => [f.name, f.type]));
      expect(types).toMatchObject({
        tributary_end_to_end_lag_seconds: 'GAUGE',
        tributary_slot_lag_bytes: 'GAUGE',
        tributary_slot_retained_wal_bytes: 'GAUGE',
        tributary_changes_applied_total: 'COUNTER',
        tributary_batch_items: 'HISTOGRAM',
        tributary_batch_apply_seconds: 'HISTOGRAM',
        tributary_source_connected: 'GAUGE',
        tributary_source_reconnects_total: 'COUNTER',
        tributary_check_failing: 'GAUGE',
        tributary_check_last_run_timestamp_seconds: 'GAUGE',
        tributary_backfill_rows_done: 'GAUGE',
        tributary_backfill_rows_estimated: 'GAUGE',
        tributary_alert_active: 'GAUGE',
        tributary_process_resident_memory_bytes: 'GAUGE',
      });

      const applied = family(families, 'tributary_changes_applied_total').metrics;
      for (const m of applied) expect(Object.keys(m.labels ?? {}).sort()).toEqual(['op', 'table']);
      expect(
        value(families, 'tributary_changes_applied_total', { table: 'public.items', op: 'insert' }),
      ).toBe(7);
      expect(
        value(families, 'tributary_changes_applied_total', { table: 'public.items', op: 'delete' }),
      ).toBe(1);
      expect(
        value(families, 'tributary_changes_applied_total', { table: 'public.events', op: 'insert' }),
      ).toBe(3);
      expect(
        value(families, 'tributary_changes_applied_total', { table: 'public.events', op: 'update' }),
      ).toBe(1);

      for (const name of ['tributary_batch_items', 'tributary_batch_apply_seconds']) {
        const [histogram] = family(families, name).metrics;
        expect(Number(histogram?.count), name).toBeGreaterThanOrEqual(1);
        expect(histogram?.buckets?.['+Inf'], name).toBe(histogram?.count);
      }
      expect(value(families, 'tributary_source_connected')).toBe(1);
      expect(value(families, 'tributary_source_reconnects_total')).toBe(0);
      expect(value(families, 'tributary_end_to_end_lag_seconds')).toBeGreaterThanOrEqual(0);
      expect(value(families, 'tributary_slot_lag_bytes')).toBeGreaterThanOrEqual(0);

      const [check] = family(families, 'tributary_check_failing').metrics;
      expect(check).toEqual({ labels: { check: 'item-ids', type: 'unique', severity: 'error' }, value: '0' });
      const ran = value(families, 'tributary_check_last_run_timestamp_seconds', { check: 'item-ids' });
      expect(ran).toBeGreaterThan(Date.parse('2026-01-01') / 1000);
      // the first copy's jobs are done: no live job is shown
      expect(family(families, 'tributary_backfill_rows_done').metrics).toEqual([]);
      const alerts = family(families, 'tributary_alert_active').metrics;
      expect(alerts).toEqual([
        { labels: { alert: 'check:item-ids' }, value: '0' },
        { labels: { alert: 'lag' }, value: '0' },
        { labels: { alert: 'wal_retained' }, value: '0' },
      ]);

      const open = await fetch(`http://127.0.0.1:${port}/api/alerts`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(await open.json()).toEqual({
        thresholds: { walRetainedBytes: 10 * 1024 ** 3, lagSeconds: 3600, checks: true },
        open: [],
      });
      expect((await fetch(`http://127.0.0.1:${port}/api/alerts`)).status).toBe(401);
    } finally {
      run.child.kill('SIGTERM');
    }
    const exited = await run.exited;
    expect(exited.code, exited.stderr).toBe(0);
    expect(exited.stderr).not.toContain(TOKEN);
  });
});
