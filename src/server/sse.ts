/**
 * The live change feed as Server-Sent Events (`GET /api/events/stream`): first the changes
 * kept in the telemetry ring after the client's last one (`?after=<seq>` or the `Last-Event-ID`
 * header a reconnecting browser sends), then each change as it is applied. Every event is
 *
 *   id: <seq>
 *   event: change
 *   data: <ChangeSummary as JSON>
 *
 * so a client that resumes gets no change twice (seqs only increase). A `: keepalive` comment
 * every `keepaliveMs` keeps proxies from closing a quiet stream. A client that reads too slowly
 * (over MAX_BUFFERED bytes waiting) is cut off: it reconnects and resumes from its last id.
 * When the client goes, or the server closes its connections, the listener and timer go too.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChangeSummary, Telemetry } from '../pipeline/telemetry.js';

export const KEEPALIVE_MS = 15_000;
/** Bytes a stream may have waiting for a slow client before it is cut off. */
const MAX_BUFFERED = 1 << 20;

export function streamChanges(
  request: IncomingMessage,
  response: ServerResponse,
  telemetry: Telemetry,
  after: number,
  keepaliveMs: number = KEEPALIVE_MS,
): void {
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-accel-buffering': 'no',
    connection: 'keep-alive',
  });
  response.flushHeaders();
  let last = after;
  const send = (changes: readonly ChangeSummary[]) => {
    let text = '';
    for (const change of changes) {
      if (change.seq <= last) continue;
      last = change.seq;
      text += `id: ${change.seq}\nevent: change\ndata: ${JSON.stringify(change)}\n\n`;
    }
    if (text !== '') write(text);
  };
  const write = (text: string) => {
    if (response.writableEnded || response.destroyed) return;
    response.write(text);
    if (response.writableLength > MAX_BUFFERED) end();
  };
  // subscribed in the same turn as the backlog is read: no change falls between them
  const unsubscribe = telemetry.onChanges(send);
  const keepalive = setInterval(() => write(': keepalive\n\n'), keepaliveMs);
  keepalive.unref();
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    unsubscribe();
    clearInterval(keepalive);
    if (!response.writableEnded) response.end();
  };
  request.once('close', end);
  response.once('close', end);
  write('retry: 2000\n\n');
  send(telemetry.recent(undefined, after));
}

/**
 * Where a stream resumes: `?after=` wins, else the `Last-Event-ID` header, else 0 (the whole
 * ring). Null when neither is a non-negative integer.
 */
export function resumeAfter(afterParam: string | null, lastEventId: string | undefined): number | null {
  const text = afterParam ?? lastEventId ?? '0';
  return /^\d{1,15}$/.test(text.trim()) ? Number(text.trim()) : null;
}
