/**
 * The public HTTP API of `tributary run` (the loopback control endpoint is another server,
 * control-server.ts, for the command line only). `run` serves it by default on 127.0.0.1:7878
 * (http-address.ts: where it listens, and when a token is needed).
 *
 * With a token (`TRIBUTARY_HTTP_TOKEN`) every request but `GET /healthz` and the dashboard's
 * static files must carry it as `Authorization: Bearer <token>` (compared in constant time).
 * Without one (loopback only), a request must be addressed to this machine (Host localhost,
 * 127.0.0.1 or [::1]): a web page cannot read the API through a visitor's browser by pointing
 * its own name at 127.0.0.1. Only GET, but POST /api/sql; a caller's text reaches the metrics
 * layer as a request it checks itself, and SQL only through DuckDB's parser and a read-only
 * transaction (sql-endpoint.ts). Errors are JSON
 * `{error, code, hint}`: 400 for a request the caller can fix (a USAGE or CONFIG error), 401
 * without the token, 403 for SQL without a token configured or another Host without one, 404 for an unknown route, 405 for
 * another method, 500 (no internals) otherwise.
 *
 * Routes:
 *   GET  /healthz                      {"ok": true}, never needs the token
 *   GET  /  /assets/<file>             the dashboard (dashboard.ts): static files, no token needed
 *   GET  /api/status                   what `tributary status --json` shows
 *   GET  /api/tables                   per table: rows, last change, this process's applied changes
 *   GET  /api/lag[?since=<ISO>]        the lag history
 *   GET  /api/events[?limit&after]     the last changes applied (keys and columns, no other values)
 *   GET  /api/events/stream[?after]    the same, live, as Server-Sent Events (sse.ts)
 *   GET  /api/checks                   each check's latest result, sample and history
 *   GET  /api/backfills                snapshot and backfill jobs, with live progress
 *   POST /api/sql                      one read-only SELECT (token required)
 *   GET  /api/metrics                  the metrics served (names, versions, owners)
 *   GET  /api/metrics/<name>[@v]       one definition
 *   GET  /api/metrics/<name>[@v]/query?grain=day&from=2026-03-01&to=2026-04-01[&by=a,b][&tz=Zone]
 *   GET  /api/alerts                   alert thresholds and the open incidents (alerting.ts)
 *   GET  /metrics                      Prometheus text format (prometheus.ts)
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { TributaryError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { TableRef } from '../core/table-ref.js';
import type { JobStatus, TableStatus } from '../pipeline/status-report.js';
import type { Telemetry } from '../pipeline/telemetry.js';
import type { CheckDetail } from '../quality/check-history.js';
import type { ReadOnlyAnswer } from '../warehouse/duckdb/read-only-sql.js';
import { eventsBody, jobsBody, lagBody, tablesBody } from './api-routes.js';
import { isDashboardPath, serveDashboard } from './dashboard.js';
import { checkExposure, type HttpAddress, hostPort, listenOn, localUrl } from './http-address.js';
import { HttpError } from './http-error.js';
import { respondJson } from './json-response.js';
import { type HttpMetrics, isMetricsRoute, metricsBody } from './metrics-route.js';
import type { PrometheusExporter } from './prometheus.js';
import { MAX_ROWS, readSqlBody, sqlForbidden } from './sql-endpoint.js';
import { KEEPALIVE_MS, resumeAfter, streamChanges } from './sse.js';

export { checkExposure, type HttpAddress, parseHttpAddress } from './http-address.js';
export type { HttpMetrics } from './metrics-route.js';

export interface HttpApiHandlers {
  /** The metrics layer, or null when this process serves none. */
  metrics(): HttpMetrics | null;
  status(): Promise<unknown>;
  tables(): Promise<readonly (TableStatus & { readonly ref: TableRef })[]>;
  checks(): Promise<readonly CheckDetail[]>;
  backfills(): Promise<readonly JobStatus[]>;
  /** Runs one read-only SELECT (read-only-sql.ts); `signal` aborts when the caller goes. */
  sql(text: string, maxRows: number, signal: AbortSignal): Promise<ReadOnlyAnswer>;
  /** Lag history, applied-change counts and the live change feed of this process. */
  readonly telemetry: Telemetry;
  /** How often the lag history takes a sample. */
  readonly sampleEveryMs: number;
  /** `GET /metrics`. */
  readonly prometheus: PrometheusExporter;
  /** `GET /api/alerts`: thresholds (null without alerts) and open incidents. */
  alerts(): unknown;
}

