/**
 * Opening an ordinary (non-replication) connection to the source: `connectClient` returns a
 * connected pg.Client or throws a TributaryError that says what to change (see connect-errors.ts).
 *
 * - The connect attempt is bounded (`timeoutMs`, default 10 s; a `connect_timeout` in the URL
 *   wins), so a silently dropped SYN does not hang the CLI.
 * - `sslmode=prefer`/`allow` behave as in libpq: SSL first, plain when the server has no SSL.
 * - The client gets an 'error' listener: a connection lost while idle would otherwise crash the
 *   process with an unhandled 'error' event; pg fails every later query on the client instead,
 *   and that failure reaches the caller.
 *
 * The caller owns the client and ends it.
 */
import pg from 'pg';
import { connectionFailure } from './connect-errors.js';
import type { SourceConfig } from './connection-config.js';
import { messageOf } from './pg-error.js';

export interface ConnectOptions {
  /** Shown in pg_stat_activity, so a DBA can tell Tributary's sessions apart. */
  readonly applicationName: string;
  readonly timeoutMs?: number;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

async function open(config: pg.ClientConfig): Promise<pg.Client> {
  const client = new pg.Client(config);
  client.on('error', () => {
    // See the contract above: the next query on this client reports the failure.
  });
  await client.connect();
  return client;
}

export async function connectClient(config: SourceConfig, options: ConnectOptions): Promise<pg.Client> {
  const { sslmode, ...clientConfig } = config;
  const timeoutMs = config.connectionTimeoutMillis ?? options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const attempt: pg.ClientConfig = {
    ...clientConfig,
    application_name: options.applicationName,
    connectionTimeoutMillis: timeoutMs,
  };
  try {
    return await open(attempt);
  } catch (error) {
    const plainAllowed = sslmode === 'prefer' || sslmode === 'allow';
    if (!plainAllowed || !/does not support SSL/i.test(messageOf(error)))
      throw connectionFailure(error, attempt, { timeoutMs });
  }
  const plain = { ...attempt, ssl: false };
  try {
    return await open(plain);
  } catch (error) {
    throw connectionFailure(error, plain, { timeoutMs });
  }
}
