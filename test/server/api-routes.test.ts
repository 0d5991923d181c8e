/** The pure parts of the API's routes: DuckDB's time text as ISO, and the parameters each route takes. */
import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../src/core/errors.js';
import { Telemetry } from '../../src/pipeline/telemetry.js';
import { eventsBody, lagBody, tablesBody, timeMs } from '../../src/server/api-routes.js';
import { change } from '../warehouse/items.js';

describe('the API routes', () => {
  it('reads ISO 8601 in UTC (both warehouses) and DuckDB TIMESTAMPTZ text in any zone offset', () => {
    // ClickHouse's status gave ISO, which was read as no time: its tables showed no last change
    expect(timeMs('2026-03-01T10:00:00.123456Z')).toBe(Date.parse('2026-03-01T10:00:00.123Z'));
    expect(timeMs('2026-03-01T10:00:00Z')).toBe(Date.parse('2026-03-01T10:00:00Z'));
    expect(timeMs('2026-03-01 10:00:00.123456+00')).toBe(Date.parse('2026-03-01T10:00:00.123Z'));
    expect(timeMs('2026-03-01 15:30:00+05:30')).toBe(Date.parse('2026-03-01T10:00:00Z'));
    expect(timeMs('2026-03-01 02:00:00-08')).toBe(Date.parse('2026-03-01T10:00:00Z'));
    expect(timeMs('yesterday')).toBeNull();
    expect(timeMs('2026-03-01T10:00:00')).toBeNull();
  });

  it('counts applied changes per table, zeros for a table this process did not touch', () => {
    const telemetry = new Telemetry();
    telemetry.applied(
      [change('insert', 1n, 0, { row: { id: 1 } }), change('delete', 1n, 1, { pk: { id: 1 } })],
      1,
    );
    const now = Date.parse('2026-03-01T10:00:10Z');
    const body = tablesBody(
      [
        {
          table: 'public.items',
          ref: { schema: 'public', name: 'items' },
          rows: 0,
          lastChange: '2026-03-01 10:00:00+00',
        },
        { table: 'public.Other', ref: { schema: 'public', name: 'Other' }, rows: 3, lastChange: null },
      ],
      telemetry,
      now,
    );
    expect(body.tables).toEqual([
      {
        table: 'public.items',
        rows: 0,
        lastChange: '2026-03-01T10:00:00.000Z',
        ageSeconds: 10,
        applied: { insert: 1, update: 0, delete: 1, truncate: 0 },
      },
      {
        table: 'public."Other"',
        rows: 3,
        lastChange: null,
        ageSeconds: null,
        applied: { insert: 0, update: 0, delete: 0, truncate: 0 },
      },
    ]);
  });

  it.each([['limit=0'], ['limit=501'], ['limit=1.5'], ['after=-1'], ['limit=1&limit=2'], ['other=1']])(
    'refuses events?%s with a USAGE error',
    (query) => {
      const params = new URLSearchParams(query);
      const refused = (() => {
        try {
          return eventsBody(params, new Telemetry());
        } catch (error) {
          return error;
        }
      })();
      expect(refused).toBeInstanceOf(TributaryError);
      expect((refused as TributaryError).code).toBe('USAGE');
    },
  );

  it('takes since as an ISO time, and refuses anything else', () => {
    const telemetry = new Telemetry({ now: () => Date.parse('2026-03-01T10:00:00Z') });
    telemetry.sample({
      newestCommitAgeSeconds: 1,
      caughtUp: true,
      slotLagBytes: 0,
      slotRetainedBytes: 0,
      changesPerSecond: 0,
    });
    expect(lagBody(new URLSearchParams('since=2026-03-01'), telemetry, 200).samples).toHaveLength(1);
    expect(lagBody(new URLSearchParams('since=2026-03-01T10:00:01Z'), telemetry, 200).samples).toHaveLength(
      0,
    );
    for (const bad of ['since=soon', 'since=1700000000', 'until=2026-03-01'])
      expect(() => lagBody(new URLSearchParams(bad), telemetry, 200), bad).toThrow(TributaryError);
  });
});
