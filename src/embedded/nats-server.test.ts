import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import {
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  type PubAck,
  StorageType,
} from '@nats-io/jetstream';
import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { useNatsServer } from '../../test/harness/use-nats-server.js';
import { waitFor } from '../../test/helpers/events.js';
import { isTributaryError } from '../core/errors.js';
import {
  findNatsServerBinary,
  type NatsServer,
  type NatsServerOptions,
  startNatsServer,
} from './nats-server.js';

const servers: NatsServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.stop();
});

async function start(options: NatsServerOptions = {}): Promise<NatsServer> {
  const server = await startNatsServer(options);
  servers.push(server);
  return server;
}

async function withConnection<T>(
  server: NatsServer,
  use: (nc: NatsConnection, jsm: JetStreamManager) => Promise<T>,
  options: Partial<NodeConnectionOptions> = {},
): Promise<T> {
  const nc = await connect({ servers: server.url, ...options });
  try {
    return await use(nc, await jetstreamManager(nc));
  } finally {
    await nc.close();
  }
}

async function addStream(jsm: JetStreamManager, name: string): Promise<void> {
  await jsm.streams.add({ name, subjects: [`${name}.>`], storage: StorageType.File, num_replicas: 1 });
}

async function storedMessages(server: NatsServer, stream: string): Promise<number> {
  return withConnection(server, async (_nc, jsm) => (await jsm.streams.info(stream)).state.messages);
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/**
 * Starts a server from a child Node process that prints the server's pid and store dir, then
 * either exits on its own after a moment or idles until it is killed.
 */
async function startFromChild(
  then: 'exit' | 'idle',
): Promise<{ child: ReturnType<typeof spawn>; pid: number; storeDir: string }> {
  const module = new URL('./nats-server.ts', import.meta.url).pathname;
  const script = `const { startNatsServer } = await import(${JSON.stringify(module)});
    const s = await startNatsServer();
    console.log(JSON.stringify({ pid: s.pid, storeDir: s.storeDir }));
    ${then === 'exit' ? 'setTimeout(() => process.exit(0), 100);' : 'setInterval(() => {}, 1000);'}`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const line = await waitFor('the child to start a server', () => out.includes('\n') && out);
  return { child, ...(JSON.parse(line) as { pid: number; storeDir: string }) };
}

/** Whether a process has ended (gone, or a zombie nobody has reaped yet). */
function hasEnded(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true;
  } catch {
    return true;
  }
}

