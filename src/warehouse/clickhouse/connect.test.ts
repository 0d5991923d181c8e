import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freshClickHouse } from '../../../test/helpers/clickhouse.js';
import { TributaryError } from '../../core/errors.js';
import { checkReachable, connectClickHouse, parseClickHouseUrl, redact } from './connect.js';
import { positionVersion, repairVersion, snapshotVersion, versionPosition } from './layout.js';

describe('parseClickHouseUrl', () => {
  it('reads a server URL and never shows the password', () => {
    const target = parseClickHouseUrl('clickhouse://ana:s3cret@ch.example:8124/analytics');
    expect(target).toMatchObject({ kind: 'http', database: 'analytics', location: 'http://ch.example:8124' });
    expect(target.password).toBe('s3cret');
    expect(target.describe).not.toContain('s3cret');
    expect(redact('clickhouse://ana:s3cret@h/db')).toBe('clickhouse://ana:***@h/db');
  });

  it('defaults the port, the user and the database; takes the password from the environment', () => {
    const target = parseClickHouseUrl('clickhouses://h', { CLICKHOUSE_PASSWORD: 'pw' });
    expect(target).toMatchObject({
      location: 'https://h:8443',
      database: 'default',
      username: 'default',
      password: 'pw',
    });
  });

  it('takes a cluster name and refuses other parameters', () => {
    expect(parseClickHouseUrl('clickhouse://h/db?cluster=main').cluster).toBe('main');
    expect(() => parseClickHouseUrl('clickhouse://h/db?password=x')).toThrow(/unknown parameter password/);
  });

  it('reads a chdb URL', () => {
    expect(parseClickHouseUrl('chdb:///var/lib/ch?database=w')).toMatchObject({
      kind: 'chdb',
      location: '/var/lib/ch',
      database: 'w',
    });
  });

  it.each(['clickhouse://', 'clickhouse://h/a/b', 'postgres://h/db', 'chdb:'])(
    'refuses %s as a usage error',
    (url) => {
      expect(() => parseClickHouseUrl(url)).toThrow(TributaryError);
    },
  );
});

describe('versions', () => {
  it('orders a snapshot read at C below every change at or after C, above every change before', () => {
    const c = 0x16_b374_d848n;
    const snapshot = BigInt(snapshotVersion(c));
    expect(snapshot).toBeLessThan(BigInt(positionVersion({ commitLsn: c, ordinal: 0 })));
    expect(snapshot).toBeGreaterThan(
      BigInt(positionVersion({ commitLsn: c - 1n, ordinal: Number.MAX_SAFE_INTEGER })),
    );
    expect(versionPosition(positionVersion({ commitLsn: c, ordinal: 7 }))).toEqual({
      commitLsn: c,
      ordinal: 7,
    });
  });

  it('puts a repair above the row it mends and below the next change, whatever the ordinal', () => {
    const c = 0x16_b374_d848n;
    for (const ordinal of [-1, 0, 7, 2 ** 31, Number.MAX_SAFE_INTEGER - 1]) {
      const row = positionVersion({ commitLsn: c, ordinal });
      const repair = BigInt(repairVersion(row));
      expect(repair).toBeGreaterThan(BigInt(row));
      expect(repair).toBeLessThan(BigInt(positionVersion({ commitLsn: c, ordinal: ordinal + 1 })));
      expect(repair).toBeLessThan(BigInt(snapshotVersion(c + 1n)));
      expect(repairVersion(repairVersion(row))).toBe(repairVersion(row));
      expect(versionPosition(repairVersion(row))).toEqual({ commitLsn: c, ordinal });
    }
  });
});

describe('chdb', () => {
  it('answers through @clickhouse/client, 64-bit integers and decimals as text', async () => {
    const ch = await freshClickHouse();
    try {
      const [row] = await ch.rows<{ big: string; d: string }>(
        'SELECT toUInt128({v:String}) AS big, toDecimal256({d:String}, 20) AS d',
        {
          v: '340282366920938463463374607431768211455',
          d: '123456789012345678901234567890.12345678901234567891',
        },
      );
      expect(row).toEqual({
        big: '340282366920938463463374607431768211455',
        d: '123456789012345678901234567890.12345678901234567891',
      });
    } finally {
      await ch.drop();
    }
  });

  it('opens a directory another process holds for a moment (a status or query run beside it) once it lets go', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-chdb-moment-'));
    const target = parseClickHouseUrl(`chdb://${dir}?database=default`);
    const connect = fileURLToPath(new URL('./connect.ts', import.meta.url));
    // another process opens it, answers one query, holds it 1.5 s (the test's own engine is not up
    // yet); the retry's 10 s leave the rest for its close and exit on a loaded machine
    const holder = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { connectClickHouse, parseClickHouseUrl } = await import(${JSON.stringify(connect)});
         const c = await connectClickHouse(parseClickHouseUrl(${JSON.stringify(`chdb://${dir}?database=default`)}));
         await c.client.query({ query: 'SELECT 1' }).then((r) => r.text());
         console.log('holding');
         await new Promise((r) => setTimeout(r, 1500));
         await c.close();
         process.exit(0);`,
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on('data', (d: Buffer) => d.toString().includes('holding') && resolve());
      holder.on('exit', (code) => reject(new Error(`the holder exited (${code}) before holding`)));
    });
    // still held (for 1.5 s): without the retry this open is refused at once
    const connection = await connectClickHouse(target);
    try {
      await checkReachable(connection, false);
    } finally {
      await connection.close();
    }
  });

  it('keeps each call to itself: its database, its settings (a dedup token, read-only) not the next call', async () => {
    const a = await freshClickHouse();
    const b = await freshClickHouse();
    try {
      const { client } = a.connection;
      await client.command({
        query:
          'CREATE TABLE t (n UInt8) ENGINE = MergeTree ORDER BY n SETTINGS non_replicated_deduplication_window = 100',
      });
      await client.insert({
        table: 't',
        values: [{ n: 1 }],
        format: 'JSONEachRow',
        clickhouse_settings: { insert_deduplication_token: 'x' },
      });
      await client.insert({ table: 't', values: [{ n: 2 }], format: 'JSONEachRow' });
      await client.query({ query: 'SELECT 1', clickhouse_settings: { readonly: '2' } }).then((r) => r.text());
      await client.insert({ table: 't', values: [{ n: 3 }], format: 'JSONEachRow' });
      expect(await a.rows('SELECT n FROM t ORDER BY n')).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
      await expect(b.rows('SELECT n FROM t')).rejects.toThrow(/Unknown table/);
    } finally {
      await a.drop();
      await b.drop();
    }
  });
});