export interface HttpApiOptions {
  /** The default address, not one the user gave: when taken, serve on a free port instead. */
  readonly fallback?: boolean;
  readonly keepaliveMs?: number;
}

const MAX_URL = 4096;

interface Context {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly url: URL;
  readonly handlers: HttpApiHandlers;
  readonly tokenConfigured: boolean;
  readonly keepaliveMs: number;
}

interface Route {
  readonly method: 'GET' | 'POST';
  handle(context: Context): Promise<void> | void;
}

/** The API's routes by path (the metrics routes, with a name in the path, are matched apart). */
const ROUTES: Readonly<Record<string, Route>> = {
  '/api/status': { method: 'GET', handle: async (c) => ok(c, await c.handlers.status()) },
  '/api/tables': {
    method: 'GET',
    handle: async (c) => ok(c, tablesBody(await c.handlers.tables(), c.handlers.telemetry, Date.now())),
  },
  '/api/lag': {
    method: 'GET',
    handle: (c) => ok(c, lagBody(c.url.searchParams, c.handlers.telemetry, c.handlers.sampleEveryMs)),
  },
  '/api/events': {
    method: 'GET',
    handle: (c) => ok(c, eventsBody(c.url.searchParams, c.handlers.telemetry)),
  },
  '/api/events/stream': { method: 'GET', handle: (c) => eventStream(c) },
  '/api/checks': { method: 'GET', handle: async (c) => ok(c, { checks: await c.handlers.checks() }) },
  '/api/backfills': { method: 'GET', handle: async (c) => ok(c, jobsBody(await c.handlers.backfills())) },
  '/api/sql': { method: 'POST', handle: (c) => sql(c) },
  '/api/alerts': { method: 'GET', handle: (c) => ok(c, c.handlers.alerts()) },
  '/metrics': { method: 'GET', handle: (c) => c.handlers.prometheus.serve(c.response) },
};

/** The metrics layer's routes, with a name in the path. */
const METRICS: Route = {
  method: 'GET',
  handle: async (c) => ok(c, await metricsBody(c.handlers.metrics(), c.url)),
};

export class HttpApi {
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(
    address: HttpAddress,
    token: string | null,
    handlers: HttpApiHandlers,
    logger: Logger,
    options: HttpApiOptions = {},
  ): Promise<HttpApi> {
    checkExposure(address, token);
    const secret = token ? Buffer.from(token) : null;
    const server = createServer((request, response) => {
      handle(request, response, secret, handlers, options).catch((error: unknown) => {
        logger.error({ err: (error as Error).message }, 'HTTP API request failed');
        respond(response, 500, { error: 'internal error', code: 'INTERNAL', hint: null });
      });
    });
    const bound = await listenOn(server, address, options.fallback ?? false, logger);
    logger.info({ http: hostPort(bound), token: Boolean(secret) }, 'serving the HTTP API');
    logger.info({ dashboard: localUrl(bound) }, 'open the dashboard');
    return new HttpApi(server);
  }

  get port(): number {
    const bound = this.#server.address();
    return typeof bound === 'object' && bound ? bound.port : 0;
  }