describe('throwaway nats-server', () => {
  const shared = useNatsServer();

  it('listens on its own port with JetStream, and drops a re-published Nats-Msg-Id', async () => {
    const server = shared();
    expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
    expect(server.port).not.toBe(4222);
    expect(server.monitoringUrl).toBeUndefined();
    await withConnection(server, async (nc, jsm) => {
      expect(nc.info?.jetstream).toBe(true);
      await addStream(jsm, 'dedup');
      const js = jetstream(nc);
      const first = await js.publish('dedup.t', 'change 1', { msgID: '0/16B3748' });
      const again = await js.publish('dedup.t', 'change 1', { msgID: '0/16B3748' });
      expect(first.duplicate).toBe(false);
      expect(again).toMatchObject({ duplicate: true, seq: first.seq });
      expect((await jsm.streams.info('dedup')).state.messages).toBe(1);
    });
  });

  it('restart() comes back on the same port with the stream and its messages', async () => {
    const server = await start();
    await withConnection(server, async (nc, jsm) => {
      await addStream(jsm, 'kept');
      const js = jetstream(nc);
      for (let i = 0; i < 10; i++) await js.publish('kept.t', `m${i}`, { msgID: `m${i}` });
    });
    const { port, pid } = server;
    await server.restart();
    expect(server.port).toBe(port);
    expect(server.pid).not.toBe(pid);
    await withConnection(server, async (nc, jsm) => {
      expect((await jsm.streams.info('kept')).state.messages).toBe(10);
      const last = await jsm.streams.getMessage('kept', { last_by_subj: 'kept.t' });
      expect(last?.string()).toBe('m9');
      // the duplicate window survives too: a re-publish after the restart is still dropped
      expect((await jetstream(nc).publish('kept.t', 'm3', { msgID: 'm3' })).duplicate).toBe(true);
    });
  });

  it('kill() then restart() keeps every acknowledged message, and a client reconnects', async () => {
    const server = await start();
    const nc = await connect({ servers: server.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
    try {
      const jsm = await jetstreamManager(nc);
      await addStream(jsm, 'crash');
      const js = jetstream(nc);
      for (let i = 0; i < 100; i++) await js.publish('crash.t', `m${i}`, { msgID: `m${i}` });
      await server.kill();
      expect(existsSync(server.storeDir)).toBe(true);
      await server.restart();
      expect(await storedMessages(server, 'crash')).toBe(100);
      // The connection made before the crash carries on once it has reconnected. nats.js drops what
      // is published while it is disconnected (each dial attempt resets its outbound buffer), so a
      // publish across the restart may time out unsent; re-publishing with the same Nats-Msg-Id is
      // safe, as the duplicate window drops a second copy.
      let ack: PubAck | undefined;
      for (let attempt = 1; !ack; attempt++) {
        try {
          ack = await js.publish('crash.t', 'm100', { msgID: 'm100', timeout: 1_000 });
        } catch (error) {
          if (attempt >= 20) throw error;
        }
      }
      expect(ack.seq).toBe(101);
      expect((await jsm.streams.info('crash')).state.messages).toBe(101);
    } finally {
      await nc.close();
    }
  });

  it('stop() frees the port and removes the store dir', async () => {
    const server = await start();
    await withConnection(server, (_nc, jsm) => addStream(jsm, 'gone'));
    expect(existsSync(server.storeDir)).toBe(true);
    await server.stop();
    servers.splice(servers.indexOf(server), 1);
    expect(existsSync(server.storeDir)).toBe(false);
    expect(await portIsFree(server.port)).toBe(true);
    await expect(server.restart()).rejects.toThrow(/after stop/);
  });

  it('maxPayload raises the largest message the server accepts (1 MiB by default)', async () => {
    const [plain, large] = await Promise.all([start(), start({ maxPayload: 4 * 1024 * 1024 })]);
    const big = new Uint8Array(2 * 1024 * 1024);
    await withConnection(plain, async (nc, jsm) => {
      expect(nc.info?.max_payload).toBe(1024 * 1024);
      await addStream(jsm, 'big');
      await expect(jetstream(nc).publish('big.t', big)).rejects.toThrow(/max_payload|MAX_PAYLOAD/i);
    });
    await withConnection(large, async (nc, jsm) => {
      expect(nc.info?.max_payload).toBe(4 * 1024 * 1024);
      await addStream(jsm, 'big');
      expect((await jetstream(nc).publish('big.t', big)).seq).toBe(1);
    });
  });

  it('runs without JetStream when asked, and with a monitoring port', async () => {
    const server = await start({ jetstream: false, monitoring: true });
    const nc = await connect({ servers: server.url });
    try {
      expect(nc.info?.jetstream).toBeFalsy();
    } finally {
      await nc.close();
    }
    const varz = (await (await fetch(`${server.monitoringUrl}/varz`)).json()) as { port: number };
    expect(varz.port).toBe(server.port);
  });

  // SIGTERM is covered by setpriv's parent-death signal, which is Linux only
  it.runIf(process.platform === 'linux')(
    'no server outlives the process that started it, whether it exits or is sent SIGTERM',
    async () => {
      const exiting = await startFromChild('exit');
      await waitFor('the server to end', () => hasEnded(exiting.pid));
      await waitFor('its store dir to go', () => !existsSync(exiting.storeDir));

      const terminated = await startFromChild('idle');
      terminated.child.kill('SIGTERM'); // as vitest ends its workers: Node runs no 'exit' handler
      try {
        await waitFor('the server to end', () => hasEnded(terminated.pid), 10_000);
      } finally {
        rmSync(dirname(terminated.storeDir), { recursive: true, force: true });
      }
    },
  );

  it('says how to install nats-server when NATS_SERVER_BIN points nowhere', () => {
    let thrown: unknown;
    try {
      findNatsServerBinary({ NATS_SERVER_BIN: '/nonexistent/nats-server' });
    } catch (error) {
      thrown = error;
    }
    expect(isTributaryError(thrown, 'CONFIG')).toBe(true);
    expect((thrown as Error & { hint: string }).hint).toMatch(/apt-get install nats-server/);
  });
});
