/**
 * Why a connection could not be opened, said as what to change. Turns whatever pg or the socket
 * raised while connecting into a TributaryError (original kept as `cause`):
 *
 * - unreachable (refused, unknown host, no route, no answer in time, no socket file), server
 *   full (53300) or not accepting yet (57P03), SSL refused or untrusted → CONNECT_FAILED;
 * - password or pg_hba.conf rejection (28P01, 28000), no password given → AUTH_FAILED;
 * - no such database (3D000) → DATABASE_NOT_FOUND.
 *
 * Messages name the user, host, port and database, never the password. Shared by every
 * connection Tributary opens (the replication connection too).
 */
import type pg from 'pg';
import { TributaryError } from '../../../core/errors.js';
import { describeAddress, describeTarget } from './connection-config.js';
import { messageOf, sqlState, systemCode } from './pg-error.js';

export interface FailureContext {
  /** The connect timeout in force, for the "no answer" message. */
  readonly timeoutMs: number;
}

const UNREACHABLE: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name could not be resolved (DNS not answering)',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'the connection attempt timed out',
  ECONNRESET: 'the connection was reset before the server answered',
  ENOENT: 'no Postgres socket there',
  EACCES: 'permission denied on the socket',
};

const CERTIFICATE =
  /certificate|self[- ]signed|CERT_|unable to verify|altnames|Hostname\/IP does not match|UNABLE_TO_GET_ISSUER/i;

export function connectionFailure(
  error: unknown,
  config: pg.ClientConfig,
  context: FailureContext,
): TributaryError {
  const address = describeAddress(config);
  const target = describeTarget(config);
  const user = JSON.stringify(config.user ?? '');
  const database = JSON.stringify(config.database ?? config.user ?? '');
  const fail = (
    code: 'CONNECT_FAILED' | 'AUTH_FAILED' | 'DATABASE_NOT_FOUND',
    message: string,
    hint: string,
  ) => new TributaryError(code, message, { cause: error, hint });
  const text = messageOf(error);
  const state = sqlState(error);
  const system = systemCode(error);

  switch (state) {
    case '28P01':
    case '28000':
      return fail(
        'AUTH_FAILED',
        `Postgres at ${address} refused user ${user} for database ${database}: ${text}`,
        `check the user name and password in --source (or PGPASSWORD / ~/.pgpass), and that pg_hba.conf on the server lets user ${user} connect to database ${database} from this machine`,
      );
    case '3D000':
      return fail(
        'DATABASE_NOT_FOUND',
        `database ${database} does not exist on ${address}`,
        'check the database name at the end of --source (postgres://user@host:port/DATABASE; without one it defaults to the user name); SELECT datname FROM pg_database lists them',
      );
    case '53300':
      return fail(
        'CONNECT_FAILED',
        `Postgres at ${address} accepts no more connections: ${text}`,
        'close idle connections to it, or raise max_connections on the server (then restart Postgres)',
      );
    case '57P03':
      return fail(
        'CONNECT_FAILED',
        `Postgres at ${address} is not accepting connections right now: ${text}`,
        'wait until it has finished starting up (or is no longer in recovery) and run again',
      );
    case undefined:
      break;
    default:
      return fail(
        'CONNECT_FAILED',
        `Postgres at ${address} refused the connection as ${target}: ${text} (SQLSTATE ${state})`,
        'check --source',
      );
  }

  if (system && UNREACHABLE[system]) {
    const socket = (config.host ?? '').startsWith('/');
    return fail(
      'CONNECT_FAILED',
      `cannot connect to Postgres at ${address}: ${UNREACHABLE[system]}`,
      socket
        ? 'is Postgres running there? check the socket directory (host) and port in --source'
        : system === 'ENOTFOUND' || system === 'EAI_AGAIN'
          ? 'check the host name in --source (and DNS on this machine)'
          : 'is Postgres running there? check host and port in --source, and that a firewall lets this machine through',
    );
  }
  if (/timeout expired|connection timeout/i.test(text))
    return fail(
      'CONNECT_FAILED',
      `cannot connect to Postgres at ${address}: no answer within ${Math.round(context.timeoutMs / 1000)} s`,
      'is Postgres running there? check host and port in --source, and that a firewall does not silently drop the connection',
    );
  if (/password must be a string|no password/i.test(text))
    return fail(
      'AUTH_FAILED',
      `Postgres at ${address} asks for a password for user ${user}, and none was given`,
      'put the password in --source (postgres://user:PASSWORD@host/db, %-encoding special characters), or in PGPASSWORD or ~/.pgpass',
    );
  if (/does not support SSL/i.test(text))
    return fail(
      'CONNECT_FAILED',
      `Postgres at ${address} does not offer SSL, and --source asks for it`,
      'turn on ssl on the server, or (on a trusted network only) use sslmode=prefer or sslmode=disable in --source',
    );
  const rawCode = String((error as { code?: unknown } | null)?.code ?? '');
  if (CERTIFICATE.test(text) || /^(ERR_TLS|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO)/.test(rawCode))
    return fail(
      'CONNECT_FAILED',
      `the SSL certificate of Postgres at ${address} was not accepted: ${text}`,
      "give the server's CA certificate with sslrootcert=/path/ca.pem in --source, or use sslmode=require to encrypt without verifying the certificate",
    );
  return fail(
    'CONNECT_FAILED',
    `cannot connect to Postgres at ${address} as ${target}: ${text}`,
    'check host, port and the other settings in --source',
  );
}
