/**
 * Reaching a ClickHouse warehouse from its URL, always through the official `@clickhouse/client`:
 *
 * - `clickhouse://user[:password]@host[:port]/database[?cluster=name]` — a server over HTTP
 *   (port 8123 by default); `clickhouses://…` over HTTPS (8443). The password may instead come
 *   from `CLICKHOUSE_PASSWORD`, so it need not appear in a command line. With `cluster`, tables
 *   are created ON CLUSTER with the replicated engine behind Distributed tables.
 * - `chdb:///absolute/dir[?database=name]` (or `chdb:relative/dir`) — ClickHouse's engine embedded in
 *   this process (the `chdb` package, not in the default install: `node scripts/ensure-chdb.mjs`
 *   or `npm install chdb`), storing its data in `dir`. One process holds one such directory.
 *
 * Every connection reads 64-bit integers and decimals as strings (never a float), NaN and ±inf as
 * quoted words (never null), and writes with `async_insert = 0` and `wait_end_of_query = 1`, so
 * an insert resolves once the data is stored. `describe` names the warehouse without the
 * password, for logs and errors.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type ClickHouseClient, type ClickHouseSettings, createClient } from '@clickhouse/client';
import { TributaryError } from '../../core/errors.js';

export interface ClickHouseTarget {
  readonly kind: 'http' | 'chdb';
  /** `?cluster=name`: tables created ON CLUSTER, replicated, behind Distributed tables (tables.ts). */
  readonly cluster?: string;
  /** The database Tributary writes (views, storage tables and its state). */
  readonly database: string;
  /** For logs and messages: never the password. */
  readonly describe: string;
  /** http: the server's origin; chdb: the data directory. */
  readonly location: string;
  readonly username?: string;
  readonly password?: string;
}

export interface ClickHouseConnection {
  readonly target: ClickHouseTarget;
  readonly client: ClickHouseClient;
  close(): Promise<void>;
}

/** Settings every Tributary connection runs with (see the header). */
export const SESSION_SETTINGS: ClickHouseSettings = {
  output_format_json_quote_64bit_integers: 1,
  output_format_json_quote_decimals: 1,
  // a Decimal(12, 2) prints 80.00, as Postgres prints the numeric(12,2) it came from
  output_format_decimal_trailing_zeros: 1,
  output_format_json_quote_64bit_floats: 0,
  // NaN and ±inf as "nan", "inf", "-inf": unquoted they print as null, which a NULL also is
  output_format_json_quote_denormals: 1,
  output_format_json_named_tuples_as_objects: 1,
  async_insert: 0,
  wait_end_of_query: 1,
  // a long statement keeps the HTTP connection alive through proxies and load balancers
  send_progress_in_http_headers: 1,
  http_headers_progress_interval_ms: '60000',
};

export function isClickHouseUrl(text: string): boolean {
  return /^(clickhouses?|chdb):/i.test(text);
}

