import { createServer, type Server } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient } from '../../src/source/postgres/setup/connect.js';
import { parseSourceUrl } from '../../src/source/postgres/setup/connection-config.js';
import { availableBinaries, freePort, PostgresCluster } from '../harness/postgres.js';
import { failure } from './helpers.js';

const connect = (url: string, timeoutMs?: number) =>
  connectClient(parseSourceUrl(url), {
    applicationName: 'tributary-test',
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });

describe('connecting to a host that cannot be reached', () => {
  it('host that cannot be reached: a closed port on 127.0.0.1 names host:port and what to check', async () => {
    const port = await freePort();
    const error = await failure(connect(`postgres://app:hunter2@127.0.0.1:${port}/shop`));
    expect(error.code).toBe('CONNECT_FAILED');
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).toContain('refused');
    expect(error.hint).toMatch(/is Postgres running there\? check host and port in --source/);
    expect(error.cause).toBeDefined();
    expect(error.describe()).not.toContain('hunter2');
  });

  it('a server that accepts and never answers fails within the connect timeout', async () => {
    const silent: Server = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const started = Date.now();
      const error = await failure(connect(`postgres://app@127.0.0.1:${port}/shop`, 300));
      expect(Date.now() - started).toBeLessThan(5000);
      expect(error.code).toBe('CONNECT_FAILED');
      expect(error.message).toContain(`127.0.0.1:${port}`);
      expect(error.message).toContain('no answer');
      expect(error.hint).toContain('check host and port');
    } finally {
      silent.close();
    }
  });
});

describe.each(availableBinaries().map((b) => [b.label, b] as const))(
  'connecting to %s',
  (_label, binaries) => {
    let cluster: PostgresCluster;
    beforeAll(async () => {
      cluster = await PostgresCluster.start({ binaries });
      await cluster.sql("CREATE ROLE shopper LOGIN PASSWORD 'right-password'");
    });
    afterAll(async () => {
      await cluster?.stop();
    });

    it('connects over TCP with scram and sets application_name', async () => {
      const client = await connect(cluster.url({ user: 'shopper', password: 'right-password' }));
      try {
        const { rows } = await client.query(
          "SELECT current_user AS who, current_setting('application_name') AS app",
        );
        expect(rows[0]).toEqual({ who: 'shopper', app: 'tributary-test' });
      } finally {
        await client.end();
      }
    });

    it('bad credentials: AUTH_FAILED names the user, never the password', async () => {
      const password = 'wr0ng-Pa55word-7731';
      const error = await failure(connect(cluster.url({ user: 'shopper', password })));
      expect(error.code).toBe('AUTH_FAILED');
      expect(error.message).toContain('"shopper"');
      expect(error.hint).toContain('password');
      expect(error.hint).toContain('pg_hba.conf');
      for (const text of [
        error.message,
        error.hint ?? '',
        error.describe(),
        String(error),
        inspect(error, { depth: 5 }),
        JSON.stringify(error),
      ])
        expect(text).not.toContain(password);
    });

    it('a role that does not exist is AUTH_FAILED too', async () => {
      const error = await failure(connect(cluster.url({ user: 'nobody', password: 'x-secret-x' })));
      expect(error.code).toBe('AUTH_FAILED');
      expect(error.message).toContain('"nobody"');
      expect(error.describe()).not.toContain('x-secret-x');
    });

    it('no password given when the server asks for one', async () => {
      const url = `postgres://shopper@127.0.0.1:${cluster.port}/postgres`;
      const error = await failure(
        connectClient(parseSourceUrl(url, {}), { applicationName: 'tributary-test' }),
      );
      expect(error.code).toBe('AUTH_FAILED');
      expect(error.message).toContain('"shopper"');
      expect(error.hint).toMatch(/PGPASSWORD|pgpass/);
    });

    it('database that does not exist: DATABASE_NOT_FOUND names it and says where to fix it', async () => {
      const error = await failure(connect(cluster.url({ database: 'warehouse_typo' })));
      expect(error.code).toBe('DATABASE_NOT_FOUND');
      expect(error.message).toContain('"warehouse_typo"');
      expect(error.message).toContain(`127.0.0.1:${cluster.port}`);
      expect(error.hint).toContain('database name');
    });

    it('sslmode=prefer falls back to plain on a server without SSL; sslmode=require says SSL is off', async () => {
      const client = await connect(`${cluster.url()}?sslmode=prefer`);
      await client.end();
      const error = await failure(connect(`${cluster.url()}?sslmode=require`));
      expect(error.code).toBe('CONNECT_FAILED');
      expect(error.message).toContain('SSL');
      expect(error.hint).toContain('sslmode');
    });

    it('too many connections is CONNECT_FAILED with what to raise', async () => {
      await cluster.sql("CREATE ROLE crowd LOGIN PASSWORD 'crowd-pw' CONNECTION LIMIT 1");
      const first = await connect(cluster.url({ user: 'crowd', password: 'crowd-pw' }));
      try {
        const error = await failure(connect(cluster.url({ user: 'crowd', password: 'crowd-pw' })));
        expect(error.code).toBe('CONNECT_FAILED');
        expect(error.message).toContain('too many connections');
        expect(error.hint).toContain('max_connections');
      } finally {
        await first.end();
      }
    });
  },
);
