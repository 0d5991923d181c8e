import { describe, expect, it } from 'vitest';
import { type KnownRelations, type ModelSource, planModels } from './model-graph.js';
import { parseModelHeader } from './model-header.js';
import { type LatestRun, modelStatus, type RunFacts } from './model-status.js';

const known: KnownRelations = { relations: [{ schema: 'main', name: 'orders' }], replicated: [] };
const model = (name: string, header: string): ModelSource => ({
  name,
  file: `${name}.sql`,
  sql: `${header}\nSELECT * FROM orders`,
  header: parseModelHeader(`${name}.sql`, `${header}\nSELECT 1`),
  refs: [{ catalog: '', schema: '', name: 'orders' }],
});
const plan = planModels(
  'models',
  [
    model('t', '-- materialized: table\n-- freshness: 1m'),
    model('v', '-- freshness: 1m'),
    model('free', '-- materialized: table'),
    model('broken', '-- materialized: table\n-- freshness: 1m'),
  ],
  known,
);
const at = (iso: string) => new Date(iso);

describe('modelStatus: actual freshness against the target', () => {
  const facts = (latest: RunFacts['latest'], pipeline: string | null): RunFacts => ({
    pipelineDataTime: pipeline === null ? null : at(pipeline),
    latest,
  });
  const ok = (dataTime: string): LatestRun => ({
    status: 'ok',
    error: null,
    finished: at(dataTime),
    rows: 1,
    okDataTime: at(dataTime),
  });

  it('a table is as fresh as its last refresh, a view as the pipeline; late past the target', () => {
    const now = at('2026-01-01T12:00:00Z');
    const statuses = modelStatus(
      plan,
      facts(
        new Map<string, LatestRun>([
          ['t', ok('2026-01-01T11:58:00Z')],
          ['v', ok('2026-01-01T11:00:00Z')],
          ['free', ok('2026-01-01T01:00:00Z')],
          [
            'broken',
            {
              status: 'failed',
              error: 'boom',
              finished: now,
              rows: null,
              okDataTime: at('2026-01-01T11:59:30Z'),
            },
          ],
        ]),
        '2026-01-01T11:59:50Z',
      ),
      now,
    );
    const by = new Map(statuses.map((s) => [s.name, s]));
    expect(by.get('t')).toMatchObject({ state: 'late', problem: true, ageSeconds: 120 });
    expect(by.get('v')).toMatchObject({ state: 'ok', problem: false, ageSeconds: 10 });
    // no target: never a problem
    expect(by.get('free')).toMatchObject({ state: 'ok', problem: false, target: null });
    expect(by.get('broken')).toMatchObject({ state: 'failed', problem: true, ageSeconds: 30 });
  });

  it('the running process carries a table forward while nothing it reads changed', () => {
    const now = at('2026-01-01T12:00:00Z');
    const t = modelStatus(
      plan,
      facts(new Map([['t', ok('2026-01-01T11:50:00Z')]]), '2026-01-01T11:59:55Z'),
      now,
      new Map([['t', at('2026-01-01T11:59:55Z')]]),
    ).find((s) => s.name === 't');
    expect(t).toMatchObject({ name: 't', state: 'ok', ageSeconds: 5 });
  });

  it('never refreshed: a problem only with a target', () => {
    const statuses = modelStatus(plan, facts(new Map(), null), at('2026-01-01T12:00:00Z'));
    expect(statuses.map((s) => [s.name, s.state, s.problem])).toEqual([
      ['broken', 'never refreshed', true],
      ['free', 'never refreshed', false],
      ['t', 'never refreshed', true],
      ['v', 'never refreshed', true],
    ]);
  });
});
