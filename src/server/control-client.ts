/**
 * Finds a running `tributary run` for a warehouse file (its control file, and a live pid) and
 * talks to it. A control file left by a killed process is ignored.
 */
import { existsSync, readFileSync } from 'node:fs';
import { TributaryError } from '../core/errors.js';
import type { MetricsRequest } from '../metrics/metrics-request.js';
import type { QueryResult } from '../warehouse/warehouse.js';
import {
  type BackfillRequest,
  type CheckRequest,
  type ControlFile,
  controlFilePath,
  type ModelsRequest,
  type ReplayRequest,
  type VerifyRequest,
} from './control-server.js';

export function findRunning(warehousePath: string): ControlFile | null {
  const path = controlFilePath(warehousePath);
  if (!existsSync(path)) return null;
  let control: ControlFile;
  try {
    control = JSON.parse(readFileSync(path, 'utf8')) as ControlFile;
  } catch {
    return null;
  }
  try {
    process.kill(control.pid, 0);
    return control;
  } catch {
    return null; // the process is gone (killed); its file is stale
  }
}

async function call<T>(
  control: ControlFile,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  timeoutMs?: number,
): Promise<T> {
  const response = await fetch(`http://127.0.0.1:${control.port}${path}`, {
    method,
    ...(timeoutMs === undefined ? {} : { signal: AbortSignal.timeout(timeoutMs) }),
    headers: { authorization: `Bearer ${control.token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  }).catch((error: unknown) => {
    throw new TributaryError(
      'CONNECT_FAILED',
      (error as Error).name === 'TimeoutError'
        ? `the running tributary run (pid ${control.pid}) did not answer within ${(timeoutMs ?? 0) / 1000} s`
        : `cannot reach the running tributary run (pid ${control.pid})`,
      { cause: error },
    );
  });
  const json = (await response.json()) as { error?: string; code?: string; hint?: string | null };
  if (!response.ok) {
    throw new TributaryError(
      json.code === 'USAGE' || json.code === 'CONFIG' ? json.code : 'SINK',
      json.error ?? `HTTP ${response.status}`,
      {
        ...(json.hint ? { hint: json.hint } : {}),
      },
    );
  }
  return json as T;
}

export function remoteQuery(control: ControlFile, sql: string, asOf?: string): Promise<QueryResult> {
  return call<QueryResult>(control, 'POST', '/query', asOf === undefined ? { sql } : { sql, asOf });
}

export function remoteReplay(control: ControlFile, request: ReplayRequest): Promise<unknown> {
  return call<unknown>(control, 'POST', '/replay', request);
}

/** A verify reads the whole source: it takes as long as it takes. */
export function remoteVerify(control: ControlFile, request: VerifyRequest): Promise<unknown> {
  return call<unknown>(control, 'POST', '/verify', request);
}

export function remoteExportRaw(control: ControlFile, dir: string): Promise<unknown> {
  return call<unknown>(control, 'POST', '/export-raw', { dir });
}

/** How long `status` waits for a running process (a query may take as long as it takes). */
const STATUS_TIMEOUT_MS = 10_000;

export function remoteStatus(control: ControlFile): Promise<Record<string, unknown>> {
  return call<Record<string, unknown>>(control, 'GET', '/status', undefined, STATUS_TIMEOUT_MS);
}

export function remoteBackfill(
  control: ControlFile,
  request: BackfillRequest,
): Promise<Record<string, unknown>> {
  return call<Record<string, unknown>>(control, 'POST', '/backfill', request, STATUS_TIMEOUT_MS * 3);
}

/** Runs checks in the running process (as long as they take: no time limit). */
export function remoteCheck(control: ControlFile, request: CheckRequest): Promise<unknown> {
  return call<unknown>(control, 'POST', '/check', request);
}

/** A metrics operation in the running process (a query takes as long as it takes). */
export function remoteMetrics(control: ControlFile, request: MetricsRequest): Promise<unknown> {
  return call<unknown>(control, 'POST', '/metrics', request);
}

/** Refreshes models in the running process, or asks it for their freshness (as long as it takes). */
export function remoteModels(control: ControlFile, request: ModelsRequest): Promise<unknown> {
  return call<unknown>(control, 'POST', '/models', request);
}
