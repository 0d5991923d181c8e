import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../core/errors.js';
import type { MetricSource } from './metric-files.js';
import { MetricSchema } from './metric-spec.js';
import { definitionHash, planSync, type RegisteredVersion } from './registry.js';

const NOW = new Date('2026-05-01T12:00:00Z');

function source(fields: Record<string, unknown>): MetricSource {
  return {
    file: 'metrics/revenue.yml',
    spec: MetricSchema.parse({
      name: 'revenue',
      description: 'revenue',
      owner: 'finance',
      version: 1,
      model: 'orders',
      measure: { agg: 'sum', expr: 'total' },
      time: { column: 'ordered_at', semantics: 'event' },
      grains: ['day'],
      ...fields,
    }),
  };
}

function registered(from: MetricSource): RegisteredVersion {
  const [version] = planSync([from], [], 'bob', new Date('2026-01-01T00:00:00Z'));
  return version as RegisteredVersion;
}

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (isTributaryError(error, 'CONFIG')) return error.message;
    throw error;
  }
  throw new Error('not refused');
}

describe('planSync', () => {
  it('registers a first version as the user who runs it', () => {
    const [v] = planSync([source({})], [], 'bob', NOW);
    expect(v).toMatchObject({
      name: 'revenue',
      version: 1,
      by: 'bob',
      reason: null,
      changes: [],
      registeredAt: NOW.toISOString(),
    });
  });

  it('leaves a registered version alone, even when only its deprecations or change block differ', () => {
    const v1 = registered(source({}));
    expect(planSync([source({ change: { reason: 'tidy' } })], [v1], 'bob', NOW)).toEqual([]);
  });

  it('registers a higher version with its author, reason and diff', () => {
    const v1 = registered(source({}));
    const [v2] = planSync(
      [
        source({
          version: 2,
          filter: "status <> 'refunded'",
          change: { by: 'alice', reason: 'refunds are not revenue' },
        }),
      ],
      [v1],
      'bob',
      NOW,
    );
    expect(v2).toMatchObject({
      version: 2,
      by: 'alice',
      reason: 'refunds are not revenue',
      changes: [
        { path: 'filter', old: null, new: "status <> 'refunded'" },
        { path: 'version', old: 1, new: 2 },
      ],
    });
    expect(v2?.hash).not.toBe(v1.hash);
  });

  it('refuses a changed definition under a registered version, a version going back, and a change without a reason', () => {
    const v1 = registered(source({}));
    expect(refusal(() => planSync([source({ grains: ['day', 'month'] })], [v1], 'bob', NOW))).toMatch(
      /revenue@1 changed since it was registered .*grains\[1\]: null → "month".*raise version: to 2/,
    );
    const v2 = { ...v1, version: 2, hash: definitionHash({ other: true }) };
    expect(refusal(() => planSync([source({})], [v1, v2], 'bob', NOW))).toMatch(
      /says version 1, but revenue@2 is registered/,
    );
    expect(refusal(() => planSync([source({ version: 2 })], [v1], 'bob', NOW))).toMatch(/say why in change:/);
  });
});
