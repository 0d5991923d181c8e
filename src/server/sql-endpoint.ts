/**
 * `POST /api/sql` with `{"sql": "SELECT ..."}`: an analyst's query over HTTP. It exposes the
 * warehouse's data, so it is served only when a token is configured (403 otherwise, saying so);
 * the body is JSON (`content-type: application/json`) of at most MAX_BODY bytes; the SQL must be
 * one SELECT that reads only the warehouse (../warehouse/duckdb/read-only-sql.ts), and answers
 * `{columns: [{name, type}], rows: [[...]], truncated}` with at most MAX_ROWS rows.
 */
import type { IncomingMessage } from 'node:http';
import { TributaryError } from '../core/errors.js';
import { HttpError } from './http-error.js';

export const MAX_BODY = 64 * 1024;
export const MAX_ROWS = 10_000;
export const SQL_TIMEOUT_MS = 30_000;

export function sqlForbidden(): HttpError {
  return new HttpError(
    403,
    'FORBIDDEN',
    'POST /api/sql is served only when a token is configured (it exposes the data)',
    'set TRIBUTARY_HTTP_TOKEN before starting tributary run; callers then send Authorization: Bearer <token>',
  );
}

/** The `sql` of the request's JSON body; 413/415/400 for a body that is not one. */
export async function readSqlBody(request: IncomingMessage): Promise<string> {
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json')
    throw new HttpError(415, 'USAGE', 'the body must be JSON', 'send content-type: application/json');
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > MAX_BODY) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw tooLarge();
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new TributaryError('USAGE', 'the body is not valid JSON', { hint: 'send {"sql": "SELECT ..."}' });
  }
  const sql = (body as { sql?: unknown } | null)?.sql;
  if (typeof sql !== 'string' || sql.trim() === '')
    throw new TributaryError('USAGE', 'the body must be {"sql": "<one SELECT>"}', {
      hint: 'send {"sql": "SELECT country, sum(total) FROM orders GROUP BY 1"}',
    });
  if (body && Object.keys(body).some((key) => key !== 'sql'))
    throw new TributaryError('USAGE', 'the body takes only "sql"', { hint: 'send {"sql": "SELECT ..."}' });
  return sql;
}

function tooLarge(): HttpError {
  return new HttpError(
    413,
    'USAGE',
    `the body is larger than ${MAX_BODY / 1024} KiB`,
    'send a shorter query',
  );
}
