/**
 * The metrics layer over HTTP (src/metrics/): `GET /api/metrics` (the metrics served),
 * `/api/metrics/<name>[@v]` (one definition) and `/api/metrics/<name>[@v]/query?grain&from&to[&by][&tz]`
 * (a metric per period, as `tributary metrics query --json` prints it). The caller's text reaches
 * the metrics layer as a request it checks itself; nothing is pasted into SQL.
 */
import { TributaryError } from '../core/errors.js';
import { HttpError } from './http-error.js';

/** What the API asks of the metrics layer (src/metrics/metrics.ts). */
export interface HttpMetrics {
  list(): unknown;
  show(ref: string): unknown;
  query(body: unknown): Promise<unknown>;
}

const METRICS_ROUTE = /^\/api\/metrics(?:\/([^/]+)(\/query)?)?\/?$/;

export function isMetricsRoute(path: string): boolean {
  return METRICS_ROUTE.test(path);
}

/** What a metrics route answers; 404 when this process serves no metrics. */
export async function metricsBody(metrics: HttpMetrics | null, url: URL): Promise<unknown> {
  const route = METRICS_ROUTE.exec(url.pathname);
  if (!route || !metrics)
    throw new HttpError(
      404,
      'USAGE',
      'this tributary run serves no metrics',
      'start it with --metrics <dir> (or metrics: { dir } in its config file)',
    );
  const ref = route[1] === undefined ? null : decodeURIComponent(route[1]);
  if (ref === null) return metrics.list();
  if (!route[2]) return metrics.show(ref);
  return metrics.query(queryBody(ref, url.searchParams));
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
