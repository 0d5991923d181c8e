/**
 * Throwaway nats-server instances with JetStream, for tests, benchmarks and `tributary demo`: each
 * listens on a free port on 127.0.0.1, keeps its JetStream store in its own temp dir, and is
 * removed when stopped. Nothing here touches a server already running on the machine (its port,
 * its config): the server reads no config file but the one written into its temp dir.
 *
 * No server outlives the process that started it: an 'exit' handler kills what is left and removes
 * its dir, and on Linux (with util-linux's setpriv) the kernel kills the server when its starter
 * dies in any other way.
 *
 * The binary is the machine's own (`apt-get install nats-server` on Debian; 2.9 there). nats-server
 * 2.9 has no command-line flag for `max_payload`, so that setting goes into a config file in the
 * temp dir. Beware that `-p 0` means the default port 4222 to nats-server, not "any free port".
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { TributaryError } from '../core/errors.js';
import { freePort } from './free-port.js';
import { findNatsServerBinary, findSetpriv } from './nats-server-binary.js';

export { findNatsServerBinary } from './nats-server-binary.js';

export interface NatsServerOptions {
  /** JetStream on (`-js`), storing in the temp dir. Default true. */
  readonly jetstream?: boolean;
  /** The largest message the server accepts, in bytes. The server's default is 1 MiB; at most 64 MiB. */
  readonly maxPayload?: number;
  /** Debug logging (`-D`) into `log`. */
  readonly debug?: boolean;
  /** An HTTP monitoring port (`-m`) on another free port; off by default. */
  readonly monitoring?: boolean;
}

export interface NatsServer {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** `http://127.0.0.1:<port>` when started with `monitoring`, else undefined. */
  readonly monitoringUrl: string | undefined;
  /** JetStream's store dir (`-sd`): it survives `restart()`; `stop()` removes it. */
  readonly storeDir: string;
  /** The pid of the current (or last) server process; each start changes it. */
  readonly pid: number;
  /** The server's log (its stderr) since the last start, for failure messages. */
  readonly log: string;
  /** Shuts the server down gracefully and removes its temp dir. */
  stop(): Promise<void>;
  /** SIGKILL, as in a crash; the store dir stays for `restart()`. */
  kill(): Promise<void>;
  /** Shuts down gracefully if running (or after `kill()`), then starts on the same port and store dir. */
  restart(): Promise<void>;
}

const liveServers = new Set<ThrowawayNatsServer>();
process.once('exit', () => {
  for (const server of liveServers) server.killNow();
});

const START_ATTEMPTS = 3;

/** Starts a server and waits until it accepts connections and, with JetStream, answers JetStream's API. */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const { maxPayload } = options;
  if (maxPayload !== undefined && !(Number.isSafeInteger(maxPayload) && maxPayload > 0))
    throw new TributaryError('CONFIG', `maxPayload ${maxPayload} is not a positive whole number of bytes`);
  const binary = findNatsServerBinary();
  const setpriv = findSetpriv();
  const baseDir = await mkdtemp(join(tmpdir(), 'tributary-nats-'));
  try {
    let configFile: string | undefined;
    if (maxPayload !== undefined) {
      configFile = join(baseDir, 'nats-server.conf');
      await writeFile(configFile, `max_payload: ${maxPayload}\n`);
    }
    // A free port can be taken between asking and listening; another port fixes that.
    for (let attempt = 1; ; attempt++) {
      const server = new ThrowawayNatsServer({
        binary,
        setpriv,
        baseDir,
        port: await freePort(),
        monitoringPort: options.monitoring ? await freePort() : undefined,
        configFile,
        jetstream: options.jetstream ?? true,
        debug: options.debug ?? false,
      });
      liveServers.add(server);
      try {
        await server.launch();
        return server;
      } catch (error) {
        liveServers.delete(server);
        if (attempt >= START_ATTEMPTS || !/address already in use/.test(server.log)) throw error;
      }
    }
  } catch (error) {
    await rm(baseDir, { recursive: true, force: true });
    throw error;
  }
}

