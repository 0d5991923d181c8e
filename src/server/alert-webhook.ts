/**
 * Posts alert notices (src/server/alerts.ts) as JSON to a webhook, in the order they were
 * raised, without ever holding up or failing the pipeline: `send` only queues. Each post waits
 * at most `timeoutMs` (5 s), is tried again a few times with doubling backoff when it fails (a
 * network error or a status other than 2xx), and is then given up and logged. The URL's
 * secrets never reach a log: only its origin is logged (a hook's path often is its secret), and
 * user:password in it is sent as HTTP Basic authorization, which fetch requires.
 */
import type { Logger } from '../core/logger.js';
import { sleep } from '../core/sleep.js';
import type { AlertNotice } from './alerts.js';

export interface WebhookOptions {
  readonly timeoutMs?: number;
  /** Tries after the first one. */
  readonly retries?: number;
  /** Wait before the first retry; doubles each time. */
  readonly backoffMs?: number;
}

export class AlertWebhook {
  readonly #target: URL;
  readonly #headers: Record<string, string>;
  readonly #log: Logger;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #backoffMs: number;
  readonly #closing = new AbortController();
  #queue: Promise<void> = Promise.resolve();

  constructor(url: string, log: Logger, options: WebhookOptions = {}) {
    const target = new URL(url);
    this.#headers = { 'content-type': 'application/json', 'user-agent': 'tributary' };
    if (target.username || target.password) {
      const user = decodeURIComponent(target.username);
      const password = decodeURIComponent(target.password);
      this.#headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      target.username = '';
      target.password = '';
    }
    this.#target = target;
    this.#log = log;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#retries = options.retries ?? 3;
    this.#backoffMs = options.backoffMs ?? 1_000;
  }

  /** Where notices go, as a log may show it. */
  get described(): string {
    return redactWebhook(this.#target.href);
  }

  /** Queues `notice`; never throws, never waits. */
  send(notice: AlertNotice): void {
    this.#queue = this.#queue.then(() => this.#deliver(notice));
  }

  /** Lets the queued notices go for at most `drainMs`, then abandons the rest. */
  async close(drainMs = this.#timeoutMs): Promise<void> {
    const drained = new AbortController();
    await Promise.race([this.#queue, sleep(drainMs, drained.signal)]);
    drained.abort();
    this.#closing.abort();
    await this.#queue;
  }

  async #deliver(notice: AlertNotice): Promise<void> {
    const body = JSON.stringify(notice);
    const fields = { alert: notice.alert, kind: notice.kind, webhook: this.described };
    for (let attempt = 0; ; attempt++) {
      if (this.#closing.signal.aborted) {
        this.#log.warn(fields, 'alert webhook not sent: stopping');
        return;
      }
      let problem: string;
      try {
        const response = await fetch(this.#target, {
          method: 'POST',
          headers: this.#headers,
          body,
          signal: AbortSignal.any([AbortSignal.timeout(this.#timeoutMs), this.#closing.signal]),
        });
        await response.body?.cancel();
        if (response.ok) {
          this.#log.info(fields, 'alert webhook sent');
          return;
        }
        problem = `HTTP ${response.status}`;
      } catch (error) {
        const e = error as Error & { cause?: { code?: string } };
        problem =
          e.name === 'TimeoutError' ? `no answer in ${this.#timeoutMs} ms` : (e.cause?.code ?? e.name);
      }
      if (this.#closing.signal.aborted) continue;
      if (attempt >= this.#retries) {
        this.#log.error({ ...fields, problem, attempts: attempt + 1 }, 'alert webhook failed; giving up');
        return;
      }
      this.#log.warn({ ...fields, problem }, 'alert webhook failed; trying again');
      await sleep(this.#backoffMs * 2 ** attempt, this.#closing.signal);
    }
  }
}

/** Only the origin (scheme, host, port): userinfo, path and query may all hold secrets. */
export function redactWebhook(url: string): string {
  try {
    return `${new URL(url).origin}/…`;
  } catch {
    return '(a malformed URL)';
  }
}
