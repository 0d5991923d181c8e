import { describe, expect, it } from 'vitest';
import { parseModelHeader } from './model-header.js';

describe('parseModelHeader', () => {
  it('reads every setting of the opening comment block', () => {
    const header = parseModelHeader(
      'm.sql',
      `-- materialized: table
-- A free-text line among the settings
--refresh:   microbatch 5m

-- freshness: 10m
-- description: Orders net of refunds, one row per order
SELECT 1
-- refresh: streaming   (after the SQL began: not a setting)`,
    );
    expect(header).toEqual({
      materialized: 'table',
      refresh: { kind: 'microbatch', everyMs: 300_000, every: '5m' },
      freshness: '10m',
      freshnessMs: 600_000,
      description: 'Orders net of refunds, one row per order',
    });
  });

  it('defaults: a streaming view without a target', () => {
    expect(parseModelHeader('m.sql', 'SELECT 1')).toEqual({
      materialized: 'view',
      refresh: { kind: 'streaming' },
      freshness: null,
      freshnessMs: null,
      description: null,
    });
  });

  it('nightly: 5 or 6 cron fields, then an optional time zone (UTC by default)', () => {
    expect(parseModelHeader('m.sql', '-- refresh: nightly 0 3 * * *\nSELECT 1').refresh).toEqual({
      kind: 'nightly',
      cron: '0 3 * * *',
      timezone: 'UTC',
    });
    expect(
      parseModelHeader('m.sql', '-- refresh: nightly 0 3 * * MON Europe/Paris\nSELECT 1').refresh,
    ).toEqual({
      kind: 'nightly',
      cron: '0 3 * * MON',
      timezone: 'Europe/Paris',
    });
    expect(parseModelHeader('m.sql', '-- refresh: nightly * * * * * *\nSELECT 1').refresh).toEqual({
      kind: 'nightly',
      cron: '* * * * * *',
      timezone: 'UTC',
    });
    expect(parseModelHeader('m.sql', '-- refresh: nightly 0 0 3 * * * Asia/Tokyo\nSELECT 1').refresh).toEqual(
      {
        kind: 'nightly',
        cron: '0 0 3 * * *',
        timezone: 'Asia/Tokyo',
      },
    );
  });

  it.each([
    ['-- materialized: ephemeral', /m\.sql:1: materialized is view or table, not "ephemeral"/],
    ['-- x\n-- refresh: hourly', /m\.sql:2: cannot read refresh "hourly"/],
    ['-- refresh: microbatch soon', /m\.sql:1: microbatch takes a duration/],
    ['-- refresh: streaming 5m', /m\.sql:1: cannot read refresh/],
    ['-- refresh: nightly 0 99 * * *', /m\.sql:1: "0 99 \* \* \*" is not a cron pattern/],
    ['-- refresh: nightly 0 3 * * * * Mars/Olympus', /m\.sql:1: "Mars\/Olympus" is not a time zone/],
    ['-- freshness: fresh', /m\.sql:1: freshness is a duration/],
    ['-- materialised: table', /m\.sql:1: unknown model setting "materialised"/],
    ['-- freshness: 1m\n-- freshness: 2m', /m\.sql:2: "freshness" is set twice/],
  ])('%s is refused naming the file and line', (text, message) => {
    expect(() => parseModelHeader('m.sql', `${text}\nSELECT 1`)).toThrow(message);
  });
});
