/**
 * The long soak: a mixed concurrent workload runs for minutes while the `tail --out` consumer is
 * killed with SIGKILL at random moments (30+ times) and started again, and the server itself is
 * restarted (fast and immediate) and its walsenders terminated three times. At the end the file
 * must rebuild every table exactly as Postgres holds it, with positions strictly increasing and
 * none repeated: nothing lost, nothing applied twice, across every kind of interruption.
 *
 * The longer sibling of test/source/crash-between-receive-and-durable-ack.test.ts; run by
 * `npm run test:long`. TRIBUTARY_SOAK_SECONDS sets the length of the write phase (default 240)
 * and TRIBUTARY_SOAK_SEED the workload's seed.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBinaries, PostgresCluster } from '../harness/postgres.js';
import { type CliResult, type RunningCli, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';
import { replayFile, tableAsText, tableDifferences } from '../helpers/replay.js';
import {
  EXPECTED_WRITER_ERRORS,
  runMixedWorkload,
  SOAK_DDL,
  SOAK_TABLES,
  type WorkloadStats,
} from './mixed-workload.js';

const WRITE_SECONDS = Number(process.env.TRIBUTARY_SOAK_SECONDS ?? 240);
const SEED = Number(process.env.TRIBUTARY_SOAK_SEED ?? 20_240_611);
const MIN_KILLS = 30;
const END_PREFIX = 'tributary.soak.end';
const READY = /(created|reusing) replication slot/;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function prng(seed: number): () => number {
  let s = seed % 2_147_483_647 || 1;
  return () => {
    s = (s * 48_271) % 2_147_483_647;
    return s / 2_147_483_647;
  };
}

/** Resolves 'ready' once the consumer has prepared its slot, or with its result if it exits first. */
async function readyOrExit(cli: RunningCli, timeoutMs: number): Promise<'ready' | CliResult> {
  let exited: CliResult | null = null;
  void cli.exited.then((r) => {
    exited = r;
  });
  await waitFor(
    'the consumer to start or exit',
    () => READY.test(cli.stderr()) || exited !== null,
    timeoutMs,
  );
  return exited ?? 'ready';
}

interface SelfExit {
  readonly round: number;
  readonly phase: 'starting' | 'streaming';
  readonly duringDisturbance: boolean;
  readonly code: number | null;
  readonly message: string;
}

/** The last `tributary:` message on stderr (or the last line), for the summary. */
function lastMessage(stderr: string): string {
  const lines = stderr.trim().split('\n');
  const index = lines.findLastIndex((l) => l.startsWith('tributary:'));
  return (index >= 0 ? lines.slice(index, index + 2) : lines.slice(-1)).join(' ').slice(0, 400);
}

async function directorySize(path: string): Promise<{ dirs: number; bytes: number }> {
  let bytes = 0;
  let dirs = 0;
  for (const entry of await readdir(path, { withFileTypes: true, recursive: true })) {
    const full = join(entry.parentPath, entry.name);
    if (entry.isDirectory()) dirs++;
    else if (entry.isFile()) bytes += statSync(full).size;
  }
  return { dirs, bytes };
}

