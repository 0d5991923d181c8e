/**
 * `tributary run` with `alerts:`: an error-severity check that starts failing (a NULL written)
 * posts exactly one alert to the webhook however many times it fails again, and one `recovered`
 * once the row is fixed; GET /api/alerts shows the open incident meanwhile, and the webhook's
 * secrets never reach the log.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { httpPort, runCli, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';
import { waitForWarehouse } from '../helpers/warehouse.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const HOOK_SECRET = 'hook-path-secret-123';
const QUERY_SECRET = 'query-secret-456';

describe('alerts of tributary run posted to a webhook', () => {
  const cluster = useCluster({
    binaries: newestBinaries(),
    setup: (c) => c.sql('CREATE TABLE customers (id bigint PRIMARY KEY, email text)'),
  });
  let receiver: WebhookReceiver | null = null;
  afterAll(() => receiver?.close());

  it('posts one alert per incident across failing runs, then one recovery', async () => {
    receiver = await startWebhookReceiver(`/${HOOK_SECRET}?key=${QUERY_SECRET}`);
    const { posts } = receiver;
    const dir = mkdtempSync(join(tmpdir(), 'tributary-alerts-'));
    const warehouse = join(dir, 'w.duckdb');
    const config = join(dir, 'tributary.yml');
    writeFileSync(
      config,
      `checks:
  - { name: emails, type: not_null, table: customers, columns: [email], every: 1s }
  - { name: soft-emails, type: not_null, table: customers, columns: [email], every: 1s, severity: warn }
alerts:
  webhook: ${receiver.url}
`,
    );
    const run = startCli([
      'run',
      '--source',
      cluster().url(),
      '--warehouse',
      warehouse,
      '--config',
      config,
      '--http',
      '127.0.0.1:0',
      '--batch-delay',
      '20ms',
    ]);
    const failures = () => run.stderr().match(/check fails: .*NULL/g)?.length ?? 0;
    const alerts = async (port: number) =>
      (await (await fetch(`http://127.0.0.1:${port}/api/alerts`)).json()) as {
        open: { alert: string; since: string; message: string; value: unknown }[];
      };
    /** The check's latest result from /metrics: when it ran and whether it fails. */
    const latest = async (port: number) => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const ran = /tributary_check_last_run_timestamp_seconds\{check="emails"\} (\S+)/.exec(text)?.[1];
      const failing = /tributary_check_failing\{check="emails",[^}]*\} (\S+)/.exec(text)?.[1];
      return ran === undefined || failing === undefined ? undefined : { ran, failing };
    };
    const runsLater = async (port: number, runs: number) => {
      for (let i = 0; i < runs; i++) {
        const before = await waitFor('a result', () => latest(port));
        await waitFor('another run', async () => {
          const now = await latest(port);
          return now && now.ran !== before.ran ? now : undefined;
        });
      }
      return waitFor('a result', () => latest(port));
    };
    try {
      const port = await httpPort(run);
      await waitFor('the slot', () => /replication slot/.test(run.stderr()) || undefined);
      await cluster().sql(`INSERT INTO customers VALUES (1, 'a@example.com')`);
      await waitForWarehouse(cluster(), { warehouse });
      expect((await runsLater(port, 2)).failing).toBe('0');
      expect(posts).toEqual([]);

      await cluster().sql('INSERT INTO customers VALUES (2, NULL)');
      await waitForWarehouse(cluster());
      await waitFor('the alert', () => posts.length > 0 || undefined);
      const first = failures();
      await waitFor('three more failing runs', () => failures() >= first + 3 || undefined);
      expect(posts).toEqual([
        {
          kind: 'alert',
          alert: 'check:emails',
          message: expect.stringMatching(/^check emails \(not_null\) fails: /),
          value: 'fail',
          threshold: null,
          at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          source: 'tributary',
        },
      ]);
      expect(await alerts(port)).toMatchObject({
        thresholds: { walRetainedBytes: null, lagSeconds: null, checks: true },
        open: [{ alert: 'check:emails', since: posts[0]?.at, value: 'fail' }],
      });
      const status = await runCli(['status', '--warehouse', warehouse]);
      expect(status.stdout).toMatch(/^alerts: +1 open$/m);
      expect(status.stdout).toMatch(/^ {2}check:emails {2}since \S+ {2}check emails \(not_null\) fails/m);

      await cluster().sql(`UPDATE customers SET email = 'b@example.com' WHERE id = 2`);
      await waitForWarehouse(cluster());
      await waitFor('the recovery', () => posts.length > 1 || undefined);
      // more passing runs: still one recovery
      expect((await runsLater(port, 3)).failing).toBe('0');
      expect(posts).toHaveLength(2);
      expect(posts[1]).toMatchObject({ kind: 'recovered', alert: 'check:emails', value: 'pass' });
      expect((await alerts(port)).open).toEqual([]);
    } finally {
      run.child.kill('SIGTERM');
    }
    const exited = await run.exited;
    expect(exited.code, exited.stderr).toBe(0);
    expect(exited.stderr).toMatch(/"alert":"check:emails".*alert: check emails/);
    expect(exited.stderr).not.toContain(HOOK_SECRET);
    expect(exited.stderr).not.toContain(QUERY_SECRET);
  });
});
