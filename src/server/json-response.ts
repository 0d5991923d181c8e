/** Writing a JSON answer, shared by the control endpoint and the HTTP API. */
import type { ServerResponse } from 'node:http';

/** Sends `body` as JSON (bigints as decimal strings) with `status` and `headers`; nothing once headers went out. */
export function respondJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (response.headersSent) return;
  const text = JSON.stringify(body, (_key, value: unknown) =>
    typeof value === 'bigint' ? value.toString() : value,
  );
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(text);
}
