import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../quality/check-result.js';
import { Incidents } from './alerts.js';

const T0 = Date.parse('2026-11-22T10:00:00Z');

function clock() {
  let now = T0;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

function result(status: CheckResult['status'], severity: 'warn' | 'error' = 'error'): CheckResult {
  return {
    runId: 'r',
    name: 'emails',
    type: 'not_null',
    severity,
    status,
    observed: {},
    message: status === 'pass' ? 'no NULLs' : '1 row has a NULL',
    startedAt: new Date(T0).toISOString(),
    finishedAt: new Date(T0).toISOString(),
    sample: [],
  };
}

const sample = (lagSeconds: number | null, slotRetainedBytes: number | null = 0) => ({
  lagSeconds,
  slotRetainedBytes,
});

describe('Incidents', () => {
  it('opens a lag incident once, stays quiet while it lasts, and sends one recovery', () => {
    const time = clock();
    const incidents = new Incidents({ walRetainedBytes: null, lagSeconds: 60, checks: true }, time.now);
    expect(incidents.observeSample(sample(10))).toEqual([]);
    time.advance(5_000);
    const opened = incidents.observeSample(sample(61.5));
    expect(opened).toEqual([
      {
        kind: 'alert',
        alert: 'lag',
        message: expect.stringContaining('61.5'),
        value: 61.5,
        threshold: 60,
        at: '2026-11-22T10:00:05.000Z',
        source: 'tributary',
      },
    ]);
    for (const lag of [120, 300, 61]) {
      time.advance(5_000);
      expect(incidents.observeSample(sample(lag))).toEqual([]);
    }
    expect(incidents.open()).toEqual([
      {
        alert: 'lag',
        since: '2026-11-22T10:00:05.000Z',
        message: opened[0]?.message,
        value: 61.5,
        threshold: 60,
      },
    ]);
    // the threshold itself is not over it
    time.advance(5_000);
    const recovered = incidents.observeSample(sample(60));
    expect(recovered).toMatchObject([{ kind: 'recovered', alert: 'lag', value: 60, threshold: 60 }]);
    expect(recovered[0]?.at).toBe('2026-11-22T10:00:25.000Z');
    expect(incidents.open()).toEqual([]);
    expect(incidents.observeSample(sample(0))).toEqual([]);
  });

  it('leaves an incident as it is while a value is unknown', () => {
    const incidents = new Incidents({ walRetainedBytes: 1_000, lagSeconds: 60, checks: true }, clock().now);
    expect(incidents.observeSample(sample(null, null))).toEqual([]);
    expect(incidents.observeSample(sample(90, 2_000)).map((n) => n.alert)).toEqual(['wal_retained', 'lag']);
    expect(incidents.observeSample(sample(null, null))).toEqual([]);
    expect(incidents.open().map((a) => a.alert)).toEqual(['wal_retained', 'lag']);
    expect(incidents.observeSample(sample(0, 10))).toMatchObject([
      { kind: 'recovered', alert: 'wal_retained', value: 10, threshold: 1_000 },
      { kind: 'recovered', alert: 'lag', value: 0 },
    ]);
  });

  it('sends every transition of a flapping condition, each incident once', () => {
    const time = clock();
    const incidents = new Incidents({ walRetainedBytes: 100, lagSeconds: null, checks: false }, time.now);
    const kinds: string[] = [];
    for (const bytes of [50, 150, 150, 90, 200, 200, 200, 100, 101, 0]) {
      time.advance(1_000);
      kinds.push(...incidents.observeSample(sample(999, bytes)).map((n) => `${n.kind}@${n.value}`));
    }
    expect(kinds).toEqual([
      'alert@150',
      'recovered@90',
      'alert@200',
      'recovered@100',
      'alert@101',
      'recovered@0',
    ]);
    // a threshold not configured never alerts
    expect(incidents.states()).toEqual([{ alert: 'wal_retained', active: false }]);
  });

  it('alerts on an error-severity check that fails or cannot run, never on a warn-severity one', () => {
    const incidents = new Incidents({ walRetainedBytes: null, lagSeconds: null, checks: true }, clock().now);
    expect(incidents.observeCheck(result('pass'))).toEqual([]);
    expect(incidents.observeCheck(result('warn', 'warn'))).toEqual([]);
    const opened = incidents.observeCheck(result('fail'));
    expect(opened).toMatchObject([{ kind: 'alert', alert: 'check:emails', value: 'fail', threshold: null }]);
    expect(opened[0]?.message).toMatch(/emails \(not_null\) fails: 1 row has a NULL/);
    expect(incidents.observeCheck(result('fail'))).toEqual([]);
    expect(incidents.observeCheck(result('error'))).toEqual([]);
    expect(incidents.states()).toEqual([{ alert: 'check:emails', active: true }]);
    expect(incidents.observeCheck(result('pass'))).toMatchObject([
      { kind: 'recovered', alert: 'check:emails' },
    ]);
    expect(incidents.states()).toEqual([{ alert: 'check:emails', active: false }]);
  });

  it('ignores checks when checks: false', () => {
    const incidents = new Incidents({ walRetainedBytes: null, lagSeconds: null, checks: false }, clock().now);
    expect(incidents.observeCheck(result('fail'))).toEqual([]);
    expect(incidents.open()).toEqual([]);
  });
});
