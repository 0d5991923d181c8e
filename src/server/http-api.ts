/**
 * The public HTTP API of `tributary run --http host:port` (the loopback control endpoint is
 * another server, control-server.ts, for the command line only).
 *
 * Secure by default: without `--http` nothing listens; `--http 127.0.0.1:8080` (or `:8080`,
 * `localhost:8080`) serves the loopback interface, token optional; any other address is refused
 * unless a token is set (`TRIBUTARY_HTTP_TOKEN`), and then every request must carry it as
 * `Authorization: Bearer <token>` (compared in constant time). Only GET; a caller's text reaches
 * the metrics layer as a request it checks itself (nothing is pasted into SQL). Errors are JSON
 * `{error, code, hint}`: 400 for a request the caller can fix (a USAGE or CONFIG error), 401
 * without the token, 404 for an unknown route, 500 (no internals) otherwise.
 *
 * Routes:
 *   GET /  GET /assets/<file>                 the dashboard (dashboard.ts), served without the token
 *   GET /api/metrics                          the metrics served (names, versions, owners)
 *   GET /api/metrics/<name>[@v]               one definition
 *   GET /api/metrics/<name>[@v]/query?grain=day&from=2026-03-01&to=2026-04-01[&by=a,b][&tz=Zone]
 *   GET /api/status                           what `tributary status --json` shows
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { TributaryError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Telemetry } from '../pipeline/telemetry.js';
import { isDashboardPath, serveDashboard } from './dashboard.js';
import { respondJson } from './json-response.js';

export interface HttpApiHandlers {
  /** The metrics layer, or null when this process serves none. */
  metrics(): HttpMetrics | null;
  status(): Promise<unknown>;
  /** Lag history, applied-change counts and the live change feed of this process. */
  readonly telemetry: Telemetry;
}

/** What the API asks of the metrics layer (src/metrics/metrics.ts). */
export interface HttpMetrics {
  list(): unknown;
  show(ref: string): unknown;
  query(body: unknown): Promise<unknown>;
}

export interface HttpAddress {
  readonly host: string;
  readonly port: number;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const MAX_URL = 4096;

/** Parses `--http`: `host:port`, `[v6]:port` or `:port` (loopback). USAGE error otherwise. */
export function parseHttpAddress(text: string): HttpAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new TributaryError(
      'USAGE',
      `--http must be host:port (such as 127.0.0.1:8080), not ${JSON.stringify(text)}`,
      {
        hint: 'give --http 127.0.0.1:8080 to serve this machine only, or an address and TRIBUTARY_HTTP_TOKEN',
      },
    );
  }
  const host = match[1] ?? (match[2] || '127.0.0.1');
  return { host, port };
}

