/**
 * `tributary check` as a user types it: a malformed checks config exits 2 naming the key; with
 * `tributary run --config` holding the warehouse the checks run in that process (which also
 * runs them on their schedules and records them), and against the file once it stopped. Exit 1
 * on an error-severity failure, 0 when checks only warn. Freshness moves pass → warn → fail as
 * time passes after the pipeline stops.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { runCli, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';
import { queryWarehouse, waitForWarehouse } from '../helpers/warehouse.js';

function configFile(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

interface CheckJson {
  runId: string;
  ok: boolean;
  results: {
    name: string;
    type: string;
    severity: string;
    status: string;
    observed: unknown;
    sample: unknown[];
  }[];
}

describe('tributary check: a malformed checks config exits 2 naming the key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-check-bad-'));
  it.each([
    [
      'an unknown type',
      '- { name: a, type: fresh, error: 1m }',
      /checks\.0\.type: a type: freshness, unique/,
    ],
    ['a missing table', '- { name: a, type: unique, columns: [id] }', /checks\.0\.table: a table name/],
    ['a bad duration', '- { name: a, type: freshness, warn: soon }', /checks\.0\.warn: a duration/],
    [
      'a duplicate name',
      '- { name: a, type: freshness, error: 1m }\n  - { name: a, type: custom, sql: SELECT 1 }',
      /checks\.1\.name: a second check named a/,
    ],
    [
      'no threshold',
      '- { name: a, type: freshness }',
      /checks\.0\.warn: give a warn: or an error: threshold/,
    ],
  ])('%s', async (_what, checks, message) => {
    const path = configFile(dir, 'bad.yml', `checks:\n  ${checks}\n`);
    const result = await runCli(['check', '--config', path, '--warehouse', join(dir, 'none.duckdb')]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('--only naming no check, and a config without checks', async () => {
    const path = configFile(dir, 'ok.yml', 'checks:\n  - { name: lag, type: freshness, error: 1m }\n');
    const only = await runCli(['check', '--config', path, '--only', 'lag,nope']);
    expect(only.code).toBe(2);
    expect(only.stderr).toMatch(/--only names no declared check: nope/);
    const none = await runCli(['check', '--config', configFile(dir, 'none.yml', 'slot: s\n')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/declares no checks/);
  });
});

describe('tributary check with tributary run, and on the file', () => {
  const cluster = useCluster({
    binaries: newestBinaries(),
    setup: (c) =>
      c.sql(`CREATE TABLE customers (id int PRIMARY KEY, email text);
             CREATE TABLE orders (id int PRIMARY KEY, customer_id int, state text)`),
  });

  it('runs through the running process and the file, exits 1 on failure and 0 on warnings, records results', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-check-cli-'));
    const warehouse = join(dir, 'w.duckdb');
    const config = configFile(
      dir,
      'tributary.yml',
      `source: ${cluster().url()}
warehouse: ${warehouse}
batch: { delay: 20ms }
checks:
  - { name: lag, type: freshness, warn: 3s, error: 10s, every: 1s }
  - { name: states, type: accepted_values, table: orders, column: state, values: [new, paid], severity: warn, every: 1s }
  - { name: emails, type: not_null, table: customers, columns: [email], every: 1s }
`,
    );
    const run = startCli(['run', '--config', config]);
    let writer: NodeJS.Timeout | undefined;
    try {
      await waitFor('the slot', () => /replication slot/.test(run.stderr()) || undefined);
      await cluster().sql(`INSERT INTO customers VALUES (1, 'a@x'); INSERT INTO orders VALUES (1, 1, 'new')`);
      await waitForWarehouse(cluster());
      // the source keeps changing while the run runs, so the lag stays small until it stops
      writer = setInterval(
        () =>
          void cluster()
            .sql('UPDATE orders SET id = id WHERE id = 1')
            .catch(() => {}),
        300,
      );

      // through the running process: all pass (the lag once a change is recent enough)
      const clean = await waitFor('the checks to pass', async () => {
        const r = await runCli(['check', '--config', config, '--json']);
        const parsed = JSON.parse(r.stdout) as CheckJson;
        return (r.code === 0 && parsed.results.every((x) => x.status === 'pass') && parsed) || undefined;
      });
      expect(clean.ok).toBe(true);
      expect(typeof clean.runId).toBe('string');
      expect(clean.results.map((r) => [r.name, r.type, r.severity])).toEqual([
        ['lag', 'freshness', 'error'],
        ['states', 'accepted_values', 'warn'],
        ['emails', 'not_null', 'error'],
      ]);
      expect(clean.results[0]).toMatchObject({
        status: 'pass',
        observed: { from: 'checkpoint.commit_time', ageSeconds: expect.any(Number) },
        startedAt: expect.any(String),
        finishedAt: expect.any(String),
        message: expect.stringMatching(/end-to-end lag/),
        sample: [],
      });

      // a warn-severity failure prints but exits 0
      await cluster().sql(`INSERT INTO orders VALUES (2, 1, 'lost')`);
      await waitForWarehouse(cluster());
      const warned = await runCli(['check', '--config', config, '--only', 'states']);
      expect(warned.code, warned.stderr).toBe(0);
      expect(warned.stdout).toMatch(
        /^WARN\s+states\s+accepted_values\s+1 rows with a state not in the accepted values/m,
      );
      expect(warned.stdout).toContain('"state":"lost"');

      // an error-severity failure exits 1; without --config the run's own checks are used
      await cluster().sql(`INSERT INTO customers VALUES (2, NULL)`);
      await waitForWarehouse(cluster());
      const failed = await runCli(['check', '--only', 'emails', '--warehouse', warehouse, '--json']);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/1 check\(s\) failed: emails/);
      const report = JSON.parse(failed.stdout) as CheckJson;
      expect(report.ok).toBe(false);
      expect(report.results).toEqual([
        expect.objectContaining({
          name: 'emails',
          status: 'fail',
          sample: [expect.objectContaining({ id: 2 })],
        }),
      ]);

      // the run ran the checks on their schedules too, and recorded them
      await waitFor('scheduled results', async () => {
        const rows = await queryWarehouse(
          warehouse,
          "SELECT count(DISTINCT run_id) AS runs FROM _tributary.check_results WHERE check_name = 'emails' AND status = 'fail'",
        );
        return Number(rows[0]?.runs) >= 2 || undefined;
      });
      await waitFor('the scheduled failure logged', () =>
        /check fails: 1 rows with NULL in \(email\)/.test(run.stderr()) ? true : undefined,
      );
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
      clearInterval(writer);
    }
    expect((await run.exited).code).toBe(0);

    // nothing runs now: the checks open the file; the lag grows, warns, then fails
    const statuses: string[] = [];
    await waitFor('freshness to fail', async () => {
      const r = await runCli(['check', '--config', config, '--only', 'lag', '--json']);
      const status = (JSON.parse(r.stdout) as CheckJson).results[0]?.status as string;
      if (statuses.at(-1) !== status) statuses.push(status);
      expect(r.code).toBe(status === 'fail' ? 1 : 0);
      return status === 'fail' || undefined;
    });
    // the lag passes 3 s before 10 s: a warning comes first (pass may be gone already)
    expect(statuses.filter((s) => s !== 'pass')).toEqual(['warn', 'fail']);
    const recorded = await queryWarehouse(
      warehouse,
      "SELECT status FROM _tributary.check_results WHERE check_name = 'lag' ORDER BY finished_at DESC LIMIT 1",
    );
    expect(recorded).toEqual([{ status: 'fail' }]);
    // status shows each check's latest result
    const status = await runCli(['status', '--warehouse', warehouse, '--json']);
    expect(status.code, status.stderr).toBe(0);
    const checks = (JSON.parse(status.stdout) as { checks: { name: string; status: string }[] }).checks;
    expect(checks.find((c) => c.name === 'lag')?.status).toBe('fail');
    expect(checks.find((c) => c.name === 'emails')?.status).toBe('fail');
    const text = await runCli(['status', '--warehouse', warehouse]);
    expect(text.stdout).toMatch(/^ {2}lag {2}FAIL {2}\(freshness, error\)/m);
  });
});
