/**
 * `npm run bench:feed`: the same backlog end to end (Postgres → feed → DuckDB file) through the
 * in-process feed and through NATS JetStream, in the same run; the ratio JetStream / in-process
 * is the result (target ≥ 0.5), and the in-process feed is the reference.
 *
 * - One throwaway Postgres cluster (bench/e2e's settings) and one throwaway nats-server with
 *   JetStream (src/embedded/nats-server.ts: file storage in its temp dir, 127.0.0.1).
 * - The backlog: `--changes` changes (default 1,000,000; bench/common/backlog.ts, the mix of
 *   bench/decode and bench/e2e), written once. Every run reads it from a slot of its own, all
 *   created before the backlog is written, so all read the identical WAL.
 * - Three consumers, each draining the whole backlog into a fresh DuckDB file:
 *   1. in-process: `runPipeline` with the default feed (what `tributary run` does);
 *   2. jetstream-1proc: `runPipeline` with `feed: { url, name }` (what `tributary run --feed` does);
 *   3. jetstream-2proc: `tributary source` and `tributary load` from dist/ as two child processes
 *      (cli-drain.ts), timed from spawning them to the loader having applied every change.
 *   Each run ends with the warehouse's count(*) and sum(qty) checked against Postgres'; a
 *   JetStream run's stream is counted and deleted.
 * - Order: rounds of (in-process, jetstream-1proc, jetstream-2proc), `--runs` of them (default
 *   2); medians. Beside each run: this process's CPU (or the two children's), the nats-server's,
 *   the Postgres server's.
 * - Scaling from 1 to 2 loaders (lanes-drain.ts): the same number of changes spread over four
 *   tables, published once to a feed of four lanes, drained by one loader and by two loaders of
 *   a group (in this process: they share the DuckDB file), `--runs` rounds of (1, 2); the ratio
 *   of the medians is printed. `--no-scaling` skips it.
 *
 * Options: --changes N (a multiple of 1,000), --runs N, --only in-process,jetstream-1proc,jetstream-2proc, --no-scaling,
 * --children-cpu-prof DIR (the two children of jetstream-2proc run with `node --cpu-prof` into
 * DIR; profile this process itself with `node --cpu-prof dist/bench/feed/run.js`).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { findNatsServerBinary, type NatsServer, startNatsServer } from '../../src/embedded/nats-server.js';
import { newestBinaries, PostgresCluster } from '../../src/embedded/postgres-cluster.js';
import { backlogSql, CHANGES_PER_ROUND } from '../common/backlog.js';
import { callProcedure, DRAIN_CLUSTER_SETTINGS, dropSlots } from '../common/cluster.js';
import { elapsedSince, int, now, rate, verdict } from '../common/report.js';
import { ServerCpu } from '../common/server-cpu.js';
import { loadText, median } from '../common/tools.js';
import { cliDrain } from './cli-drain.js';
import {
  cpuText,
  type DrainContext,
  type DrainRun,
  processCpuText,
  VARIANT_TEXT,
  VARIANTS,
  type Variant,
} from './drain.js';
import { drainWithLoaders, publishSpread, type ScalingRun } from './lanes-drain.js';
import { pipelineDrain } from './pipeline-drain.js';

const TARGET = 0.5;
const STAGE_TIMEOUT_MS = 30 * 60_000;
const SLOT_PREFIX: Readonly<Record<Variant, string>> = {
  'in-process': 'inproc',
  'jetstream-1proc': 'js1',
  'jetstream-2proc': 'js2',
};

interface Options {
  readonly changes: number;
  readonly runs: number;
  readonly only: readonly Variant[];
  readonly childrenCpuProf: string | null;
  readonly scaling: boolean;
}

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      changes: { type: 'string', default: '1000000' },
      runs: { type: 'string', default: '2' },
      only: { type: 'string', default: VARIANTS.join(',') },
      'children-cpu-prof': { type: 'string' },
      'no-scaling': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const positive = (name: string, text: string): number => {
    const n = Number(text.replaceAll('_', ''));
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
    return n;
  };
  const changes = positive('changes', values.changes);
  if (changes % CHANGES_PER_ROUND !== 0)
    throw new Error(`--changes must be a multiple of ${CHANGES_PER_ROUND}`);
  const only = values.only.split(',').map((v) => v.trim());
  for (const v of only)
    if (!(VARIANTS as readonly string[]).includes(v))
      throw new Error(`--only is a list of ${VARIANTS.join(', ')}`);
  return {
    changes,
    runs: positive('runs', values.runs),
    only: VARIANTS.filter((v) => only.includes(v)),
    childrenCpuProf: values['children-cpu-prof'] ? resolve(values['children-cpu-prof']) : null,
    scaling: !values['no-scaling'],
  };
}

function natsVersion(): string {
  try {
    return execFileSync(findNatsServerBinary(), ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'nats-server (version unknown)';
  }
}

/** Writes the backlog once, after creating every run's slot; Postgres' answer for the checks. */
async function writeBacklog(
  cluster: PostgresCluster,
  changes: number,
  slots: readonly string[],
): Promise<{ count: string; qty: string }> {
  await cluster.sql(backlogSql('bench_pub'));
  for (const slot of slots)
    await cluster.sql("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slot]);
  const start = now();
  await callProcedure(cluster, `CALL bench_backlog(${changes / CHANGES_PER_ROUND})`);
  const [backlog] = await cluster.sql<{ lsn: string; wal: string }>(
    `SELECT pg_current_wal_insert_lsn()::text AS lsn,
            pg_size_pretty(pg_current_wal_insert_lsn() - restart_lsn) AS wal
       FROM pg_replication_slots WHERE slot_name = $1`,
    [slots[0]],
  );
  const [facts] = await cluster.sql<{ count: string; qty: string }>(
    'SELECT count(*)::text AS count, sum(qty)::text AS qty FROM bench',
  );
  if (!backlog || !facts) throw new Error('the replication slots or the bench table are missing');
  console.log(
    `  backlog written in ${elapsedSince(start).toFixed(1)} s: ${backlog.wal} of WAL, ends at ${backlog.lsn}; ` +
      `${int(changes / 100)} transactions of 100 changes, 60/30/10% insert/update/delete; ` +
      `${int(Number(facts.count))} rows remain; ${slots.length} slot${slots.length === 1 ? '' : 's'}`,
  );
  await cluster.sql('CHECKPOINT');
  return facts;
}

function runLine(run: DrainRun): string {
  const { cpu } = run;
  const client =
    run.variant === 'jetstream-2proc'
      ? `source CPU ${processCpuText(cpu.source)}, load CPU ${processCpuText(cpu.loader)}, ` +
        `bench ${cpuText(cpu.bench.total)}`
      : `process CPU ${processCpuText(cpu.bench)}`;
  return (
    `  ${run.variant.padEnd(15)} run ${run.round} ${run.seconds.toFixed(2).padStart(7)} s ` +
    `${rate(run.changesPerSecond).padStart(8)}  ${client}, nats-server CPU ${cpuText(cpu.nats)}, ` +
    `Postgres CPU ${cpuText(cpu.postgres)}; ${run.notes.join(', ')}  (load ${loadText()})`
  );
}

/** Tributary's CPU in a run: this process, or the source's and the loader's. */
function tributaryCpu(run: DrainRun): number | null {
  const { bench, source, loader } = run.cpu;
  if (run.variant !== 'jetstream-2proc') return bench.total;
  return source === null || loader === null ? null : source.total + loader.total;
}

function medianOf(values: readonly (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length === values.length && known.length > 0 ? median(known) : null;
}

function summarize(runs: readonly DrainRun[], scaling: readonly ScalingRun[], options: Options): void {
  console.log('');
  console.log(`summary (medians of ${options.runs} run${options.runs === 1 ? '' : 's'} each)`);
  const rates = new Map<Variant, number>();
  for (const variant of options.only) {
    const mine = runs.filter((r) => r.variant === variant);
    const changesPerSecond = median(mine.map((r) => r.changesPerSecond));
    rates.set(variant, changesPerSecond);
    console.log(
      `  ${variant.padEnd(15)} ${rate(changesPerSecond).padStart(8)} (${median(mine.map((r) => r.seconds)).toFixed(2)} s); ` +
        `CPU: Tributary ${cpuText(medianOf(mine.map(tributaryCpu)))}, nats-server ${cpuText(medianOf(mine.map((r) => r.cpu.nats)))}, ` +
        `Postgres ${cpuText(medianOf(mine.map((r) => r.cpu.postgres)))}`,
    );
  }
  const reference = rates.get('in-process');
  for (const variant of ['jetstream-1proc', 'jetstream-2proc'] as const) {
    const measured = rates.get(variant);
    if (measured === undefined) continue;
    if (reference === undefined) {
      console.log(`  ${variant} / in-process: - (the in-process feed did not run: --only)`);
      continue;
    }
    const ratio = measured / reference;
    console.log(
      `  ratio ${variant} / in-process: ${ratio.toFixed(2)} (target ≥ ${TARGET}): ${verdict(ratio >= TARGET)}`,
    );
  }
  if (scaling.length === 0) {
    console.log('  scaling from 1 to 2 loaders: not measured (--no-scaling)');
    return;
  }
  const by = (n: number) => median(scaling.filter((r) => r.loaders === n).map((r) => r.changesPerSecond));
  console.log(
    `  scaling from 1 to 2 loaders (one process, one DuckDB file): 1 loader ${rate(by(1))}, 2 loaders ${rate(by(2))}: ` +
      `${(by(2) / by(1)).toFixed(2)}×`,
  );
}

let interrupted = false;

async function main(): Promise<number> {
  const options = readOptions();
  const binaries = newestBinaries();
  // everything on disk (the harness' initdb template, the cluster, the nats-server's store,
  // spools, DuckDB files) lives under one directory of this run, removed at the end
  const workDir = mkdtempSync(join(tmpdir(), 'tributary-bench-feed-'));
  chmodSync(workDir, 0o755);
  process.env.TMPDIR = workDir;
  console.log('bench/feed: Postgres → feed → DuckDB, the in-process feed vs NATS JetStream');
  console.log(
    `  machine: ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), ` +
      `${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}`,
  );
  console.log(`  load average at start: ${loadText()} (other work on the machine skews every run)`);
  for (const v of options.only) console.log(`  ${v}: ${VARIANT_TEXT[v]}`);

  let cluster: PostgresCluster | null = null;
  let nats: NatsServer | null = null;
  let nc: NatsConnection | null = null;
  const live = new Set<() => Promise<void>>();
  const cleanUp = async () => {
    for (const shutDown of live) await shutDown().catch(() => {});
    live.clear();
    await nc?.close().catch(() => {});
    nc = null;
    await nats?.stop().catch(() => {});
    nats = null;
    await cluster?.stop().catch(() => {});
    cluster = null;
    rmSync(workDir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = true;
    console.error(`bench/feed: ${signal}, cleaning up`);
    void cleanUp().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    cluster = await PostgresCluster.start({ binaries, settings: DRAIN_CLUSTER_SETTINGS });
    const [version] = await cluster.sql<{ version: string }>(
      "SELECT current_setting('server_version') AS version",
    );
    console.log(`  server: PostgreSQL ${version?.version} (${binaries.binDir}), TCP to 127.0.0.1`);
    const postgresCpu = await ServerCpu.of(cluster);
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url, name: 'bench-feed' });
    console.log(`  feed: ${natsVersion()}, JetStream file storage, ${nats.url}`);

    const order: { variant: Variant; round: number; slot: string }[] = [];
    for (let round = 1; round <= options.runs; round++)
      for (const variant of options.only)
        order.push({ variant, round, slot: `${SLOT_PREFIX[variant]}_${round}` });
    console.log('');
    console.log(
      `drain ${int(options.changes)} changes into a fresh DuckDB file, ${order.length} run${order.length === 1 ? '' : 's'}`,
    );
    const expected = await writeBacklog(
      cluster,
      options.changes,
      order.map((o) => o.slot),
    );
    const ctx: DrainContext = {
      cluster,
      nats,
      jsm: await jetstreamManager(nc),
      postgresCpu,
      workDir,
      changes: options.changes,
      expected,
      live,
      stageTimeoutMs: STAGE_TIMEOUT_MS,
    };

    const runs: DrainRun[] = [];
    for (const { variant, round, slot } of order) {
      const run =
        variant === 'jetstream-2proc'
          ? await cliDrain(ctx, round, slot, options.childrenCpuProf)
          : await pipelineDrain(ctx, variant, round, slot);
      runs.push(run);
      console.log(runLine(run));
      await dropSlots(cluster, [slot]);
    }
    const scaling: ScalingRun[] = [];
    if (options.scaling) {
      console.log('');
      console.log(`scaling: drain ${int(options.changes)} changes of a four-lane feed with 1 and 2 loaders`);
      const facts = await publishSpread(ctx);
      for (let round = 1; round <= options.runs; round++) {
        for (const loaders of [1, 2]) {
          const run = await drainWithLoaders(ctx, facts, loaders, round);
          scaling.push(run);
          console.log(
            `  ${`${loaders} loader${loaders === 1 ? '' : 's'}`.padEnd(15)} run ${round} ${run.seconds.toFixed(2).padStart(7)} s ` +
              `${rate(run.changesPerSecond).padStart(8)}  process CPU ${run.cpuSeconds.toFixed(1)} s; ${run.note}  (load ${loadText()})`,
          );
        }
      }
    }
    summarize(runs, scaling, options);
    console.log(`  load average at the end: ${loadText()}`);
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!interrupted) await cleanUp();
  }
}

main().then(
  (code) => {
    if (!interrupted) process.exit(code);
  },
  (error: unknown) => {
    if (interrupted) return;
    console.error('bench/feed failed:', error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
