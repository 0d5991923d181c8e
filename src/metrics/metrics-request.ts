/**
 * One metrics operation as a front end asks for it, carried as JSON to the process that holds
 * the warehouse (the CLI's request to `tributary run`'s control endpoint): the metric files as
 * read (null: the definitions that process loaded itself), who runs it (for the registry), and
 * the operation. `runMetricsOperation` answers it on loaded Metrics.
 */
import { TributaryError } from '../core/errors.js';
import type { RawMetricFile } from './metric-files.js';
import type { Metrics } from './metrics.js';

export type MetricsOperation =
  | { readonly kind: 'list' }
  | { readonly kind: 'show'; readonly ref: string }
  | { readonly kind: 'log'; readonly name: string }
  | { readonly kind: 'validate' }
  | { readonly kind: 'query'; readonly request: unknown };

export interface MetricsRequest {
  readonly files: readonly RawMetricFile[] | null;
  readonly user: string;
  readonly operation: MetricsOperation;
}

/** The request's shape (as received from JSON), or a USAGE error. */
export function checkMetricsRequest(body: Record<string, unknown>): MetricsRequest {
  const bad = () =>
    new TributaryError(
      'USAGE',
      'a JSON body {"files": [...] | null, "user": "...", "operation": {"kind": ...}} is required',
    );
  const listed = body.files ?? null;
  if (
    listed !== null &&
    !(
      Array.isArray(listed) &&
      listed.every((f) => f && typeof f === 'object' && typeof (f as RawMetricFile).file === 'string')
    )
  )
    throw bad();
  if (typeof body.user !== 'string') throw bad();
  // only what a file holds: its name and content, validated again where it is loaded
  const files =
    listed === null
      ? null
      : listed.map((f) => ({ file: (f as RawMetricFile).file, content: (f as RawMetricFile).content }));
  const op = body.operation as Record<string, unknown> | undefined;
  if (!op || typeof op !== 'object') throw bad();
  switch (op.kind) {
    case 'list':
    case 'validate':
      return { files, user: body.user, operation: { kind: op.kind } };
    case 'show':
      if (typeof op.ref !== 'string') throw bad();
      return { files, user: body.user, operation: { kind: 'show', ref: op.ref } };
    case 'log':
      if (typeof op.name !== 'string') throw bad();
      return { files, user: body.user, operation: { kind: 'log', name: op.name } };
    case 'query':
      return { files, user: body.user, operation: { kind: 'query', request: op.request } };
    default:
      throw bad();
  }
}

export async function runMetricsOperation(metrics: Metrics, operation: MetricsOperation): Promise<unknown> {
  switch (operation.kind) {
    case 'list':
      return metrics.list();
    case 'show':
      return metrics.show(operation.ref);
    case 'log':
      return metrics.log(operation.name);
    case 'validate':
      return { problems: await metrics.validate() };
    case 'query':
      return metrics.query(operation.request);
  }
}
