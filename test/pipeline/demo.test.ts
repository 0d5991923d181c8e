/**
 * `tributary demo` (what `npm start` runs) tells the whole story on a machine with nothing set
 * up, with a live line for every slow step — which, read through a pipe as here, are plain lines.
 */
import { describe, expect, it } from 'vitest';
import { runCli, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';

describe('tributary demo', () => {
  it('shows the four change events and the analyst answer, then cleans up', async () => {
    const result = await runCli(['demo', '--no-keep-running']);
    expect(result.code, result.stderr).toBe(0);
    const out = result.stdout;
    expect(out.match(/^ {2}(insert|update) +public\.orders @ /gm)).toHaveLength(4);
    expect(out).toMatch(/update +public\.orders .*"id":"102".*"status":"refunded"/);
    expect(out).toMatch(/CA +│ 80\.00/);
    expect(out).toMatch(/US +│ 162\.75/);
    expect(out).toMatch(/warehouse \(DuckDB\): [\d.]+ ms +production \(Postgres\): [\d.]+ ms/);
    // the shipped metric: refunds excluded, so the refunded CA order counts for nothing
    expect(out).toMatch(/^▸ the metric net_revenue@1 \(examples\/metrics\/net_revenue\.yml/m);
    expect(out).toMatch(/^\d{4}-\d\d-\d\d │ US +│ 162\.75 │ (true|false)$/m);
    expect(out).not.toMatch(/^\d{4}-\d\d-\d\d │ CA +│ 80\.00/m);
    expect(out).toMatch(/stopped; the embedded Postgres and the demo warehouse are removed/);
    // the slow steps say what is happening; off a terminal as plain lines, never rewritten in place
    expect(out).toMatch(/^▸ starting an embedded PostgreSQL \d+ \(wal_level=logical\) …$/m);
    expect(out).toMatch(/^▸ embedded PostgreSQL \d+ started \(wal_level=logical\) in [\d.]+ s$/m);
    expect(out).toMatch(/^▸ pipeline started in [\d.]+ s$/m);
    expect(out).not.toMatch(/[\r\u001b]/);
  });

  it('stops cleanly when its reader goes away (tributary demo | head)', async () => {
    const demo = startCli(['demo']);
    // like head: read until the first change event, then close the pipe
    await waitFor(
      'the first change event',
      () => /^ {2}insert +public\.orders @ /m.test(demo.stdout()),
      120_000,
    );
    demo.child.stdout?.destroy();
    const result = await demo.exited;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/EPIPE|unexpected error/);
  });
});
