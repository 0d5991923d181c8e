/**
 * A partitioned table, as `tributary run` replicates it by default: one table under the root's
 * name, whatever partition a row lives in (a sub-partitioned level, a default partition, a row
 * moved between partitions, a partition created while running). pgoutput describes a partition
 * as well as its root; that description used to become an empty table of the partition in the
 * warehouse, which `verify` then compared and refused ("not in the publication").
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { runArgs, runCli, startCli } from '../helpers/cli.js';
import { queryWarehouse, waitForWarehouse } from '../helpers/warehouse.js';

const SETUP = `
  CREATE TABLE events (id bigint, at date NOT NULL, kind text NOT NULL, payload text,
                       PRIMARY KEY (id, at, kind)) PARTITION BY RANGE (at);
  CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')
    PARTITION BY LIST (kind);
  CREATE TABLE events_2025_a PARTITION OF events_2025 FOR VALUES IN ('a');
  CREATE TABLE events_2025_rest PARTITION OF events_2025 DEFAULT;
  CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
  INSERT INTO events
    SELECT g, DATE '2025-01-01' + (g * 7 % 700), (ARRAY['a', 'b', 'c'])[1 + g % 3], 'seed ' || g
    FROM generate_series(1, 300) g;`;

const ROWS_SQL =
  "SELECT id || '|' || at || '|' || kind || '|' || coalesce(payload, '-') AS r FROM events ORDER BY 1";

describe('a partitioned table', () => {
  const cluster = useCluster({ binaries: newestBinaries(), setup: (c) => c.sql(SETUP) });
  const dir = mkdtempSync(join(tmpdir(), 'tributary-partitioned-'));
  const warehouse = join(dir, 'w.duckdb');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is one table under its root, every partition and move included, and verifies', async () => {
    const run = startCli(runArgs(cluster().url(), warehouse, '--no-http'));
    try {
      await waitForWarehouse(cluster(), { warehouse });
      await cluster().sql(`
        UPDATE events SET payload = 'in place' WHERE id % 10 = 1;
        UPDATE events SET at = at + 365 WHERE id BETWEEN 20 AND 40 AND at < '2025-12-01';
        UPDATE events SET kind = 'a' WHERE id BETWEEN 41 AND 60 AND kind <> 'a';
        DELETE FROM events WHERE id % 17 = 0;
        INSERT INTO events VALUES (1001, '2025-03-03', 'a', 'new a'), (1002, '2025-03-03', 'zzz', NULL),
                                  (1003, '2026-03-03', 'b', 'new 2026');
        CREATE TABLE events_2027 PARTITION OF events FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
        INSERT INTO events VALUES (1004, '2027-01-01', 'c', 'in a partition made while running');
        UPDATE events SET at = '2027-06-06' WHERE id = 1003;`);
      await waitForWarehouse(cluster());

      const source = (await cluster().sql<{ r: string }>(ROWS_SQL)).map((row) => row.r);
      const copied = (
        await queryWarehouse(
          warehouse,
          `SELECT CAST(id AS VARCHAR) || '|' || strftime("at", '%Y-%m-%d') || '|' || kind || '|' || coalesce(payload, '-') AS r
             FROM events ORDER BY 1`,
        )
      ).map((row) => String(row.r));
      expect(copied).toEqual(source);
      expect(copied.length).toBeGreaterThan(250);

      // no table, and no schema version, for a partition
      const tables = await queryWarehouse(
        warehouse,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1",
      );
      expect(tables.map((t) => t.table_name)).toEqual(['events']);
      const versions = await queryWarehouse(
        warehouse,
        'SELECT DISTINCT table_name FROM _tributary.schema_versions ORDER BY 1',
      );
      expect(versions.map((v) => v.table_name)).toEqual(['events']);

      // verify, with no table list, compares the root (through the running process)
      const verified = await runCli(['verify', '--warehouse', warehouse]);
      expect(verified.code, verified.stderr).toBe(0);
      expect(verified.stdout).toMatch(/public\.events\s+match/);
      expect(verified.stdout).not.toContain('events_20');
    } finally {
      run.child.kill('SIGTERM');
      expect((await run.exited).code).toBe(0);
    }
  });
});
