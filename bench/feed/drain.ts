/**
 * What the three consumers of bench/feed share: the run's context (cluster, nats-server, the
 * backlog's facts), the record of one drain, the CPU meters, the warehouse check against
 * Postgres, and the JetStream stream a run leaves behind (counted, then deleted).
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsServer } from '../../src/embedded/nats-server.js';
import type { PostgresCluster } from '../../src/embedded/postgres-cluster.js';
import { feedNames } from '../../src/feed/jetstream/subjects.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import { mainThreadCpu, processCpu } from '../common/proc-cpu.js';
import type { ServerCpu } from '../common/server-cpu.js';

export type Variant = 'in-process' | 'jetstream-1proc' | 'jetstream-2proc';

export const VARIANTS: readonly Variant[] = ['in-process', 'jetstream-1proc', 'jetstream-2proc'];

export const VARIANT_TEXT: Readonly<Record<Variant, string>> = {
  'in-process': 'runPipeline, the in-process feed (what `tributary run` does)',
  'jetstream-1proc': 'runPipeline with a JetStream feed, one process (what `tributary run --feed` does)',
  'jetstream-2proc': '`tributary source` + `tributary load` from dist/, two processes around JetStream',
};

export interface DrainContext {
  readonly cluster: PostgresCluster;
  readonly nats: NatsServer;
  /** The bench's own connection to the nats-server: stream sizes, and deleting a run's stream. */
  readonly jsm: JetStreamManager;
  readonly postgresCpu: ServerCpu;
  readonly workDir: string;
  readonly changes: number;
  /** Postgres' answer after the backlog: every warehouse must hold the same. */
  readonly expected: { readonly count: string; readonly qty: string };
  /** Teardowns of what the current run has under way, for a failure or Ctrl-C. */
  readonly live: Set<() => Promise<void>>;
  readonly stageTimeoutMs: number;
}

/** CPU seconds of a process: all its threads, and its main (JavaScript) thread. */
export interface ProcessCpu {
  readonly total: number;
  readonly mainThread: number | null;
}

export interface DrainCpu {
  /** This process, over the timed part. */
  readonly bench: ProcessCpu;
  /** The `tributary source` and `tributary load` children, from their start to the end of timing. */
  readonly source: ProcessCpu | null;
  readonly loader: ProcessCpu | null;
  readonly nats: number | null;
  /** The whole Postgres server (walsender included), from before the start until the run's backends exited. */
  readonly postgres: number | null;
}

export interface DrainRun {
  readonly variant: Variant;
  readonly round: number;
  readonly seconds: number;
  readonly changesPerSecond: number;
  readonly cpu: DrainCpu;
  readonly notes: readonly string[];
}

export function cpuDelta(after: number | null, before: number | null): number | null {
  return after === null || before === null ? null : after - before;
}

export function cpuText(seconds: number | null): string {
  return seconds === null ? '-' : `${seconds.toFixed(1)} s`;
}

export function processCpuText(cpu: ProcessCpu | null): string {
  if (cpu === null) return '-';
  return `${cpu.total.toFixed(1)} s (main thread ${cpuText(cpu.mainThread)})`;
}

/** A child's CPU so far, read from /proc while it lives (null once it is gone). */
export function childCpu(pid: number): ProcessCpu | null {
  const total = processCpu(pid);
  return total === null ? null : { total, mainThread: mainThreadCpu(pid) };
}

/** Starts the meters of a run: this process's CPU and the nats-server's now, Postgres' once idle. */
export async function startMeters(ctx: DrainContext): Promise<{
  /** At the end of timing: this process's and the nats-server's CPU since the start. */
  timed(): { bench: ProcessCpu; nats: number | null };
  /** After the run stopped: the Postgres server's CPU since the start. */
  postgres(): Promise<number | null>;
}> {
  const postgresBefore = await ctx.postgresCpu.read();
  const natsBefore = processCpu(ctx.nats.pid);
  const benchBefore = process.cpuUsage();
  const mainBefore = mainThreadCpu();
  return {
    timed() {
      const used = process.cpuUsage(benchBefore);
      return {
        bench: { total: (used.user + used.system) / 1e6, mainThread: cpuDelta(mainThreadCpu(), mainBefore) },
        nats: cpuDelta(processCpu(ctx.nats.pid), natsBefore),
      };
    },
    async postgres() {
      return cpuDelta(await ctx.postgresCpu.read(), postgresBefore);
    },
  };
}

/** Throws unless the warehouse's `bench` holds what Postgres' does (count and sum of qty). */
export async function verifyWarehouse(warehouse: Warehouse, ctx: DrainContext): Promise<void> {
  const answer = await warehouse.query('SELECT count(*) AS n, sum(qty) AS q FROM bench');
  const row = answer.rows[0] ?? [];
  if (String(row[0]) !== ctx.expected.count || String(row[1]) !== ctx.expected.qty)
    throw new Error(
      `the warehouse holds count ${row[0]}, sum(qty) ${row[1]}; Postgres ${ctx.expected.count}, ${ctx.expected.qty}`,
    );
}

/** The feed's stream after a run: its size for the record; then deleted, to keep the server's disk flat. */
export async function takeDownStream(ctx: DrainContext, feedName: string): Promise<string> {
  const stream = feedNames(feedName).stream;
  const info = await ctx.jsm.streams.info(stream);
  await ctx.jsm.streams.delete(stream);
  const { messages, bytes } = info.state;
  return (
    `stream ${messages.toLocaleString('en-US')} messages, ${(bytes / 2 ** 20).toFixed(0)} MiB ` +
    `(${Math.round(ctx.changes / Math.max(1, messages)).toLocaleString('en-US')} changes per message)`
  );
}
