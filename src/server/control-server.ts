/**
 * The running `tributary run`'s local control endpoint. DuckDB admits one process per file,
 * so `tributary query`, `status`, `replay`, `export`, `backfill`, `check`, `metrics` and `models` reach the running
 * process instead of the file.
 *
 * Secure by default: it binds to 127.0.0.1 on a free port, every request needs the bearer
 * token, and the port and token are written to `<warehouse>.control.json`, readable only by
 * the user who started `run` (mode 0600). Errors return a message and code, never internals.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { TributaryError } from '../core/errors.js';
import { checkMetricsRequest, type MetricsRequest } from '../metrics/metrics-request.js';
import type { Ledger } from '../quality/verify/verify.js';
import { isClickHouseUrl, parseClickHouseUrl } from '../warehouse/clickhouse/connect.js';
import type { QueryResult } from '../warehouse/warehouse.js';
import { respondJson } from './json-response.js';

export interface ControlHandlers {
  /** With `asOf` (a time or a position, as `--as-of` takes it): the tables as they were then. */
  query(sql: string, asOf?: string): Promise<QueryResult>;
  /** Rebuilds tables from the raw zone (tributary replay). */
  replay?(request: ReplayRequest): Promise<unknown>;
  /** Exports the raw zone as Parquet (tributary export raw). */
  exportRaw?(dir: string): Promise<unknown>;
  status(): Promise<unknown>;
  /** Compares the warehouse with the source (tributary verify); absent when the process cannot. */
  verify?(request: Record<string, unknown>): Promise<unknown>;
  /** Queues a backfill (tributary backfill); absent when the process cannot run one. */
  backfill?(request: BackfillRequest): Promise<unknown>;
  /** Runs data checks once and records their results (tributary check). */
  check?(request: CheckRequest): Promise<unknown>;
  /** Lists, shows, validates or queries metrics (tributary metrics). */
  metrics?(request: MetricsRequest): Promise<unknown>;
  /** Refreshes models now, or reports their freshness (tributary models run / status). */
  models?(request: ModelsRequest): Promise<unknown>;
}

export interface ModelsRequest {
  readonly action: 'run' | 'status';
  /** The models to refresh; null: all. */
  readonly names: readonly string[] | null;
}

export interface CheckRequest {
  /** The checks to run, as the config file declares them (validated again here); null: the process's own. */
  readonly checks: unknown;
  /** Only the checks of these names; null: all. */
  readonly only: readonly string[] | null;
}

export interface BackfillRequest {
  readonly table: string;
  readonly predicate: string | null;
  readonly reason: string | null;
}

export interface VerifyRequest {
  /** Tables to compare (display names); null: every table. */
  readonly tables: readonly string[] | null;
  readonly settings: Readonly<Record<string, number>>;
  /** Ledger reconciliations (the verifying command's config file's `ledgers`). */
  readonly ledgers?: readonly Ledger[];
  /** Read the source's rows on this hot standby (a postgres URL). */
  readonly replica?: string;
}

export interface ReplayRequest {
  readonly until: string | null;
  readonly into: string | null;
}

export interface ControlFile {
  readonly pid: number;
  readonly port: number;
  readonly token: string;
}

/**
 * Where the process running on a warehouse leaves its control file: beside a DuckDB file; for a
 * ClickHouse URL (no file of ours to sit beside) in the user's temporary directory, named by a
 * hash of the warehouse without its password, so every process of the user on this machine
 * finds it.
 */
