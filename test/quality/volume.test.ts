/**
 * The volume check on generated history: five weeks of changes written through the warehouse's
 * apply with explicit commit times (weekdays busy, weekends quiet, spread over working hours).
 * A weekday that halves is flagged; the weekend dip, normal for the same weekdays before, is
 * not; nor is the current, partial day. The clock is passed in, so the judged buckets are fixed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StreamItem } from '../../src/core/change-event.js';
import type { CheckResult } from '../../src/quality/check-result.js';
import type { CheckSpec } from '../../src/quality/check-spec.js';
import { ChecksSchema } from '../../src/quality/check-spec.js';
import type { VolumeBucket } from '../../src/quality/volume.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { change, col, schemaItem } from '../warehouse/items.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Thursday, half an hour into the day (UTC): Wednesday is the last completed day. */
const NOW = new Date('2026-11-19T00:30:00Z');
const TODAY = Date.parse('2026-11-19T00:00:00Z');

function bucketsOf(result: CheckResult | undefined): VolumeBucket[] {
  return (result?.observed.buckets ?? []) as VolumeBucket[];
}

function checks(raw: unknown[]): CheckSpec[] {
  return ChecksSchema.parse(raw);
}

/** Changes per day: weekdays 100, weekends 30, over hours 8–17; `wednesday` on the last Wednesday. */
function history(wednesday: number): { time: number }[] {
  const out: { time: number }[] = [];
  for (let d = 35; d >= 1; d--) {
    const day = TODAY - d * DAY;
    const weekday = new Date(day).getUTCDay();
    const weekend = weekday === 0 || weekday === 6;
    const n = d === 1 ? wednesday : weekend ? 30 : 100;
    for (let i = 0; i < n; i++) out.push({ time: day + (8 + (i % 10)) * HOUR + i * 1000 });
  }
  // the current day so far: two changes, far fewer than a Thursday has (it is not complete)
  out.push({ time: TODAY + 60_000 }, { time: TODAY + 120_000 });
  return out;
}

describe('volume check', () => {
  let dir: string;
  let wh: DuckDBWarehouse;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-volume-'));
    wh = await DuckDBWarehouse.open(join(dir, 'w.duckdb'));
  });
  afterEach(async () => {
    await wh.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function load(changes: { time: number }[]): Promise<void> {
    const items: StreamItem[] = [schemaItem([col('id', 23, true), col('v', 25)], 'v1')];
    for (const [i, c] of changes.entries())
      items.push(
        change('insert', BigInt(c.time) * 10n, 0, { row: { id: i, v: 'x' }, time: BigInt(c.time) * 1000n }),
      );
    await wh.apply(items);
  }

  const daily = checks([
    { name: 'daily', type: 'volume', table: 'items', grain: 'day', drop: 0.5, spike: 3, buckets: 7 },
  ]);

  it('flags a weekday that halves, not the weekend dip nor the partial current day', async () => {
    await load(history(50));
    const [result] = await wh.check(daily, () => NOW);
    expect(result?.status).toBe('fail');
    const buckets = bucketsOf(result);
    // the last seven completed days, oldest first; today (2 changes so far) is not among them
    expect(buckets.map((b) => [b.bucket.slice(0, 10), b.count, b.baseline, b.verdict])).toEqual([
      ['2026-11-12', 100, 100, 'ok'],
      ['2026-11-13', 100, 100, 'ok'],
      ['2026-11-14', 30, 30, 'ok'],
      ['2026-11-15', 30, 30, 'ok'],
      ['2026-11-16', 100, 100, 'ok'],
      ['2026-11-17', 100, 100, 'ok'],
      ['2026-11-18', 50, 100, 'drop'],
    ]);
    expect(result?.sample).toEqual([
      expect.objectContaining({ bucket: '2026-11-18T00:00:00', verdict: 'drop' }),
    ]);
    expect(result?.message).toMatch(/2026-11-18T00:00:00: 50 changes, a drop from a baseline of 100/);
    // recorded, with the sample
    const stored = await wh.query(
      "SELECT status, json_array_length(sample) FROM _tributary.check_results WHERE check_name = 'daily'",
    );
    expect(stored.rows).toEqual([['fail', '1']]);
  });

  it('passes the same history without the drop, and judges hours against the same weekday hour', async () => {
    await load(history(100));
    const hourly = checks([
      {
        name: 'hourly',
        type: 'volume',
        table: 'public.items',
        grain: 'hour',
        drop: 0.5,
        floor: 4,
        buckets: 48,
      },
    ]);
    const [day, hour] = await wh.check([...daily, ...hourly], () => NOW);
    expect(day?.status).toBe('pass');
    expect(hour?.status).toBe('pass');
    const judged = bucketsOf(hour).filter((b) => b.verdict === 'ok');
    // Tuesday's and Wednesday's working hours; the quiet night hours are under the floor
    expect(judged).toHaveLength(20);
    expect(judged.every((b) => b.count === 10 && b.baseline === 10)).toBe(true);
  });

  it('flags the hours of the halved day, and spikes', async () => {
    const changes = history(50);
    // Tuesday 09:00 gets 40 more changes than the 10 it has every week
    for (let i = 0; i < 40; i++) changes.push({ time: TODAY - 2 * DAY + 9 * HOUR + 30_000 + i });
    await load(changes);
    const [hour] = await wh.check(
      checks([
        {
          name: 'h',
          type: 'volume',
          table: 'items',
          grain: 'hour',
          drop: 0.5,
          spike: 3,
          floor: 4,
          buckets: 48,
        },
      ]),
      () => NOW,
    );
    expect(hour?.status).toBe('fail');
    const anomalies = bucketsOf(hour).filter((b) => b.verdict !== 'ok' && b.verdict !== 'below floor');
    expect(anomalies.map((b) => [b.bucket, b.verdict])).toEqual([
      ['2026-11-17T09:00:00', 'spike'],
      ...Array.from({ length: 10 }, (_, h) => [`2026-11-18T${String(8 + h).padStart(2, '0')}:00:00`, 'drop']),
    ]);
  });

  it('counts days in the configured time zone', async () => {
    await load(history(50));
    const [tokyo] = await wh.check(
      checks([
        { name: 'tokyo', type: 'volume', table: 'items', drop: 0.5, buckets: 1, timezone: 'Asia/Tokyo' },
      ]),
      () => NOW,
    );
    // NOW is 09:30 on the 19th in Tokyo (UTC+9): the last completed local day is the 18th, from
    // 15:00 UTC on the 17th: Tuesday's last three working hours (30) and Wednesday's first seven (35)
    const [bucket] = bucketsOf(tokyo);
    expect(bucket).toMatchObject({ bucket: '2026-11-18T00:00:00', count: 65 });
  });
});
