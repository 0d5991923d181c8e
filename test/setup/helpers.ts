/** Shared bits of the set-up tests: catching TributaryErrors, and connecting as a role over TCP. */
import type pg from 'pg';
import { TributaryError } from '../../src/core/errors.js';
import { connectClient } from '../../src/source/postgres/setup/connect.js';
import { parseSourceUrl } from '../../src/source/postgres/setup/connection-config.js';
import type { PostgresCluster } from '../harness/postgres.js';

/** The TributaryError a promise or function fails with; anything else fails the test. */
export async function failure(work: Promise<unknown> | (() => unknown)): Promise<TributaryError> {
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (error) {
    if (error instanceof TributaryError) return error;
    throw error;
  }
  throw new Error('expected a TributaryError, but it succeeded');
}

/** A client connected over TCP with scram auth, as Tributary connects in production. */
export function connectAs(
  cluster: PostgresCluster,
  options: { user?: string; password?: string; database?: string } = {},
): Promise<pg.Client> {
  return connectClient(parseSourceUrl(cluster.url(options)), { applicationName: 'tributary-test' });
}

/** Runs `work` with a client, always ending it. */
export async function withClient<T>(
  client: Promise<pg.Client>,
  work: (c: pg.Client) => Promise<T>,
): Promise<T> {
  const c = await client;
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}