export function controlFilePath(warehouse: string): string {
  if (!isClickHouseUrl(warehouse)) return `${warehouse}.control.json`;
  const target = parseClickHouseUrl(warehouse);
  const name = createHash('sha256').update(target.describe).digest('hex').slice(0, 24);
  const dir = join(tmpdir(), `tributary-${userInfo().uid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return join(dir, `clickhouse-${name}.control.json`);
}

const MAX_BODY = 1 << 20;

export class ControlServer {
  readonly #server: Server;
  readonly #token: Buffer;
  readonly #file: string;

  private constructor(server: Server, token: Buffer, file: string) {
    this.#server = server;
    this.#token = token;
    this.#file = file;
  }

  static async start(warehousePath: string, handlers: ControlHandlers): Promise<ControlServer> {
    const token = randomBytes(24);
    const file = controlFilePath(warehousePath);
    let control: ControlServer | null = null;
    const server = createServer((request, response) => {
      if (!control) return respond(response, 503, { error: 'starting' });
      control
        .#handle(request, response, handlers)
        .catch(() => respond(response, 500, { error: 'internal error' }));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (typeof address !== 'object' || address === null)
      throw new TributaryError('INTERNAL', 'control server has no port');
    control = new ControlServer(server, token, file);
    const content: ControlFile = { pid: process.pid, port: address.port, token: token.toString('hex') };
    writeFileSync(file, JSON.stringify(content), { mode: 0o600 });
    return control;
  }

  async close(): Promise<void> {
    rmSync(this.#file, { force: true });
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(
    request: IncomingMessage,
    response: ServerResponse,
    handlers: ControlHandlers,
  ): Promise<void> {
    if (!this.#authorized(request.headers.authorization))
      return respond(response, 401, { error: 'token required' });
    try {
      if (request.method === 'POST' && request.url === '/query') {
        const body = JSON.parse(await readBody(request)) as { sql?: unknown; asOf?: unknown };
        if (typeof body.sql !== 'string' || (body.asOf !== undefined && typeof body.asOf !== 'string'))
          return respond(response, 400, { error: 'a JSON body {"sql": "...", "asOf": "..."} is required' });
        return respond(
          response,
          200,
          await (body.asOf === undefined ? handlers.query(body.sql) : handlers.query(body.sql, body.asOf)),
        );
      }
      if (request.method === 'POST' && request.url === '/replay') {
        const body = JSON.parse(await readBody(request)) as Record<string, unknown>;
        const text = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : null);
        if (!handlers.replay) return respond(response, 400, { error: 'this process does not replay' });
        return respond(
          response,
          200,
          await handlers.replay({ until: text(body.until), into: text(body.into) }),
        );
      }
      if (request.method === 'POST' && request.url === '/export-raw') {
        const body = JSON.parse(await readBody(request)) as Record<string, unknown>;
        if (typeof body.dir !== 'string' || body.dir.length === 0)
          return respond(response, 400, { error: 'a JSON body {"dir": "..."} is required' });
        if (!handlers.exportRaw) return respond(response, 400, { error: 'this process does not export' });
        return respond(response, 200, await handlers.exportRaw(body.dir));
      }
      if (request.method === 'POST' && request.url === '/verify') {
        const body = JSON.parse(await readBody(request)) as Record<string, unknown>;
        if (!handlers.verify) return respond(response, 400, { error: 'this process does not verify' });
        return respond(response, 200, await handlers.verify(body));
      }
      if (request.method === 'POST' && request.url === '/backfill') {
        const body = JSON.parse(await readBody(request)) as Record<string, unknown>;
        const text = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : null);
        if (typeof body.table !== 'string')
          return respond(response, 400, {
            error: 'a JSON body {"table": "...", "predicate": ..., "reason": ...} is required',
          });
        if (!handlers.backfill)
          return respond(response, 400, { error: 'this process does not run backfills' });
        return respond(
          response,
          200,
          await handlers.backfill({
            table: body.table,
            predicate: text(body.predicate),
            reason: text(body.reason),
          }),
        );
      }
      if (request.method === 'POST' && request.url === '/check') {
        const body = JSON.parse(await readBody(request)) as Record<string, unknown>;
        const only = body.only ?? null;
        if (only !== null && !(Array.isArray(only) && only.every((n) => typeof n === 'string')))
          return respond(response, 400, {
            error: 'a JSON body {"checks": [...], "only": ["name", ...]} is required',
          });
        if (!handlers.check) return respond(response, 400, { error: 'this process does not run checks' });
        return respond(response, 200, await handlers.check({ checks: body.checks ?? null, only }));
      }
      if (request.method === 'POST' && request.url === '/metrics') {
        const body = JSON.parse(await readBody(request)) as Record<string, unknown>;
        if (!handlers.metrics)
          return respond(response, 400, { error: 'this process does not serve metrics' });
        return respond(response, 200, await handlers.metrics(checkMetricsRequest(body)));
      }
      if (request.method === 'POST' && request.url === '/models') {
        const body = JSON.parse(await readBody(request)) as Record<string, unknown>;
        const names = body.names ?? null;
        if (
          (body.action !== 'run' && body.action !== 'status') ||
          (names !== null && !(Array.isArray(names) && names.every((n) => typeof n === 'string')))
        )
          return respond(response, 400, {
            error: 'a JSON body {"action": "run" | "status", "names": ["name", ...] | null} is required',
          });
        if (!handlers.models)
          return respond(response, 400, {
            error: 'this process keeps no models',
            code: 'USAGE',
            hint: 'start tributary run with --models <dir> (or models: in its config file)',
          });
        return respond(response, 200, await handlers.models({ action: body.action, names }));
      }
      if (request.method === 'GET' && request.url === '/status')
        return respond(response, 200, await handlers.status());
      return respond(response, 404, { error: 'not found' });
    } catch (error) {
      if (error instanceof TributaryError) {
        return respond(response, 400, { error: error.message, code: error.code, hint: error.hint ?? null });
      }
      return respond(response, 400, {
        error: error instanceof SyntaxError ? 'the body is not JSON' : 'request failed',
      });
    }
  }

  #authorized(header: string | undefined): boolean {
    const given = /^Bearer ([0-9a-f]+)$/.exec(header ?? '')?.[1];
    if (!given) return false;
    const buffer = Buffer.from(given, 'hex');
    return buffer.length === this.#token.length && timingSafeEqual(buffer, this.#token);
  }
}

function respond(response: ServerResponse, status: number, body: unknown): void {
  respondJson(response, status, body);
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new TributaryError('USAGE', 'the request body is larger than 1 MiB'));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}
