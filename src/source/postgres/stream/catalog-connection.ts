/**
 * The source's ordinary (non-replication) connection for catalog reads and heartbeats. It is
 * opened on first use and opened again after it breaks (a server restart ends it along with
 * the walsender), so a transient failure surfaces as CONNECTION_LOST and the source retries.
 */
import type pg from 'pg';
import { TributaryError } from '../../../core/errors.js';
import type { Logger } from '../../../core/logger.js';
import { withSessionSettings } from '../session-settings.js';
import { connectClient } from '../setup/connect.js';
import type { SourceConfig } from '../setup/connection-config.js';

export class CatalogConnection {
  readonly #config: SourceConfig;
  readonly #log: Logger;
  #client: Promise<pg.Client> | null = null;

  constructor(config: SourceConfig, log: Logger) {
    this.#config = config;
    this.#log = log;
  }

  async use<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    if (!this.#client) this.#client = this.#open();
    const pending = this.#client;
    let client: pg.Client;
    try {
      client = await pending;
    } catch (error) {
      this.#client = null;
      throw new TributaryError('CONNECTION_LOST', `catalog connection failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
    try {
      return await work(client);
    } catch (error) {
      if (isConnectionError(error)) {
        this.#drop(pending);
        throw new TributaryError('CONNECTION_LOST', `catalog connection lost: ${(error as Error).message}`, {
          cause: error,
        });
      }
      throw error;
    }
  }

  query<R extends pg.QueryResultRow>(text: string, values: readonly unknown[]): Promise<pg.QueryResult<R>> {
    return this.use((client) => client.query<R>(text, values as unknown[]));
  }

  async close(): Promise<void> {
    const pending = this.#client;
    this.#client = null;
    if (pending) await pending.then((c) => c.end()).catch(() => {});
  }

  async #open(): Promise<pg.Client> {
    // the session settings of the replication connection: values read here (missing values of
    // added columns) are decoded like the ones pgoutput sends
    const config = withSessionSettings(this.#config);
    const client = await connectClient(config, { applicationName: 'tributary-catalog' });
    const pending = this.#client;
    client.on('error', (error) => {
      this.#log.debug({ err: error.message }, 'catalog connection error');
      if (pending) this.#drop(pending);
    });
    return client;
  }

  #drop(pending: Promise<pg.Client>): void {
    if (this.#client === pending) this.#client = null;
    pending.then((c) => c.end()).catch(() => {});
  }
}

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? '';
  const message = error instanceof Error ? error.message : '';
  return (
    /^(08|57P)/.test(code) ||
    /ECONNRESET|EPIPE|ECONNREFUSED|Connection terminated|not queryable|closed/i.test(message)
  );
}