/** Refuses an exposed address without a token. */
export function checkExposure(address: HttpAddress, token: string | null): void {
  if (LOOPBACK.has(address.host) || token) return;
  throw new TributaryError(
    'USAGE',
    `--http ${address.host}:${address.port} would serve other machines without a token`,
    {
      hint: 'set TRIBUTARY_HTTP_TOKEN (callers then send Authorization: Bearer <token>), or bind 127.0.0.1',
    },
  );
}

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
  ): Promise<HttpApi> {
    checkExposure(address, token);
    const secret = token ? Buffer.from(token) : null;
    const server = createServer((request, response) => {
      handle(request, response, secret, handlers).catch((error: unknown) => {
        logger.error({ err: (error as Error).message }, 'HTTP API request failed');
        respond(response, 500, { error: 'internal error', code: 'INTERNAL', hint: null });
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        reject(
          new TributaryError(
            'USAGE',
            `cannot serve HTTP on ${address.host}:${address.port}: ${error.code ?? error.message}`,
            {
              hint: 'pick a free port (or another address) for --http',
            },
          ),
        );
      });
      server.listen(address.port, address.host, () => resolve());
    });
    const bound = server.address();
    logger.info(
      {
        http: typeof bound === 'object' && bound ? `${bound.address}:${bound.port}` : String(bound),
        token: Boolean(secret),
      },
      'serving the HTTP API',
    );
    return new HttpApi(server);
  }

  get port(): number {
    const bound = this.#server.address();
    return typeof bound === 'object' && bound ? bound.port : 0;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  secret: Buffer | null,
  handlers: HttpApiHandlers,
): Promise<void> {
  // the dashboard's page and scripts hold no data: served without the token, which its API calls carry
  const path = (request.url ?? '/').split('?', 1)[0] ?? '/';
  if (request.method === 'GET' && isDashboardPath(path)) return serveDashboard(request, path, response);
  if (secret && !authorized(request.headers.authorization, secret)) {
    response.setHeader('WWW-Authenticate', 'Bearer');
    return respond(response, 401, { error: 'a bearer token is required', code: 'USAGE', hint: null });
  }
  if (request.method !== 'GET')
    return respond(response, 405, { error: 'only GET', code: 'USAGE', hint: null });
  if ((request.url ?? '').length > MAX_URL)
    return respond(response, 414, { error: 'the URL is too long', code: 'USAGE', hint: null });
  let url: URL;
  try {
    url = new URL(request.url ?? '/', 'http://api');
  } catch {
    return respond(response, 400, { error: 'a malformed URL', code: 'USAGE', hint: null });
  }
  try {
    if (url.pathname === '/api/status') return respond(response, 200, await handlers.status());
    const route = /^\/api\/metrics(?:\/([^/]+)(\/query)?)?\/?$/.exec(url.pathname);
    if (!route) return respond(response, 404, { error: 'not found', code: 'USAGE', hint: null });
    const metrics = handlers.metrics();
    if (!metrics) {
      return respond(response, 404, {
        error: 'this tributary run serves no metrics',
        code: 'USAGE',
        hint: 'start it with --metrics <dir> (or metrics: { dir } in its config file)',
      });
    }
    const ref = route[1] === undefined ? null : decodeURIComponent(route[1]);
    if (ref === null) return respond(response, 200, metrics.list());
    if (!route[2]) return respond(response, 200, metrics.show(ref));
    return respond(response, 200, await metrics.query(queryBody(ref, url.searchParams)));
  } catch (error) {
    if (error instanceof TributaryError && (error.code === 'USAGE' || error.code === 'CONFIG')) {
      return respond(response, 400, { error: error.message, code: error.code, hint: error.hint ?? null });
    }
    if (error instanceof URIError)
      return respond(response, 400, { error: 'a malformed URL', code: 'USAGE', hint: null });
    throw error;
  }
}

const QUERY_PARAMETERS = new Set(['grain', 'from', 'to', 'by', 'tz']);

/** The metric query the URL asks for; an unknown or repeated parameter is refused. */
function queryBody(metric: string, params: URLSearchParams): Record<string, unknown> {
  const body: Record<string, unknown> = { metric };
  for (const name of new Set(params.keys())) {
    if (!QUERY_PARAMETERS.has(name))
      throw new TributaryError('USAGE', `unknown query parameter ${JSON.stringify(name.slice(0, 40))}`, {
        hint: 'parameters: grain, from, to, by (comma-separated), tz',
      });
    if (params.getAll(name).length > 1)
      throw new TributaryError('USAGE', `the query parameter ${name} is given more than once`);
  }
  for (const name of ['grain', 'from', 'to', 'tz'] as const) {
    const value = params.get(name);
    if (value !== null) body[name] = value;
  }
  const by = params.get('by');
  if (by !== null && by !== '') body.by = by.split(',');
  return body;
}

function authorized(header: string | undefined, secret: Buffer): boolean {
  const given = /^Bearer (\S+)$/.exec(header ?? '')?.[1];
  if (!given) return false;
  const bytes = Buffer.from(given);
  return bytes.length === secret.length && timingSafeEqual(bytes, secret);
}

function respond(response: ServerResponse, status: number, body: unknown): void {
  respondJson(response, status, body, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
}
