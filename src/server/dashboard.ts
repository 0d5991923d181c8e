/**
 * The dashboard of `tributary run --http`: static files (web/dashboard/) and uPlot, the charting
 * library, from node_modules. No build step and no network beyond this server: the page's
 * scripts call the JSON API of the same origin (http-api.ts) with the token the user typed.
 *
 * Routes (GET only): `/` the page, `/assets/<file>` a file of the fixed list below; any other
 * name is not served (no path is ever built from the request). The page and its assets hold no
 * data, so they are served without the token; every API call the page makes carries it.
 * Every answer has a strict Content-Security-Policy (nothing inline, nothing from elsewhere) and
 * an ETag: `Cache-Control: no-cache` lets the browser keep a copy and revalidate it (304), so an
 * upgrade of Tributary is seen at the next load.
 *
 * The files are found relative to this module (src/server/ or dist/src/server/), never copied
 * into dist/: tsc does not copy them. package.json's `files` ships web/.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';
const HTML = 'text/html; charset=utf-8';

const require = createRequire(import.meta.url);

/** The directory of the page's files: web/dashboard/ at the repository's (or package's) root. */
function pageDirectory(): string {
  for (const up of ['../../web/dashboard/', '../../../web/dashboard/']) {
    const dir = fileURLToPath(new URL(up, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  throw new Error('the dashboard files (web/dashboard/) are missing from this installation');
}

interface Asset {
  readonly path: string;
  readonly type: string;
}

/** Every file the dashboard serves, by the name in its URL. */
function assets(): ReadonlyMap<string, Asset> {
  const dir = pageDirectory();
  const page = (file: string, type: string): [string, Asset] => [file, { path: `${dir}${file}`, type }];
  return new Map([
    ['', { path: `${dir}index.html`, type: HTML }],
    page('dashboard.css', CSS),
    page('dashboard.js', JS),
    page('api.js', JS),
    page('dom.js', JS),
    page('format.js', JS),
    page('health.js', JS),
    page('charts.js', JS),
    page('panels.js', JS),
    page('metric-chart.js', JS),
    page('feed.js', JS),
    page('sse.js', JS),
    page('favicon.svg', 'image/svg+xml'),
    ['uplot.iife.min.js', { path: require.resolve('uplot/dist/uPlot.iife.min.js'), type: JS }],
    ['uplot.min.css', { path: require.resolve('uplot/dist/uPlot.min.css'), type: CSS }],
  ]);
}

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

/** Whether `pathname` is one of the dashboard's routes (answered by serveDashboard). */
export function isDashboardPath(pathname: string): boolean {
  return pathname === '/' || pathname.startsWith('/assets/');
}

/**
 * Answers a GET of `/` or `/assets/<file>`: the file, 304 when the browser's copy is current, or
 * 404 for a name not in the list. Files are read at each request (a dozen small files, once per
 * page load), so nothing is cached in the process.
 */
export async function serveDashboard(
  request: IncomingMessage,
  pathname: string,
  response: ServerResponse,
): Promise<void> {
  const name = pathname === '/' ? '' : pathname.slice('/assets/'.length);
  const asset = name === '' && pathname !== '/' ? undefined : assets().get(name);
  if (!asset) {
    response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
    response.end('not found\n');
    return;
  }
  const body = await readFile(asset.path);
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  const headers = { ...SECURITY_HEADERS, 'cache-control': 'no-cache', etag };
  if (request.headers['if-none-match'] === etag) {
    response.writeHead(304, headers);
    response.end();
    return;
  }
  response.writeHead(200, { ...headers, 'content-type': asset.type, 'content-length': body.length });
  response.end(body);
}

const SECURITY_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
} as const;