describe.each(availableBinaries().map((b) => [b.label, b] as const))(
  'consumer killed 30+ times and server restarted under a mixed workload (%s)',
  (label, binaries) => {
    let cluster: PostgresCluster;
    let dir: string;
    beforeAll(async () => {
      cluster = await PostgresCluster.start({ binaries });
      for (const statement of SOAK_DDL) await cluster.sql(statement);
      dir = mkdtempSync(join(tmpdir(), 'tributary-soak-'));
    });
    afterAll(async () => {
      await cluster?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it(
      'rebuilds every table exactly from the file after random kill -9, restarts and terminated walsenders',
      async () => {
        const began = Date.now();
        const out = join(dir, 'events.ndjson');
        // the consumers' spool directories go here, so what killed ones leave behind can be measured
        const spoolTmp = join(dir, 'tmp');
        mkdirSync(spoolTmp);
        const env = { TMPDIR: spoolTmp };
        const args = [
          'tail',
          '--source',
          cluster.url(),
          '--tables',
          Object.keys(SOAK_TABLES).join(','),
          '--out',
          out,
        ];

        // the slot exists before the first write, so the stream holds every change
        const setup = startCli(args, env);
        expect(await readyOrExit(setup, 60_000)).toBe('ready');
        setup.child.kill('SIGKILL');
        await setup.exited;

        const random = prng(SEED);
        const stopWriting = new AbortController();
        const workload = runMixedWorkload(cluster, { writers: 4, seed: SEED, signal: stopWriting.signal });
        const writeStart = Date.now();
        const writeEnd = writeStart + WRITE_SECONDS * 1000;

        // the server is restarted three times, and its walsenders terminated each time
        let disturbance: { from: number; to: number } | null = null;
        const disturbances: { from: number; to: number }[] = [];
        let walsendersTerminated = 0;
        const disturber = (async () => {
          const modes = ['fast', 'immediate', 'fast'] as const;
          for (const [i, mode] of modes.entries()) {
            await sleep(Math.max(0, writeStart + ((i + 1) * WRITE_SECONDS * 1000) / 4 - Date.now()));
            const current = { from: Date.now(), to: Number.POSITIVE_INFINITY };
            disturbance = current;
            await cluster.restart(mode);
            await sleep(1500 + random() * 2000);
            // the consumer of the moment reconnects (or is restarted) soon; end its walsender
            const terminated = await waitFor(
              'a walsender to terminate',
              async () => {
                const rows = await cluster.sql<{ n: number }>(
                  "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE backend_type = 'walsender'",
                );
                return (rows[0]?.n ?? 0) > 0 ? (rows[0]?.n ?? 0) : undefined;
              },
              120_000,
            );
            walsendersTerminated += terminated;
            current.to = Date.now();
            disturbances.push(current);
            disturbance = null;
          }
        })();
        const inDisturbance = (from: number) =>
          disturbance !== null || disturbances.some((d) => from >= d.from - 2_000 && from <= d.to + 15_000);

        // the kill loop
        const selfExits: SelfExit[] = [];
        let kills = 0;
        let killsWhileStarting = 0;
        let round = 0;
        while (Date.now() < writeEnd || kills < MIN_KILLS || disturbances.length < 3) {
          round++;
          const startedAt = Date.now();
          const cli = startCli(args, env);
          const early = round % 8 === 0;
          if (early) {
            // now and then, kill it while it is still starting up
            await sleep(200 + random() * 1000);
          } else {
            const ready = await readyOrExit(cli, 120_000);
            if (ready !== 'ready') {
              selfExits.push({
                round,
                phase: 'starting',
                duringDisturbance: inDisturbance(startedAt),
                code: ready.code,
                message: lastMessage(ready.stderr),
              });
              await sleep(300);
              continue;
            }
            await sleep(200 + random() * 2800);
          }
          if (cli.child.exitCode !== null || cli.child.signalCode !== null) {
            const result = await cli.exited;
            selfExits.push({
              round,
              phase: READY.test(result.stderr) ? 'streaming' : 'starting',
              duringDisturbance: inDisturbance(startedAt) || inDisturbance(Date.now()),
              code: result.code,
              message: lastMessage(result.stderr),
            });
            continue;
          }
          if (!READY.test(cli.stderr())) killsWhileStarting++;
          cli.child.kill('SIGKILL');
          const result = await cli.exited;
          expect(result.signal).toBe('SIGKILL');
          kills++;
        }
        stopWriting.abort();
        const stats: WorkloadStats = await workload;
        await disturber;
        const writeSeconds = (Date.now() - writeStart) / 1000;

        // everything written before this marker is in the file once the marker is
        await cluster.sql('SELECT pg_logical_emit_message(true, $1, $2)', [END_PREFIX, 'done']);
        const catchUpStart = Date.now();
        const last = startCli(args, env);
        expect(await readyOrExit(last, 120_000)).toBe('ready');
        await waitFor(
          'the end marker in the file',
          async () => {
            if (last.child.exitCode !== null) throw new Error(`the last consumer exited:\n${last.stderr()}`);
            return (await tailHas(out, END_PREFIX)) || undefined;
          },
          30 * 60_000,
        );
        last.child.kill('SIGTERM');
        const lastResult = await last.exited;
        expect(lastResult.code, lastResult.stderr).toBe(0);
        const catchUpSeconds = (Date.now() - catchUpStart) / 1000;

        // the check: the file rebuilds every table exactly
        const replay = await replayFile(out, SOAK_TABLES);
        const client = await cluster.connect();
        const differences: string[] = [];
        const sizes: Record<string, number> = {};
        try {
          for (const [table, key] of Object.entries(SOAK_TABLES)) {
            const [schema, name] = table.split('.') as [string, string];
            const source = await tableAsText(client, { schema, name }, key);
            const rebuilt = replay.tables.get(table) ?? new Map();
            sizes[table] = source.size;
            differences.push(...tableDifferences(source, rebuilt).map((d) => `${table}: ${d}`));
            if (source.size !== rebuilt.size)
              differences.push(`${table}: ${source.size} rows in Postgres, ${rebuilt.size} rebuilt`);
          }
        } finally {
          await client.end();
        }
        const spool = await directorySize(spoolTmp);

        const errors = [...stats.errors].sort((a, b) => b[1] - a[1]);
        console.log(
          [
            `soak ${label}: ${((Date.now() - began) / 1000).toFixed(0)} s in all (writes ${writeSeconds.toFixed(0)} s, final catch-up ${catchUpSeconds.toFixed(0)} s), seed ${SEED}`,
            `  consumer: ${round} rounds, ${kills} SIGKILLs (${killsWhileStarting} while starting up), ${selfExits.length} exits on its own`,
            ...selfExits.map(
              (e) =>
                `    round ${e.round} (${e.phase}${e.duringDisturbance ? ', during a server restart' : ''}) exit ${e.code}: ${e.message}`,
            ),
            `  server: 3 restarts (fast, immediate, fast), ${walsendersTerminated} walsenders terminated`,
            `  workload: ${stats.committed} small transactions committed, ${stats.rolledBack} rolled back on purpose, ${stats.bulkCommitted} large ones (${stats.bulkRows} rows), ${stats.truncates} truncates`,
            `  writer errors: ${errors.map(([m, n]) => `${n}× ${m.slice(0, 100)}`).join('; ') || 'none'}`,
            `  file: ${replay.counts.lines} lines, ${replay.counts.changes} changes ${JSON.stringify(replay.counts.byOp)}, ${replay.counts.commits} commits, ${(statSync(out).size / 1e6).toFixed(1)} MB`,
            `  tables now: ${JSON.stringify(sizes)}`,
            `  left behind by killed consumers in their temp dir: ${spool.dirs} dirs, ${(spool.bytes / 1e6).toFixed(1)} MB`,
          ].join('\n'),
        );

        expect(replay.anomalies).toEqual([]);
        expect(differences).toEqual([]);
        expect(replay.messages.filter((m) => m.prefix === END_PREFIX)).toHaveLength(1);
        expect(kills).toBeGreaterThanOrEqual(MIN_KILLS);
        expect(walsendersTerminated).toBeGreaterThanOrEqual(3);
        expect(stats.bulkCommitted).toBeGreaterThan(0);
        expect(replay.counts.byOp.truncate ?? 0).toBeGreaterThan(0);
        // a consumer that was streaming never gives up on its own, whatever the server does
        expect(selfExits.filter((e) => e.phase === 'streaming')).toEqual([]);
        // one that was starting up may fail to connect only while the server restarts
        expect(selfExits.filter((e) => !e.duringDisturbance)).toEqual([]);
        // writers failed only for the restarts, terminations and deadlocks
        expect(errors.filter(([m]) => !EXPECTED_WRITER_ERRORS.test(m))).toEqual([]);
      },
      (WRITE_SECONDS + 45 * 60) * 1000,
    );
  },
);

/** Whether the last 64 kB of the file mention `text`. */
async function tailHas(path: string, text: string): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch {
    return false;
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, 65_536);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return buffer.toString('utf8').includes(text);
  } finally {
    await handle.close();
  }
}
