import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from './config-file.js';

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'tributary-config-')), 'tributary.yml');
  writeFileSync(path, text);
  return path;
}

describe('loadConfigFile', () => {
  it('reads YAML with environment substitution', () => {
    const path = file(`
source: \${SHOP_DB}
warehouse: shop.duckdb
tables: [public.orders, 'public."Order Items"']
batch: { size: 1000, delay: 50ms }
heartbeat: 30s
`);
    expect(loadConfigFile(path, { SHOP_DB: 'postgres://app@db/shop' })).toEqual({
      source: 'postgres://app@db/shop',
      warehouse: 'shop.duckdb',
      tables: ['public.orders', 'public."Order Items"'],
      batch: { size: 1000, delay: '50ms' },
      heartbeat: '30s',
    });
  });

  it('names every bad key and what was expected', () => {
    const path = file('warehous: x.duckdb\nbatch: { size: -1, delay: soon }\n');
    expect(() => loadConfigFile(path, {})).toThrow(/warehous|Unrecognized key/);
    try {
      loadConfigFile(path, {});
    } catch (error) {
      expect((error as { code: string }).code).toBe('CONFIG');
      expect(String(error)).toMatch(/batch\.size/);
      expect(String(error)).toMatch(/batch\.delay: a duration/);
    }
  });

  it('refuses unset variables, unreadable files and non-YAML', () => {
    expect(() => loadConfigFile(file(`source: \${NOPE}\n`), {})).toThrow(/NOPE is not set/);
    expect(() => loadConfigFile('/nonexistent/tributary.yml')).toThrow(/cannot read the config file/);
    expect(() => loadConfigFile(file('source: [unclosed\n'), {})).toThrow(/not valid YAML/);
  });

  it('reads checks with their defaults, and names the key of a bad one', () => {
    const path = file(`
checks:
  - { name: lag, type: freshness, warn: 1m }
  - { name: refs, type: relationships, table: orders, column: customer_id, to: customers, field: id }
  - { name: vol, type: volume, spike: 3 }
`);
    expect(loadConfigFile(path, {}).checks).toEqual([
      { name: 'lag', type: 'freshness', warn: '1m', severity: 'error', every: '5m' },
      {
        name: 'refs',
        type: 'relationships',
        table: 'orders',
        column: 'customer_id',
        to: 'customers',
        field: 'id',
        severity: 'error',
        every: '5m',
      },
      {
        name: 'vol',
        type: 'volume',
        spike: 3,
        severity: 'error',
        every: '5m',
        grain: 'day',
        weeks: 4,
        floor: 10,
        buckets: 1,
        timezone: 'UTC',
      },
    ]);
    const bad = file(`
checks:
  - { name: refs, type: relationships, table: orders, columns: [a, b], to: customers, fields: [id] }
  - { name: v, type: volume, table: 'a.b.c', drop: 2 }
`);
    expect(() => loadConfigFile(bad, {})).toThrow(/checks\.0\.fields: 2 column\(s\) refer to 1 field\(s\)/);
    expect(() => loadConfigFile(bad, {})).toThrow(/checks\.1\.table: not a table name/);
    expect(() => loadConfigFile(bad, {})).toThrow(/checks\.1\.drop/);
  });

  it('reads metrics.dir, and names a bad key under metrics', () => {
    expect(loadConfigFile(file('metrics: { dir: defs/metrics }\n'), {})).toEqual({
      metrics: { dir: 'defs/metrics' },
    });
    expect(() => loadConfigFile(file('metrics: { directory: x }\n'), {})).toThrow(
      /metrics: Unrecognized key/,
    );
    expect(() => loadConfigFile(file('metrics: { dir: "" }\n'), {})).toThrow(/metrics\.dir/);
  });
});
