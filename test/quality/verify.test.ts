/**
 * `tributary verify` as a user runs it. A million-row table replicated by `tributary run`, then
 * damaged in the warehouse directly (3 rows changed, 1 deleted, 1 added): verify, with nothing
 * running, streams up to its point (the source changed meanwhile), and reports exactly those 5
 * keys, having bisected only the buckets that hold them. Under a concurrent write load, through
 * the running process, it reports no difference. Keys of other kinds (hash buckets) and a table
 * without a key (a multiset) are compared too; bad requests exit 2.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { VerifyReport } from '../../src/quality/verify/verify.js';
import { newestBinaries, type PostgresCluster } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { runArgs, runCli, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';
import { onDuckDBFile, waitForWarehouse } from '../helpers/warehouse.js';
import { writeItems } from '../helpers/workload.js';

const ROWS = 1_000_000;

/**
 * Waits until `run` copied the tables and streams: a message written once the slot exists is
 * acknowledged only after the first copy, when the stream applied it.
 */
async function copiedAndStreaming(cluster: PostgresCluster, slot: string): Promise<void> {
  await waitFor(
    `the slot ${slot}`,
    async () => {
      const rows = await cluster.sql('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot]);
      return rows.length > 0 || undefined;
    },
    60_000,
  );
  await cluster.sql(`SELECT pg_logical_emit_message(true, 'test', 'copied')`);
  await waitForWarehouse(cluster, { slot, timeoutMs: 300_000 });
}

function parseReport(stdout: string): VerifyReport {
  return JSON.parse(stdout) as VerifyReport;
}

describe('tributary verify', () => {
  const cluster = useCluster({
    binaries: newestBinaries(),
    setup: async (c) => {
      await c.sql(
        `CREATE TABLE ledger (id bigint PRIMARY KEY, account integer NOT NULL, amount numeric(12,2) NOT NULL,
                              memo text, booked timestamptz NOT NULL)`,
      );
      await c.sql(
        `INSERT INTO ledger SELECT i, i % 1000, (i % 100000) / 100.0, CASE WHEN i % 7 = 0 THEN NULL ELSE 'memo ' || i END,
                TIMESTAMPTZ '2026-01-01 00:00:00+00' + i * INTERVAL '1 second'
           FROM generate_series(1, ${ROWS}) i`,
      );
      // a key both engines order differently (text under the cluster's collation, plus a time):
      // compared by hash buckets
      await c
        .sql(
          `CREATE TABLE visits (who text COLLATE "en-x-icu", at timestamptz, pages integer, PRIMARY KEY (who, at))`,
        )
        .catch(() =>
          c.sql('CREATE TABLE visits (who text, at timestamptz, pages integer, PRIMARY KEY (who, at))'),
        );
      await c.sql(
        `INSERT INTO visits SELECT 'visitor ' || (i % 500), TIMESTAMPTZ '2026-02-01 00:00:00+00' + i * INTERVAL '1 minute', i % 13
           FROM generate_series(1, 20000) i`,
      );
      // no key: a multiset
      await c.sql('CREATE TABLE readings (sensor integer, value double precision)');
      await c.sql('ALTER TABLE readings REPLICA IDENTITY FULL');
      await c.sql('INSERT INTO readings SELECT i % 10, i / 4.0 FROM generate_series(1, 3000) i');
      await c.sql('INSERT INTO readings SELECT 1, 2.5 FROM generate_series(1, 3)');
      await c.sql('CREATE TABLE items (id bigint PRIMARY KEY, n integer NOT NULL, note text)');
    },
  });

  it('finds exactly the 5 damaged keys of a million rows, bisecting only the buckets that hold them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-verify-'));
    const warehouse = join(dir, 'w.duckdb');
    const run = startCli(runArgs(cluster().url(), warehouse));
    try {
      await copiedAndStreaming(cluster(), 'tributary');
    } finally {
      run.child.kill('SIGTERM');
    }
    expect((await run.exited).code, run.stderr()).toBe(0);

    // the source moves on while nothing runs: verify must stream up to its point first
    await cluster().sql(`UPDATE ledger SET amount = amount + 1000 WHERE id IN (1, 777777)`);
    await cluster().sql(`DELETE FROM ledger WHERE id = 123456`);
    await cluster().sql(
      `INSERT INTO ledger VALUES (${ROWS + 50}, 1, 1.00, 'late', TIMESTAMPTZ '2026-06-01 00:00:00+00')`,
    );
    // the damage, in the warehouse only
    await onDuckDBFile(warehouse, [
      `UPDATE ledger SET amount = amount + 0.01 WHERE id = 10`,
      `UPDATE ledger SET memo = 'tampered' WHERE id = 500000`,
      `UPDATE ledger SET booked = booked + INTERVAL 1 MICROSECOND WHERE id = 999999`,
      `DELETE FROM ledger WHERE id = 250000`,
      `INSERT INTO ledger (id, account, amount, memo, booked, _tributary_lsn, _tributary_synced_at)
         VALUES (2000000, 1, 1.00, 'invented', TIMESTAMPTZ '2026-01-01 00:00:00+00', 0, now())`,
    ]);

    // and a ledger: each account's balance, to the cent
    const config = join(dir, 'tributary.yml');
    writeFileSync(
      config,
      [
        'ledgers:',
        '  - name: balances',
        '    sql: SELECT account, count(*) AS entries, sum(amount) AS balance FROM ledger GROUP BY account',
        '  - name: entries',
        '    sql: SELECT count(*) AS entries FROM ledger WHERE account = 3',
      ].join('\n'),
    );
    const result = await runCli([
      'verify',
      '--source',
      cluster().url(),
      '--warehouse',
      warehouse,
      '--tables',
      'public.ledger',
      '--config',
      config,
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(1);
    const report = parseReport(result.stdout);
    expect(report.ok).toBe(false);
    const ledger = report.tables.find((t) => t.table === 'public.ledger')!;
    expect(ledger.mode).toBe('range');
    expect(ledger.sourceRows).toBe(ROWS);
    expect(ledger.warehouseRows).toBe(ROWS);
    const found = [...(ledger.differences ?? [])]
      .map((d) => ({ id: d.key.id, kind: d.kind, columns: d.columns ?? [] }))
      .sort((a, b) => Number(a.id) - Number(b.id));
    expect(found).toEqual([
      { id: '10', kind: 'changed', columns: ['amount'] },
      { id: '250000', kind: 'missing', columns: [] },
      { id: '500000', kind: 'changed', columns: ['memo'] },
      { id: '999999', kind: 'changed', columns: ['booked'] },
      { id: '2000000', kind: 'extra', columns: [] },
    ]);
    expect(ledger.unlisted ?? 0).toBe(0);
    // zero tolerance: a cent off in account 10, one entry missing in 0 (id 250000), one invented in 1
    const balances = report.ledgers.find((l) => l.name === 'balances')!;
    expect(balances.status).toBe('differs');
    expect(balances.onlySource.map((r) => r.split('\t')[0]).sort()).toEqual(['0', '1', '10']);
    expect(balances.onlyWarehouse.map((r) => r.split('\t')[0]).sort()).toEqual(['0', '1', '10']);
    const account10 = balances.onlyWarehouse.find((r) => r.startsWith('10\t'))!.split('\t');
    const source10 = balances.onlySource.find((r) => r.startsWith('10\t'))!.split('\t');
    expect(Number(account10[2]) - Number(source10[2])).toBeCloseTo(0.01, 6);
    expect(report.ledgers.find((l) => l.name === 'entries')?.status).toBe('match');

    // the first level covered the table; only the buckets holding a damaged key were split
    const queries = report.queries.filter((q) => q.table === 'public.ledger');
    const firstLevel = queries.filter((q) => q.side === 'source' && q.purpose === 'buckets');
    expect(firstLevel.length).toBe(ledger.buckets);
    expect(ledger.buckets).toBeGreaterThanOrEqual(10);
    const differing = new Set(ledger.differingBuckets);
    expect(differing.size).toBeGreaterThanOrEqual(1);
    expect(differing.size).toBeLessThanOrEqual(5);
    const deeper = queries.filter((q) => q.purpose === 'bisect' || q.purpose === 'rows');
    expect(deeper.length).toBeGreaterThan(0);
    for (const q of deeper)
      expect(differing.has(q.root), `${q.purpose} ${q.range} under ${q.root}`).toBe(true);
    const sourceRowReads = queries.filter((q) => q.side === 'source' && q.purpose === 'rows');
    expect(sourceRowReads.length).toBeLessThanOrEqual(5);

    // the text form names them too
    const text = await runCli(['verify', '--source', cluster().url(), '--warehouse', warehouse]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/public\.ledger {2}DIFFERS/);
    expect(text.stdout).toMatch(/missing {2}id=250000/);
    expect(text.stdout).toMatch(/changed {2}id=10 {2}\(amount\)/);
  });

  it('reports no difference under a concurrent write load, through the running process, in every kind of bucket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-verify-load-'));
    const warehouse = join(dir, 'w.duckdb');
    const config = join(dir, 'tributary.yml');
    writeFileSync(
      config,
      [
        'ledgers:',
        '  - name: totals',
        '    sql: SELECT count(*) AS n, sum(amount) AS total, min(id) AS first FROM ledger',
        '    warehouseSql: SELECT count(*) AS n, sum(amount) AS total, min(id) AS first FROM main.ledger',
      ].join('\n'),
    );
    const run = startCli(runArgs(cluster().url(), warehouse, '--slot', 'load', '--publication', 'load'));
    const stop = new AbortController();
    const client = await cluster().connect();
    let writer: Promise<unknown> = Promise.resolve();
    try {
      await copiedAndStreaming(cluster(), 'load');
      writer = (async () => {
        for (let round = 0; !stop.signal.aborted; round++) {
          await writeItems(client, { transactions: 50, firstId: 10_000_000 + round * 1000, seed: round + 1 });
          await client.query(
            `UPDATE ledger SET amount = amount + 1 WHERE id IN (${[1, 2, 3].map((i) => ((round * 7919 + i * 104729) % 1_000_000) + 1).join(',')})`,
          );
          await client.query(`UPDATE visits SET pages = pages + 1 WHERE who = 'visitor ${round % 500}'`);
          await client.query(`INSERT INTO readings VALUES (${round % 10}, ${round})`);
          await client.query(
            `DELETE FROM readings WHERE ctid = (SELECT min(ctid) FROM readings WHERE sensor = ${(round + 3) % 10})`,
          );
        }
      })();
      for (let i = 0; i < 3; i++) {
        const result = await runCli([
          'verify',
          '--warehouse',
          warehouse,
          '--json',
          '--bucket-rows',
          '50000',
          '--config',
          config,
        ]);
        expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
        const report = parseReport(result.stdout);
        expect(report.ok).toBe(true);
        const byName = new Map(report.tables.map((t) => [t.table, t]));
        expect(byName.get('public.ledger')?.mode).toBe('range');
        expect(byName.get('public.visits')?.mode).toBe('hash');
        expect(byName.get('public.readings')?.mode).toBe('multiset');
        for (const t of report.tables) {
          expect(t.status, JSON.stringify(t)).toBe('match');
          expect(t.uncompared ?? []).toEqual([]);
        }
        expect(report.ledgers.map((l) => [l.name, l.status])).toEqual([['totals', 'match']]);
      }
    } finally {
      stop.abort();
      await writer;
      await client.end();
      run.child.kill('SIGTERM');
    }
    expect((await run.exited).code, run.stderr()).toBe(0);
  });

  it('finds damage in hash buckets and in a multiset', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-verify-hash-'));
    const warehouse = join(dir, 'w.duckdb');
    const run = startCli(
      runArgs(
        cluster().url(),
        warehouse,
        '--slot',
        'hash',
        '--publication',
        'hash',
        '--tables',
        'public.visits,public.readings',
      ),
    );
    try {
      await copiedAndStreaming(cluster(), 'hash');
    } finally {
      run.child.kill('SIGTERM');
    }
    expect((await run.exited).code, run.stderr()).toBe(0);
    await onDuckDBFile(warehouse, [
      `UPDATE visits SET pages = pages + 100 WHERE who = 'visitor 7' AND "at" = (SELECT min("at") FROM visits WHERE who = 'visitor 7')`,
      `DELETE FROM readings WHERE rowid = (SELECT min(rowid) FROM readings)`,
    ]);
    const result = await runCli([
      'verify',
      '--source',
      cluster().url(),
      '--slot',
      'hash',
      '--publication',
      'hash',
      '--warehouse',
      warehouse,
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(1);
    const report = parseReport(result.stdout);
    const visits = report.tables.find((t) => t.table === 'public.visits')!;
    expect(visits.mode).toBe('hash');
    expect(visits.differences).toHaveLength(1);
    expect(visits.differences?.[0]).toMatchObject({ kind: 'changed', columns: ['pages'] });
    expect(visits.differences?.[0]?.key.who).toBe('visitor 7');
    const readings = report.tables.find((t) => t.table === 'public.readings')!;
    expect(readings).toMatchObject({ mode: 'multiset', status: 'differs' });
    expect(readings.warehouseRows).toBe((readings.sourceRows ?? 0) - 1);
  });

  it('gives up when a long transaction holds the snapshot back, and the pipeline goes on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-verify-stuck-'));
    const warehouse = join(dir, 'w.duckdb');
    const run = startCli(
      runArgs(
        cluster().url(),
        warehouse,
        '--slot',
        'stuck',
        '--publication',
        'stuck',
        '--tables',
        'public.items',
      ),
    );
    const open = await cluster().connect();
    try {
      await copiedAndStreaming(cluster(), 'stuck');
      await open.query('BEGIN');
      await open.query(`INSERT INTO items VALUES (90000001, 1, 'held open')`);
      const stuck = await runCli(['verify', '--warehouse', warehouse, '--point-timeout', '2s', '--json']);
      expect(stuck.code, stuck.stderr).toBe(1);
      expect(stuck.stderr).toMatch(/no snapshot within 2 s/);
      // the loader was let go: changes keep arriving
      await cluster().sql(`INSERT INTO items VALUES (90000002, 2, 'after')`);
      await open.query('COMMIT');
      await waitForWarehouse(cluster(), { slot: 'stuck' });
      const after = await runCli(['verify', '--warehouse', warehouse, '--json']);
      expect(after.code, after.stderr).toBe(0);
      const report = parseReport(after.stdout);
      expect(report.tables.map((t) => [t.table, t.status, t.sourceRows])).toEqual([
        ['public.items', 'match', expect.any(Number)],
      ]);
      expect(report.tables[0]?.sourceRows).toBeGreaterThanOrEqual(2);
    } finally {
      await open.end();
      run.child.kill('SIGTERM');
    }
    expect((await run.exited).code, run.stderr()).toBe(0);
  });

  it('refuses bad requests with exit 2, saying what to change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-verify-bad-'));
    const cases: [string[], RegExp][] = [
      [['verify', '--warehouse', join(dir, 'none.duckdb'), '--source', cluster().url()], /no warehouse/],
      [['verify', '--concurrency', '0', '--warehouse', join(dir, 'none.duckdb')], /--concurrency/],
      [['verify', '--concurrency', '100', '--warehouse', join(dir, 'none.duckdb')], /at most/],
      [['verify', '--bucket-rows', 'many', '--warehouse', join(dir, 'none.duckdb')], /--bucket-rows/],
      [
        ['verify', '--statement-timeout', 'soon', '--warehouse', join(dir, 'none.duckdb')],
        /duration|timeout/,
      ],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toMatch(/at .*\.js:\d+/);
    }
  });
});
