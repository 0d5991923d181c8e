/**
 * Where a ClickHouse apply spends its time, seen from outside the warehouse: wraps a
 * `@clickhouse/client` instance's `insert`, `query` and `command` so each call's wall time (call
 * to settled promise) is summed by kind and by the first words of its SQL. What a batch's apply
 * took beyond these calls is the warehouse's own JavaScript (fold, plan, encode) and waiting.
 * For the bench only (the warehouse's source is not touched); `restore()` puts the methods back.
 */
import type { ClickHouseClient } from '@clickhouse/client';

interface Tally {
  calls: number;
  ms: number;
}

export class ClientTiming {
  readonly #tallies = new Map<string, Tally>();
  readonly #restore: (() => void)[] = [];

  constructor(client: ClickHouseClient) {
    for (const method of ['insert', 'query', 'command'] as const) {
      const original = client[method] as (params: Record<string, unknown>) => Promise<unknown>;
      const bound = original.bind(client);
      const wrapped = async (params: Record<string, unknown>) => {
        const start = performance.now();
        try {
          return await bound(params);
        } finally {
          this.#add(ClientTiming.#label(method, params), performance.now() - start);
        }
      };
      (client as unknown as Record<string, unknown>)[method] = wrapped;
      this.#restore.push(() => {
        (client as unknown as Record<string, unknown>)[method] = original;
      });
    }
  }

  static #label(method: string, params: Record<string, unknown>): string {
    if (method === 'insert') {
      const values = params.values;
      const table = String(params.table ?? '?').replace(/^.*\./, '');
      return `insert ${table}${Array.isArray(values) ? '' : ' (stream)'}`;
    }
    const sql = String(params.query ?? '').trim();
    return `${method} ${sql.split(/\s+/).slice(0, 4).join(' ').slice(0, 60)}`;
  }

  #add(label: string, ms: number): void {
    const tally = this.#tallies.get(label) ?? { calls: 0, ms: 0 };
    tally.calls++;
    tally.ms += ms;
    this.#tallies.set(label, tally);
  }

  /** Milliseconds in all calls. */
  get totalMs(): number {
    let total = 0;
    for (const t of this.#tallies.values()) total += t.ms;
    return total;
  }

  /** One line per call kind, the costliest first. */
  lines(): string[] {
    return [...this.#tallies]
      .sort((a, b) => b[1].ms - a[1].ms)
      .map(
        ([label, t]) =>
          `${(t.ms / 1000).toFixed(2).padStart(7)} s  ${String(t.calls).padStart(5)} calls  ${label}`,
      );
  }

  restore(): void {
    for (const r of this.#restore) r();
  }
}
