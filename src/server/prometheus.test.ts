import parsePrometheusTextFormat, { type PrometheusFamily } from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import type { CheckStatus, JobStatus } from '../pipeline/status-report.js';
import { Telemetry } from '../pipeline/telemetry.js';
import { PrometheusExporter } from './prometheus.js';

function job(id: string, state: string, rows: number, rowsEstimated: number | null): JobStatus {
  return {
    id,
    table: 'public.orders',
    predicate: null,
    reason: 'backfill',
    state,
    requestedAt: '2026-11-22 10:00:00+00',
    startedAt: null,
    finishedAt: null,
    rows,
    rowsEstimated,
    attempts: 1,
    error: null,
  };
}

function check(name: string, severity: string, status: string): CheckStatus {
  return { name, type: 'unique', severity, status, message: '', finishedAt: '2026-11-22 10:00:00+00' };
}

function byName(text: string): Map<string, PrometheusFamily> {
  return new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
}

describe('PrometheusExporter', () => {
  it('shows live jobs only, failing checks as 1, unknown gauges without a sample, and reads each source once per scrape', async () => {
    const telemetry = new Telemetry();
    let checkReads = 0;
    let jobReads = 0;
    const exporter = new PrometheusExporter({
      telemetry,
      source: async () => null,
      checks: async () => {
        checkReads++;
        return [
          check('ids', 'error', 'fail'),
          check('soft', 'warn', 'warn'),
          check('broken', 'error', 'error'),
        ];
      },
      jobs: async () => {
        jobReads++;
        return [job('j1', 'done', 10, 10), job('j2', 'running', 4, 9), job('j3', 'pending', 0, null)];
      },
      alerts: () => [{ alert: 'lag', active: true }],
    });
    try {
      telemetry.applied([], 12);
      const families = byName(await exporter.scrape());
      expect(checkReads).toBe(1);
      expect(jobReads).toBe(1);
      expect(family(families, 'tributary_end_to_end_lag_seconds').metrics).toEqual([]);
      expect(family(families, 'tributary_source_connected').metrics).toEqual([{ value: '0' }]);
      expect(family(families, 'tributary_check_failing').metrics).toEqual([
        { labels: { check: 'ids', type: 'unique', severity: 'error' }, value: '1' },
        { labels: { check: 'soft', type: 'unique', severity: 'warn' }, value: '0' },
        { labels: { check: 'broken', type: 'unique', severity: 'error' }, value: '1' },
      ]);
      expect(family(families, 'tributary_check_last_run_timestamp_seconds').metrics[0]).toEqual({
        labels: { check: 'ids' },
        value: String(Date.parse('2026-11-22T10:00:00Z') / 1000),
      });
      expect(family(families, 'tributary_backfill_rows_done').metrics).toEqual([
        { labels: { job: 'j2', table: 'public.orders', reason: 'backfill', state: 'running' }, value: '4' },
        { labels: { job: 'j3', table: 'public.orders', reason: 'backfill', state: 'pending' }, value: '0' },
      ]);
      expect(family(families, 'tributary_backfill_rows_estimated').metrics).toEqual([
        { labels: { job: 'j2', table: 'public.orders', reason: 'backfill', state: 'running' }, value: '9' },
      ]);
      expect(family(families, 'tributary_alert_active').metrics).toEqual([
        { labels: { alert: 'lag' }, value: '1' },
      ]);
      const [apply] = family(families, 'tributary_batch_apply_seconds').metrics;
      expect(apply).toMatchObject({ count: '1', sum: '0.012' });
      expect(apply?.buckets?.['0.01']).toBe('0');
      expect(apply?.buckets?.['0.025']).toBe('1');

      // a sample arrives: the lag gauges follow it
      telemetry.sample({
        newestCommitAgeSeconds: 3,
        caughtUp: false,
        slotLagBytes: 100,
        slotRetainedBytes: 2048,
        changesPerSecond: 0,
      });
      const [a, b] = await Promise.all([exporter.scrape(), exporter.scrape()]);
      expect(checkReads).toBe(3);
      for (const text of [a, b]) {
        const f = byName(text);
        expect(family(f, 'tributary_end_to_end_lag_seconds').metrics).toEqual([{ value: '3' }]);
        expect(family(f, 'tributary_slot_retained_wal_bytes').metrics).toEqual([{ value: '2048' }]);
      }
    } finally {
      exporter.close();
    }
  });
});

function family(families: Map<string, PrometheusFamily>, name: string): PrometheusFamily {
  const found = families.get(name);
  if (!found) throw new Error(`no family ${name}`);
  return found;
}