interface ServerSetup {
  readonly binary: string;
  /** `setpriv`, to run the server with a parent-death signal; undefined where there is none. */
  readonly setpriv: string | undefined;
  readonly baseDir: string;
  readonly port: number;
  readonly monitoringPort: number | undefined;
  readonly configFile: string | undefined;
  readonly jetstream: boolean;
  readonly debug: boolean;
}

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 30_000;

class ThrowawayNatsServer implements NatsServer {
  readonly url: string;
  readonly port: number;
  readonly monitoringUrl: string | undefined;
  readonly storeDir: string;
  readonly #setup: ServerSetup;
  #process: ChildProcess | null = null;
  #pid = -1;
  #log = '';
  #stopped = false;

  constructor(setup: ServerSetup) {
    this.#setup = setup;
    this.port = setup.port;
    this.url = `nats://127.0.0.1:${setup.port}`;
    this.monitoringUrl =
      setup.monitoringPort === undefined ? undefined : `http://127.0.0.1:${setup.monitoringPort}`;
    this.storeDir = join(setup.baseDir, 'store');
  }

  get pid(): number {
    return this.#pid;
  }

  get log(): string {
    return this.#log;
  }

  #args(): string[] {
    const { configFile, port, jetstream, monitoringPort, debug } = this.#setup;
    const args = configFile ? ['-c', configFile] : [];
    args.push('-a', '127.0.0.1', '-p', String(port));
    if (jetstream) args.push('-js', '-sd', this.storeDir);
    if (monitoringPort !== undefined) args.push('-m', String(monitoringPort));
    if (debug) args.push('-D');
    return args;
  }

  async launch(): Promise<void> {
    this.#log = '';
    const { binary, setpriv } = this.#setup;
    const [command, args] = setpriv
      ? [setpriv, ['--pdeathsig', 'KILL', '--', binary, ...this.#args()]]
      : [binary, this.#args()];
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#process = child;
    this.#pid = child.pid ?? -1;
    const append = (d: Buffer) => {
      this.#log = (this.#log + d.toString()).slice(-200_000);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    let ended: Error | undefined;
    const exited = new Promise<never>((_, reject) => {
      const fail = (why: string, cause?: unknown) => {
        ended = new TributaryError('CONNECT_FAILED', `nats-server ${why} while starting:\n${this.#log}`, {
          cause,
        });
        reject(ended);
      };
      child.once('error', (error) => fail(`could not run (${error.message})`, error));
      child.once('exit', (code, signal) => fail(`exited with ${signal ?? `code ${code}`}`));
    });
    exited.catch(() => {});
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const attempt = this.#probe();
      attempt.catch(() => {});
      try {
        await Promise.race([attempt, exited]);
        return;
      } catch (error) {
        if (ended) throw ended;
        if (Date.now() > deadline) {
          await this.#halt('SIGKILL');
          throw new TributaryError(
            'CONNECT_FAILED',
            `nats-server on ${this.url} was not ready after ${START_TIMEOUT_MS / 1000} s:\n${this.#log}`,
            { cause: error },
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** Connects once; with JetStream, asks for the account's JetStream info, which fails until it is ready. */
  async #probe(): Promise<void> {
    const nc = await connect({ servers: this.url, reconnect: false, timeout: 2_000 });
    try {
      if (this.#setup.jetstream) {
        const jsm = await jetstreamManager(nc);
        await jsm.getAccountInfo();
      } else {
        await nc.flush();
      }
    } finally {
      await nc.close();
    }
  }

  async #halt(signal: NodeJS.Signals): Promise<void> {
    const child = this.#process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  async stop(): Promise<void> {
    await this.#halt('SIGINT');
    this.#stopped = true;
    liveServers.delete(this);
    await rm(this.#setup.baseDir, { recursive: true, force: true });
  }

  async kill(): Promise<void> {
    await this.#halt('SIGKILL');
  }

  async restart(): Promise<void> {
    if (this.#stopped)
      throw new TributaryError('INTERNAL', `restart() of the nats-server on ${this.url} after stop()`);
    await this.#halt('SIGINT');
    await this.launch();
  }

  /** Synchronous last-resort cleanup when the process exits. */
  killNow(): void {
    try {
      this.#process?.kill('SIGKILL');
    } catch {
      // already gone
    }
    try {
      rmSync(this.#setup.baseDir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // a temp dir left behind is no reason to fail an exiting process
    }
  }
}