  /** Stops listening and ends every connection, open event streams included. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }
}

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  secret: Buffer | null,
  handlers: HttpApiHandlers,
  options: HttpApiOptions,
): Promise<void> {
  if ((request.url ?? '').length > MAX_URL)
    return respond(response, 414, { error: 'the URL is too long', code: 'USAGE', hint: null });
  let url: URL;
  try {
    url = new URL(request.url ?? '/', 'http://api');
  } catch {
    return respond(response, 400, { error: 'a malformed URL', code: 'USAGE', hint: null });
  }
  if (url.pathname === '/healthz') {
    if (request.method !== 'GET') return notAllowed(response, 'GET');
    return respond(response, 200, { ok: true });
  }
  // without a token the API serves this machine only: a page elsewhere that points a name it
  // controls at 127.0.0.1 (DNS rebinding) must not read it through a visitor's browser
  if (!secret && !loopbackHost(request.headers.host)) {
    return respond(response, 403, {
      error: 'without a token this API answers requests addressed to this machine only',
      code: 'FORBIDDEN',
      hint: 'open it as http://127.0.0.1:<port>/ (or localhost), or set TRIBUTARY_HTTP_TOKEN to serve it under another name',
    });
  }
  // The dashboard's page and scripts hold no data: served without the token (a browser cannot
  // send it when it opens a page), which the page then sends with each API call.
  if (request.method === 'GET' && isDashboardPath(url.pathname))
    return serveDashboard(request, url.pathname, response);
  if (secret && !authorized(request.headers.authorization, secret)) {
    response.setHeader('WWW-Authenticate', 'Bearer');
    return respond(response, 401, {
      error: 'a bearer token is required',
      code: 'USAGE',
      hint: 'send Authorization: Bearer <the TRIBUTARY_HTTP_TOKEN of this run>',
    });
  }
  const context: Context = {
    request,
    response,
    url,
    handlers,
    tokenConfigured: secret !== null,
    keepaliveMs: options.keepaliveMs ?? KEEPALIVE_MS,
  };
  try {
    const route = Object.hasOwn(ROUTES, url.pathname)
      ? ROUTES[url.pathname]
      : isMetricsRoute(url.pathname)
        ? METRICS
        : undefined;
    if (!route)
      return respond(response, 404, {
        error: 'not found',
        code: 'USAGE',
        hint: 'see the README, "HTTP API"',
      });
    if (request.method !== route.method) return notAllowed(response, route.method);
    await route.handle(context);
  } catch (error) {
    if (error instanceof HttpError)
      return respond(response, error.status, { error: error.message, code: error.code, hint: error.hint });
    if (error instanceof TributaryError && (error.code === 'USAGE' || error.code === 'CONFIG')) {
      return respond(response, 400, { error: error.message, code: error.code, hint: error.hint ?? null });
    }
    if (error instanceof URIError)
      return respond(response, 400, { error: 'a malformed URL', code: 'USAGE', hint: null });
    throw error;
  }
}

function eventStream(c: Context): void {
  const lastEventId = c.request.headers['last-event-id'];
  const after = resumeAfter(
    c.url.searchParams.get('after'),
    typeof lastEventId === 'string' ? lastEventId : undefined,
  );
  if (after === null)
    throw new TributaryError(
      'USAGE',
      'after (or Last-Event-ID) must be the seq of a change, a whole number',
      {
        hint: 'such as after=120',
      },
    );
  // seqs start again at 1 in a new process: an id beyond the newest is a previous run's, so the
  // client gets everything kept rather than waiting silently for the seqs to catch up
  const newest = c.handlers.telemetry.recent(1).at(-1)?.seq ?? 0;
  streamChanges(c.request, c.response, c.handlers.telemetry, after > newest ? 0 : after, c.keepaliveMs);
}

async function sql(c: Context): Promise<void> {
  if (!c.tokenConfigured) throw sqlForbidden();
  const text = await readSqlBody(c.request);
  const gone = new AbortController();
  const abort = () => {
    if (!c.response.writableFinished) gone.abort();
  };
  c.response.once('close', abort);
  try {
    ok(c, await c.handlers.sql(text, MAX_ROWS, gone.signal));
  } finally {
    c.response.off('close', abort);
  }
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Whether a request's Host header names this machine (loopback). */
function loopbackHost(header: string | undefined): boolean {
  if (!header) return false;
  try {
    return LOOPBACK_HOSTS.has(new URL(`http://${header}`).hostname.toLowerCase());
  } catch {
    return false;
  }
}

function authorized(header: string | undefined, secret: Buffer): boolean {
  const given = /^Bearer (\S+)$/.exec(header ?? '')?.[1];
  if (!given) return false;
  const bytes = Buffer.from(given);
  return bytes.length === secret.length && timingSafeEqual(bytes, secret);
}

/** `GET /` until a dashboard serves it: what runs here and where the API is. */
function notAllowed(response: ServerResponse, allow: string): void {
  response.setHeader('Allow', allow);
  respond(response, 405, { error: `only ${allow} here`, code: 'USAGE', hint: null });
}

function ok(c: Context, body: unknown): void {
  respond(c.response, 200, body);
}

function respond(response: ServerResponse, status: number, body: unknown): void {
  respondJson(response, status, body, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
}
