/**
 * `npm run bench:verify`: `tributary verify` of a table that matches, against comparing the
 * same table naively — every row read out of both sides in key order and compared in the
 * client — measured in the same run on the same data.
 *
 * - Setup: one throwaway cluster, bench/snapshot's `orders` table (`--rows`, default
 *   10,000,000), copied into a fresh DuckDB warehouse by `runPipeline` (untimed), which then
 *   keeps streaming (the source is idle).
 * - Tributary: `verify` through that running pipeline's loader (as `tributary verify` reaches a
 *   running `tributary run`): pins a point, compares bucket aggregates; must report a match.
 * - Naive: after the pipeline stopped, both sides stream every row, ordered by key, as text
 *   (`COPY (SELECT ... ORDER BY id) TO STDOUT` from Postgres; a DuckDB result streamed chunk by
 *   chunk), each column in the same canonical form verify uses so the comparison is exact, and
 *   rows are compared one by one as they arrive; must find no difference.
 * - Printed: both times, rows/s, and the ratio naive / verify (how many times faster verify is;
 *   target ≥ 1, since verify moves only aggregates), plus the source statements verify ran.
 *
 * Options: --rows N, --runs N (default 1), --concurrency N, --bucket-rows N.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { to as copyTo } from 'pg-copy-streams';
import { silentLogger } from '../../src/core/logger.js';
import { newestBinaries, PostgresCluster } from '../../src/embedded/postgres-cluster.js';
import type { Loader } from '../../src/pipeline/loader.js';
import { runPipeline } from '../../src/pipeline/pipeline.js';
import { type ColumnCanon, canonicalColumn, readSourceColumns } from '../../src/quality/verify/canonical.js';
import { type VerifySettings, verify } from '../../src/quality/verify/verify.js';
import { withSessionSettings } from '../../src/source/postgres/session-settings.js';
import { connectClient } from '../../src/source/postgres/setup/connect.js';
import { parseSourceUrl } from '../../src/source/postgres/setup/connection-config.js';
import { TypeRegistry } from '../../src/source/postgres/values/type-registry.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { DRAIN_CLUSTER_SETTINGS } from '../common/cluster.js';
import { firstCopyDone } from '../common/copied.js';
import { elapsedSince, int, now, rate, sleep, verdict, withTimeout } from '../common/report.js';
import { median } from '../common/tools.js';
import { createOrders } from '../snapshot/orders.js';

const TARGET = 1;

interface Options {
  readonly rows: number;
  readonly runs: number;
  readonly settings: Partial<VerifySettings>;
}

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '10000000' },
      runs: { type: 'string', default: '1' },
      concurrency: { type: 'string' },
      'bucket-rows': { type: 'string' },
    },
    strict: true,
  });
  const positive = (name: string, text: string): number => {
    const n = Number(text.replaceAll('_', ''));
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
    return n;
  };
  return {
    rows: positive('rows', values.rows),
    runs: positive('runs', values.runs),
    settings: {
      ...(values.concurrency ? { concurrency: positive('concurrency', values.concurrency) } : {}),
      ...(values['bucket-rows'] ? { bucketRows: positive('bucket-rows', values['bucket-rows']) } : {}),
    },
  };
}

async function main(): Promise<void> {
  const options = readOptions();
  const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-verify-'));
  console.log(`bench/verify: ${int(options.rows)} rows, ${options.runs} run(s)`);
  const cluster = await PostgresCluster.start({
    binaries: newestBinaries(),
    settings: DRAIN_CLUSTER_SETTINGS,
  });
  try {
    await createOrders(cluster, options.rows);
    const connection = parseSourceUrl(cluster.url());
    const path = join(dir, 'w.duckdb');
    const types = new TypeRegistry();
    const warehouse = await DuckDBWarehouse.open(path, { typeInfo: (oid) => types.info(oid) });
    const stop = new AbortController();
    let loader: Loader | null = null;
    let start = now();
    const running = runPipeline(
      {
        source: { connection, tables: 'all', slot: 'bench_verify', publication: 'orders_pub', types },
        warehouse,
        logger: silentLogger(),
        onLoader: (l) => {
          loader = l;
        },
      },
      stop.signal,
    );
    // loaded: the copy is done and the stream applied a change written after the slot existed
    await withTimeout(waitForCopy(warehouse, cluster, options.rows), 'the first copy', 60 * 60_000);
    console.log(`  loaded into DuckDB in ${elapsedSince(start).toFixed(1)} s (untimed)`);

    const verifySeconds: number[] = [];
    const naiveSeconds: number[] = [];
    let statements = 0;
    for (let run = 1; run <= options.runs; run++) {
      start = now();
      const report = await verify({
        connection,
        publication: 'orders_pub',
        types,
        tables: [{ schema: 'public', name: 'orders' }],
        settings: options.settings,
        pin: (bound, point) => loader!.pinAt(bound, point, () => warehouse.pinnedReader()),
        logger: silentLogger(),
      });
      const seconds = elapsedSince(start);
      verifySeconds.push(seconds);
      statements = report.queries.filter((q) => q.side === 'source').length;
      const table = report.tables[0];
      if (!report.ok || table?.status !== 'match')
        throw new Error(`verify found differences in a matching table: ${JSON.stringify(table)}`);
      console.log(
        `  run ${run}: verify ${seconds.toFixed(1)} s (${rate(options.rows / seconds)} rows), ` +
          `${table.buckets} buckets (${table.mode}), ${statements} source statements taking ` +
          `${table.seconds?.source.toFixed(1)} s together, DuckDB ${table.seconds?.warehouse.toFixed(1)} s`,
      );
    }
    stop.abort();
    await running;
    await warehouse.close();
    for (let run = 1; run <= options.runs; run++) {
      start = now();
      const compared = await naiveCompare(cluster, path);
      const seconds = elapsedSince(start);
      naiveSeconds.push(seconds);
      if (compared.differences > 0 || compared.rows !== options.rows)
        throw new Error(
          `the naive comparison found ${compared.differences} differences in ${compared.rows} rows`,
        );
      console.log(
        `  run ${run}: naive full comparison ${seconds.toFixed(1)} s (${rate(options.rows / seconds)} rows)`,
      );
    }
    const ratio = median(naiveSeconds) / median(verifySeconds);
    console.log(
      `\nverify ${median(verifySeconds).toFixed(1)} s vs naive ${median(naiveSeconds).toFixed(1)} s: ` +
        `ratio naive/verify ${ratio.toFixed(2)} (target ≥ ${TARGET}) ${verdict(ratio >= TARGET)}`,
    );
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function waitForCopy(
  warehouse: DuckDBWarehouse,
  cluster: PostgresCluster,
  rows: number,
): Promise<void> {
  await firstCopyDone(warehouse, rows);
  await cluster.sql(`SELECT pg_logical_emit_message(true, 'bench', 'loaded')`);
  await sleep(1000);
}

/** Every row of both sides, in key order, as canonical text; compared as they arrive. */
async function naiveCompare(
  cluster: PostgresCluster,
  path: string,
): Promise<{ rows: number; differences: number }> {
  const client = await connectClient(withSessionSettings(parseSourceUrl(cluster.url())), {
    applicationName: 'bench naive',
  });
  const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
  try {
    const connection = await instance.connect();
    const described = await connection.runAndReadAll(
      `SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'orders' AND column_name NOT LIKE '\\_tributary\\_%' ESCAPE '\\' ORDER BY column_index`,
    );
    const warehouseType = new Map(described.getRows().map((r) => [String(r[0]), String(r[1])]));
    const columns: ColumnCanon[] = [];
    for (const column of await readSourceColumns(client, { schema: 'public', name: 'orders' })) {
      const canon = canonicalColumn(column, warehouseType.get(column.name) ?? '');
      if ('uncomparable' in canon) throw new Error(`${column.name}: ${canon.uncomparable}`);
      columns.push(canon);
    }
    // Postgres: one COPY stream of text lines; DuckDB: chunks of rows, joined the same way
    const pgSql = `COPY (SELECT ${columns.map((c) => `coalesce(${c.source}, '\\N')`).join(', ')} FROM orders ORDER BY id) TO STDOUT`;
    const duckSql = `SELECT ${columns.map((c) => `coalesce(${c.warehouse}, '\\N')`).join(', ')} FROM orders ORDER BY id`;
    const duck = await connection.stream(duckSql);
    let pending: string[] = [];
    let at = 0;
    const nextDuckRow = async (): Promise<string | null> => {
      while (at >= pending.length) {
        const chunk = await duck.fetchChunk();
        if (!chunk || chunk.rowCount === 0) return null;
        pending = chunk.getRows().map((row) => row.map(String).join('\t'));
        at = 0;
      }
      return pending[at++] ?? null;
    };
    let rows = 0;
    let differences = 0;
    let carry = '';
    // a chunk may end inside a character: decode across chunks
    const decoder = new StringDecoder('utf8');
    const stream = client.query(copyTo(pgSql));
    for await (const data of stream) {
      const lines = (carry + decoder.write(data as Buffer)).split('\n');
      carry = lines.pop() ?? '';
      for (const line of lines) {
        rows++;
        if (unescapeCopyText(line) !== (await nextDuckRow())) differences++;
      }
    }
    if ((await nextDuckRow()) !== null) differences++;
    connection.closeSync();
    return { rows, differences };
  } finally {
    instance.closeSync();
    await client.end();
  }
}

const COPY_ESCAPES: Readonly<Record<string, string>> = {
  t: '\t',
  n: '\n',
  r: '\r',
  b: '\b',
  f: '\f',
  v: '\v',
};

/** A COPY text line's escapes undone (fields stay tab-separated, as the DuckDB side joins them). */
function unescapeCopyText(line: string): string {
  return line.replace(/\\(.)/g, (_, c: string) => COPY_ESCAPES[c] ?? c);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