/** Parses a warehouse URL (see the header); a malformed one is a usage error (exit 2). */
export function parseClickHouseUrl(text: string, env: NodeJS.ProcessEnv = process.env): ClickHouseTarget {
  const scheme = /^([a-z]+):/i.exec(text)?.[1]?.toLowerCase();
  if (scheme === 'chdb') return parseChdb(text);
  if (scheme !== 'clickhouse' && scheme !== 'clickhouses') {
    throw new TributaryError('USAGE', `not a ClickHouse warehouse URL: ${redact(text)}`, {
      hint: 'use clickhouse://user@host:8123/database, clickhouses://… for HTTPS, or chdb:///path/to/dir',
    });
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TributaryError('USAGE', `not a valid ClickHouse URL: ${redact(text)}`, {
      hint: 'use clickhouse://user@host:8123/database',
    });
  }
  if (!url.hostname) {
    throw new TributaryError('USAGE', `the ClickHouse URL ${redact(text)} names no host`, {
      hint: 'use clickhouse://user@host:8123/database',
    });
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'default';
  if (database.includes('/')) {
    throw new TributaryError('USAGE', `the ClickHouse URL ${redact(text)} names more than a database`, {
      hint: 'the path is the database: clickhouse://user@host:8123/analytics',
    });
  }
  const tls = scheme === 'clickhouses';
  const port = url.port || (tls ? '8443' : '8123');
  const username = decodeURIComponent(url.username) || 'default';
  const password = url.password ? decodeURIComponent(url.password) : env.CLICKHOUSE_PASSWORD;
  const origin = `${tls ? 'https' : 'http'}://${url.hostname}:${port}`;
  const cluster = url.searchParams.get('cluster');
  for (const key of url.searchParams.keys()) {
    if (key !== 'cluster')
      throw new TributaryError(
        'USAGE',
        `the ClickHouse URL ${redact(text)} has an unknown parameter ${key}`,
        {
          hint: 'the one parameter is ?cluster=<name>, for tables created ON CLUSTER',
        },
      );
  }
  return {
    kind: 'http',
    ...(cluster ? { cluster } : {}),
    database,
    describe: `${scheme}://${username}@${url.hostname}:${port}/${database}`,
    location: origin,
    username,
    ...(password === undefined ? {} : { password }),
  };
}

function parseChdb(text: string): ClickHouseTarget {
  const rest = text.slice('chdb:'.length);
  const [pathPart = '', query = ''] = rest.split('?', 2);
  const path = pathPart.startsWith('//') ? pathPart.slice(2) : pathPart;
  if (!path) {
    throw new TributaryError('USAGE', `the chdb URL ${text} names no directory`, {
      hint: 'use chdb:///absolute/dir or chdb:relative/dir',
    });
  }
  const database = new URLSearchParams(query).get('database') || 'default';
  const location = resolve(decodeURIComponent(path));
  return { kind: 'chdb', database, describe: `chdb:${location}/${database}`, location };
}

/** The URL with any password replaced, for messages. */
export function redact(text: string): string {
  return text.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}

/**
 * Opens a client on `target`. It does not touch the server: `checkReachable` does, with an
 * error that says what to change.
 */
export async function connectClickHouse(
  target: ClickHouseTarget,
  options: { readonly requestTimeoutMs?: number; readonly database?: string } = {},
): Promise<ClickHouseConnection> {
  const database = options.database ?? target.database;
  const common = {
    database,
    clickhouse_settings: SESSION_SETTINGS,
    request_timeout: options.requestTimeoutMs ?? 300_000,
  };
  if (target.kind === 'http') {
    const client = createClient({
      ...common,
      url: target.location,
      username: target.username ?? 'default',
      password: target.password ?? '',
      application: 'tributary',
    });
    return { target, client, close: () => client.close() };
  }
  const chdb = await loadChdb();
  const client = createClient({
    ...common,
    connection: (await openChdb(chdb, target.location, database)) as never,
  });
  return { target, client, close: () => client.close() };
}

/** The part of `@clickhouse/client`'s Connection interface chdb's connection implements. */
interface ChdbConnection {
  query(params: CallParams): Promise<unknown>;
  exec(params: CallParams): Promise<unknown>;
  command(params: CallParams): Promise<unknown>;
  insert(params: CallParams): Promise<unknown>;
  ping(params: unknown): Promise<{ success: boolean; error?: Error }>;
  close(): Promise<void>;
}

interface CallParams {
  query: string;
  [other: string]: unknown;
}

interface ChdbConnectionModule {
  createChdbConnection(options: { path: string }): ChdbConnection;
}

/**
 * A chdb directory admits one process; a `tributary status` or `query` that opened it directly
 * (no run was up to serve it) holds it for a moment. An open refused while the directory is a
 * chdb directory (its status file exists) is tried again for a few seconds before it is reported
 * as held, so a run starting beside such a command does not fail.
 */
async function openChdb(
  module: ChdbConnectionModule,
  path: string,
  database: string,
  graceMs = 10_000,
): Promise<ChdbConnection> {
  const until = Date.now() + graceMs;
  for (;;) {
    try {
      return isolatedChdb(module, path, database);
    } catch (error) {
      if (Date.now() >= until || !existsSync(join(path, 'status'))) throw error;
      await sleep(200);
    }
  }
}

/**
 * chdb's connection runs every call on one engine session and applies a call's settings as
 * session-wide `SET`s, and it ignores the client's `database`: a setting of one call (an insert's
 * dedup token, a read-only flag) would stay for the next, and every table would land in
 * `default`. Each call here runs on a session of its own (a session costs about 2 ms; one stays
 * open so the engine does), in `database`.
 */
function isolatedChdb(module: ChdbConnectionModule, path: string, database: string): ChdbConnection {
  const held = (holder: string, cause?: unknown) =>
    new TributaryError('CONFIG', `the chdb warehouse ${path} is held by another process (${holder})`, {
      hint: 'chdb admits one process per directory: stop the other tributary process (or whatever holds it), or point --warehouse elsewhere',
      cause,
    });
  let anchor: ChdbConnection;
  try {
    anchor = module.createChdbConnection({ path });
  } catch (error) {
    const text = chain(error);
    // the engine's status file names the process that holds the directory (asked only once the
    // engine refused: a file left by a killed process may name a pid that now belongs to another)
    const holder = chdbHolder(path);
    if (holder !== null) throw held(`pid ${holder}`, error);
    if (/Cannot lock file|Another server instance/i.test(text))
      throw held('a process it did not name', error);
    throw new TributaryError('CONFIG', `cannot open the chdb warehouse ${path}: ${text}`, {
      hint: 'check that the directory is writable and is a chdb data directory',
      cause: error,
    });
  }
  const use = `USE ${quoteName(database)}; `;
  const call =
    (method: 'query' | 'exec' | 'command' | 'insert') =>
    async (params: CallParams): Promise<unknown> => {
      const session = module.createChdbConnection({ path });
      try {
        return await session[method]({ ...params, query: use + params.query });
      } finally {
        await session.close();
      }
    };
  return {
    query: call('query'),
    exec: call('exec'),
    command: call('command'),
    insert: call('insert'),
    ping: (params) => anchor.ping(params),
    close: () => anchor.close(),
  };
}

/**
 * chdb is not in the default install: found where the user installed it (`npm install chdb`),
 * else in the project's `.chdb/` (scripts/ensure-chdb.mjs).
 */
export async function loadChdb(): Promise<ChdbConnectionModule> {
  try {
    return (await import('chdb/connection' as string)) as ChdbConnectionModule;
  } catch {
    // not installed beside Tributary: look in the project's side install
  }
  const side = sideInstall();
  if (side) return createRequire(side)('chdb/connection') as ChdbConnectionModule;
  throw new TributaryError('CONFIG', 'a chdb: warehouse needs the chdb package, which is not installed', {
    hint: 'run `npm install chdb` (about 550 MB), or `node scripts/ensure-chdb.mjs` in a checkout of Tributary',
  });
}

function sideInstall(): string | null {
  // dist/src/warehouse/clickhouse or src/warehouse/clickhouse → the project root
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const manifest = join(dir, '.chdb', 'node_modules', 'chdb', 'package.json');
    if (existsSync(manifest)) return manifest;
    dir = dirname(dir);
  }
  return null;
}

