import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/helpers/events.js';
import { AlertWebhook, redactWebhook } from './alert-webhook.js';
import type { AlertNotice } from './alerts.js';

interface Received {
  readonly body: Record<string, unknown>;
  readonly authorization: string | undefined;
  readonly url: string | undefined;
}

const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A real receiver; `answer` decides each request's status (null: never answer). */
async function receiver(answer: (n: number) => number | null) {
  const received: Received[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let text = '';
    request.on('data', (d: Buffer) => (text += d.toString()));
    request.on('end', () => {
      received.push({
        body: JSON.parse(text),
        authorization: request.headers.authorization,
        url: request.url,
      });
      const status = answer(received.length);
      if (status !== null) response.writeHead(status).end();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { received, port: (server.address() as AddressInfo).port };
}

function capturedLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { log: pino({ level: 'debug' }, stream), text: () => lines.join('') };
}

const notice = (kind: 'alert' | 'recovered', alert = 'lag'): AlertNotice => ({
  kind,
  alert,
  message: `${alert} ${kind}`,
  value: 1,
  threshold: 0,
  at: '2026-11-22T10:00:00.000Z',
  source: 'tributary',
});

describe('AlertWebhook', () => {
  it('posts notices in order, user:password as Basic authorization, and logs no secret', async () => {
    const { received, port } = await receiver(() => 204);
    const logs = capturedLogger();
    const hook = new AlertWebhook(`http://bot:s3cret@127.0.0.1:${port}/hooks/T0K3N?key=QS3CRET`, logs.log);
    hook.send(notice('alert'));
    hook.send(notice('recovered'));
    await waitFor('both notices', () => received.length === 2 || undefined);
    expect(received.map((r) => r.body.kind)).toEqual(['alert', 'recovered']);
    expect(received[0]?.body).toEqual(notice('alert'));
    expect(received[0]?.url).toBe('/hooks/T0K3N?key=QS3CRET');
    expect(received[0]?.authorization).toBe(`Basic ${Buffer.from('bot:s3cret').toString('base64')}`);
    await hook.close();
    expect(logs.text()).toMatch(/alert webhook sent/);
    for (const secret of ['s3cret', 'T0K3N', 'QS3CRET', 'bot']) expect(logs.text()).not.toContain(secret);
  });

  it('tries again after a failure, then gives up and logs it, never throwing', async () => {
    const { received, port } = await receiver((n) => (n === 1 ? 503 : 200));
    const logs = capturedLogger();
    const hook = new AlertWebhook(`http://127.0.0.1:${port}/`, logs.log, { backoffMs: 10 });
    hook.send(notice('alert'));
    await waitFor('the retry', () => received.length === 2 || undefined);
    await hook.close();
    expect(logs.text()).toMatch(/HTTP 503/);
    expect(logs.text()).toMatch(/alert webhook sent/);

    const down = await receiver(() => 500);
    const failing = capturedLogger();
    const broken = new AlertWebhook(`http://127.0.0.1:${down.port}/`, failing.log, {
      backoffMs: 10,
      retries: 2,
    });
    broken.send(notice('alert', 'check:emails'));
    await waitFor('the last try', () => /giving up/.test(failing.text()) || undefined);
    expect(down.received).toHaveLength(3);
    await broken.close();
  });

  it('gives up on a receiver that never answers after its timeout', async () => {
    const { received, port } = await receiver(() => null);
    const logs = capturedLogger();
    const hook = new AlertWebhook(`http://127.0.0.1:${port}/`, logs.log, {
      timeoutMs: 100,
      retries: 1,
      backoffMs: 10,
    });
    hook.send(notice('alert'));
    await waitFor('giving up', () => /giving up/.test(logs.text()) || undefined);
    expect(received).toHaveLength(2);
    expect(logs.text()).toMatch(/no answer in 100 ms/);
    await hook.close();
  });

  it('closes without waiting out a dead receiver', async () => {
    const { port } = await receiver(() => null);
    const logs = capturedLogger();
    const hook = new AlertWebhook(`http://127.0.0.1:${port}/`, logs.log, { timeoutMs: 60_000 });
    hook.send(notice('alert'));
    hook.send(notice('recovered'));
    await hook.close(50);
    expect(logs.text()).toMatch(/not sent: stopping/);
  });

  it('redacts everything but the origin', () => {
    expect(redactWebhook('https://u:p@hooks.example.com:8443/services/SECRET?token=x')).toBe(
      'https://hooks.example.com:8443/…',
    );
    expect(redactWebhook('not a url')).toBe('(a malformed URL)');
  });
});