/**
 * Checks the server answers, the credentials hold and the database exists (creating it when
 * `create`), with errors that say what to change (exit 2).
 */
export async function checkReachable(connection: ClickHouseConnection, create: boolean): Promise<void> {
  const { client, target } = connection;
  try {
    const ping = await client.ping();
    if (!ping.success) throw ping.error;
  } catch (error) {
    throw new TributaryError(
      'CONNECT_FAILED',
      `cannot reach ClickHouse at ${target.describe}: ${message(error)}`,
      {
        hint: 'check the host and port of --warehouse (HTTP interface, 8123 by default) and that the server runs',
        cause: error,
      },
    );
  }
  try {
    if (create) {
      // the server refuses a request in a database that does not exist yet: create it from `default`
      const outside = await connectClickHouse(target, { database: 'default' });
      try {
        await outside.client.command({
          query: `CREATE DATABASE IF NOT EXISTS ${quoteName(target.database)}`,
        });
      } finally {
        await outside.close();
      }
    }
    await client.query({ query: 'SELECT 1', format: 'JSONEachRow' }).then((r) => r.json());
  } catch (error) {
    const text = message(error);
    if (/Authentication failed|password is incorrect|AUTHENTICATION_FAILED|REQUIRED_PASSWORD/i.test(text)) {
      throw new TributaryError('AUTH_FAILED', `ClickHouse refused the credentials for ${target.describe}`, {
        hint: 'check the user in --warehouse and the password (in the URL or CLICKHOUSE_PASSWORD)',
        cause: error,
      });
    }
    if (/UNKNOWN_DATABASE|Database .* does(n't| not) exist/i.test(text)) {
      throw new TributaryError('DATABASE_NOT_FOUND', `ClickHouse has no database ${target.database}`, {
        hint: `create it (CREATE DATABASE ${quoteName(target.database)}) or name another in --warehouse`,
        cause: error,
      });
    }
    if (/UNKNOWN_SETTING|Unknown setting/i.test(text)) {
      // e.g. Debian's 18.16 (2018): no async_insert, no output_format_json_quote_decimals, …
      throw new TributaryError(
        'UNSUPPORTED_SERVER',
        `ClickHouse at ${target.describe} is too old for Tributary: ${text}`,
        {
          hint: 'use a ClickHouse server from 2023 or later (Tributary needs DateTime64, Date32, Decimal256 and ReplacingMergeTree with a deleted flag)',
          cause: error,
        },
      );
    }
    if (/ACCESS_DENIED|Not enough privileges/i.test(text)) {
      throw new TributaryError('CONFIG', `ClickHouse user of ${target.describe} lacks a privilege: ${text}`, {
        hint: `grant it CREATE, ALTER, INSERT, SELECT and DROP on ${quoteName(target.database)}.*`,
        cause: error,
      });
    }
    throw error;
  }
}

/** A ClickHouse identifier in backquotes, backquotes and backslashes escaped. */
export function quoteName(name: string): string {
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

/** The live process other than this one that the engine's status file in `dir` names, or null. */
function chdbHolder(dir: string): number | null {
  let text: string;
  try {
    text = readFileSync(join(dir, 'status'), 'utf8');
  } catch {
    return null;
  }
  const pid = Number(/PID:\s*(\d+)/.exec(text)?.[1]);
  if (!Number.isSafeInteger(pid) || pid === process.pid) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return null; // killed: its lock went with it
  }
}

/** The messages of an error and its causes, for recognising what a library wrapped. */
function chain(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e instanceof Error && parts.length < 8; e = e.cause) parts.push(e.message);
  return parts.join(': ');
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
