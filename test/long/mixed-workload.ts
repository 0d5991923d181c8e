/**
 * A mixed, concurrent write load for the long soak tests. Several writer connections commit
 * small transactions on four tables, and one bulk writer commits large ones; all of them keep
 * going through server restarts and terminated sessions (they reconnect), and they do not keep
 * a log: the soak test compares the end state of the tables with what the stream rebuilds.
 *
 * The tables, each with a reason to exist:
 * - `soak_full`: REPLICA IDENTITY FULL (every update and delete carries the whole old row),
 *   with a `blob` that is sometimes TOASTed and updated without being touched;
 * - `soak_toast`: a large TOASTed text column (`big`, incompressible, ~10 kB) that most updates
 *   leave alone, so pgoutput sends it as "unchanged";
 * - `soak_comp`: a composite primary key, with key updates of one row and of many at once;
 * - `soak_plain`: the target of the large transactions (20k–100k rows, streamed by the server
 *   in progress because the harness sets logical_decoding_work_mem=64kB) and of truncates.
 *
 * Small transactions touch 1–3 tables, sometimes roll back a savepoint, sometimes abort as a
 * whole. Large ones insert, update or delete tens of thousands of rows, sometimes with a
 * savepoint rolled back in the middle, sometimes aborted, sometimes after a TRUNCATE in the
 * same transaction. Row choices are random (`ORDER BY random()` over a writer's own slice), so
 * writers rarely wait on each other; when they do deadlock, Postgres aborts one and it goes on.
 *
 * Keys never collide: every new key value comes from the writer's own range. In `soak_comp`,
 * `b` is unique across the table in absolute value, and a writer flips the sign of all `b` in
 * its slice at once (a many-row key update that can never hit a duplicate).
 */
import type pg from 'pg';
import type { PostgresCluster } from '../harness/postgres.js';
import { xorshift } from '../helpers/random.js';

export const SOAK_TABLES = {
  'public.soak_full': ['id'],
  'public.soak_toast': ['id'],
  'public.soak_comp': ['a', 'b'],
  'public.soak_plain': ['id'],
} as const satisfies Record<string, readonly string[]>;

export const SOAK_DDL = [
  `CREATE TABLE soak_full (id bigint PRIMARY KEY, n integer NOT NULL, doc jsonb, blob text)`,
  `ALTER TABLE soak_full REPLICA IDENTITY FULL`,
  `CREATE TABLE soak_toast (id bigint PRIMARY KEY, n integer NOT NULL, big text NOT NULL, note text)`,
  `CREATE TABLE soak_comp (a integer NOT NULL, b bigint NOT NULL, val text, amount numeric(14,3),
     PRIMARY KEY (a, b))`,
  `CREATE TABLE soak_plain (id bigint PRIMARY KEY, n integer NOT NULL, note text)`,
];

/** ~`kb` kB of hex text: md5 output compresses badly, so it goes out of line into TOAST. */
const bigText = (kb: number) =>
  `(SELECT string_agg(md5(random()::text || g), '') FROM generate_series(1, ${Math.max(1, Math.round(kb * 32))}) g)`;

export interface WorkloadStats {
  committed: number;
  rolledBack: number;
  bulkCommitted: number;
  bulkRows: number;
  truncates: number;
  errors: Map<string, number>;
}

export interface WorkloadOptions {
  readonly writers: number;
  readonly seed: number;
  readonly signal: AbortSignal;
  /** Pause between small transactions, per writer (ms, upper bound of a random pause). */
  readonly pauseMs?: number;
  /** Pause between large transactions (ms, range). */
  readonly bulkPauseMs?: readonly [number, number];
}

/** Errors a writer expects while the server restarts or a session is terminated, or a deadlock. */
export const EXPECTED_WRITER_ERRORS =
  /terminat|shut(?:ting)? ?down|starting up|not yet accepting|recovery|connect|ECONNRESET|ECONNREFUSED|EPIPE|ENOENT|not queryable|deadlock|Client has encountered|closed|socket/i;

/** Uniform in [0, 1), from xorshift32. */
function prng(seed: number): () => number {
  const next = xorshift(seed);
  return () => next() / 0x1_0000_0000;
}

/** Waits `ms`, or less when `signal` aborts first. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

class Writer {
  readonly #cluster: PostgresCluster;
  readonly #stats: WorkloadStats;
  readonly #signal: AbortSignal;
  #client: pg.Client | null = null;

  constructor(cluster: PostgresCluster, stats: WorkloadStats, signal: AbortSignal) {
    this.#cluster = cluster;
    this.#stats = stats;
    this.#signal = signal;
  }

  /** A connected client, reconnecting (with a pause) until the server answers or the run stops. */
  async client(): Promise<pg.Client | null> {
    while (!this.#client && !this.#signal.aborted) {
      try {
        const client = await this.#cluster.connect();
        client.on('error', () => {
          // the failing query reports it; the next transaction reconnects
        });
        this.#client = client;
      } catch (error) {
        this.#count(error);
        await sleep(200);
      }
    }
    return this.#client;
  }

  /** Runs one transaction; an error rolls it back (or drops a broken connection). */
  async transaction(work: (client: pg.Client) => Promise<'commit' | 'rollback'>): Promise<boolean> {
    const client = await this.client();
    if (!client) return false;
    try {
      await client.query('BEGIN');
      const outcome = await work(client);
      await client.query(outcome === 'commit' ? 'COMMIT' : 'ROLLBACK');
      if (outcome === 'rollback') this.#stats.rolledBack++;
      return outcome === 'commit';
    } catch (error) {
      this.#count(error);
      try {
        await client.query('ROLLBACK');
      } catch {
        this.#client = null;
        await client.end().catch(() => {});
        await sleep(100);
      }
      return false;
    }
  }

  async close(): Promise<void> {
    await this.#client?.end().catch(() => {});
    this.#client = null;
  }

  #count(error: unknown): void {
    const message = (error instanceof Error ? error.message : String(error)).replace(/\d+/g, 'N');
    this.#stats.errors.set(message, (this.#stats.errors.get(message) ?? 0) + 1);
  }
}

/** Runs the small writers and the bulk writer until `signal` aborts; resolves when all stopped. */
export async function runMixedWorkload(
  cluster: PostgresCluster,
  options: WorkloadOptions,
): Promise<WorkloadStats> {
  const stats: WorkloadStats = {
    committed: 0,
    rolledBack: 0,
    bulkCommitted: 0,
    bulkRows: 0,
    truncates: 0,
    errors: new Map(),
  };
  const small = Array.from({ length: options.writers }, (_, w) =>
    smallWriter(cluster, stats, options, w + 1),
  );
  await Promise.all([...small, bulkWriter(cluster, stats, options)]);
  return stats;
}

async function smallWriter(
  cluster: PostgresCluster,
  stats: WorkloadStats,
  options: WorkloadOptions,
  w: number,
): Promise<void> {
  const random = prng(options.seed * 7919 + w);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const writer = new Writer(cluster, stats, options.signal);
  // this writer's key ranges: ids w·10^12 + k; comp rows live in slice a = w (until moved)
  let next = w * 1_000_000_000_000;
  const fresh = () => ++next;
  const lo = w * 1_000_000_000_000;
  const hi = lo + 999_999_999_999;

  const steps: Record<string, (c: pg.Client) => Promise<unknown>> = {
    fullInsert: (c) =>
      c.query(
        `INSERT INTO soak_full (id, n, doc, blob) VALUES ($1, $2, $3, ${random() < 0.3 ? bigText(4) : "'small'"})`,
        [fresh(), Math.floor(random() * 1000), JSON.stringify({ w, r: random(), tags: ['a', 'b'] })],
      ),
    fullUpdate: (c) =>
      c.query(
        `UPDATE soak_full SET n = n + 1, doc = jsonb_set(coalesce(doc, '{}'), '{r}', to_jsonb($3::float8))
         WHERE id IN (SELECT id FROM soak_full WHERE id BETWEEN $1 AND $2 ORDER BY random() LIMIT 2)`,
        [lo, hi, random()],
      ),
    fullDelete: (c) =>
      c.query(
        'DELETE FROM soak_full WHERE id IN (SELECT id FROM soak_full WHERE id BETWEEN $1 AND $2 ORDER BY random() LIMIT 1)',
        [lo, hi],
      ),
    toastInsert: (c) =>
      c.query(`INSERT INTO soak_toast (id, n, big, note) VALUES ($1, 0, ${bigText(10)}, $2)`, [
        fresh(),
        `writer ${w}`,
      ]),
    toastUpdateKeepBig: (c) =>
      c.query(
        `UPDATE soak_toast SET n = n + 1, note = $3
         WHERE id IN (SELECT id FROM soak_toast WHERE id BETWEEN $1 AND $2 ORDER BY random() LIMIT 3)`,
        [lo, hi, `touched ${random().toFixed(6)}`],
      ),
    toastUpdateBig: (c) =>
      c.query(
        `UPDATE soak_toast SET big = ${bigText(10)}
         WHERE id IN (SELECT id FROM soak_toast WHERE id BETWEEN $1 AND $2 ORDER BY random() LIMIT 1)`,
        [lo, hi],
      ),
    toastDelete: (c) =>
      c.query(
        'DELETE FROM soak_toast WHERE id IN (SELECT id FROM soak_toast WHERE id BETWEEN $1 AND $2 ORDER BY random() LIMIT 1)',
        [lo, hi],
      ),
    compInsert: (c) =>
      c.query('INSERT INTO soak_comp (a, b, val, amount) VALUES ($1, $2, $3, $4)', [
        w,
        fresh(),
        `v${random().toFixed(4)}`,
        (random() * 100_000).toFixed(3),
      ]),
    compUpdateValue: (c) =>
      c.query(
        `UPDATE soak_comp SET val = $2, amount = amount + 1.5
         WHERE (a, b) IN (SELECT a, b FROM soak_comp WHERE a = $1 ORDER BY random() LIMIT 2)`,
        [w, `u${random().toFixed(4)}`],
      ),
    compUpdateKey: (c) =>
      // moves one row to a new b, and half the time into another writer's slice
      c.query(
        `UPDATE soak_comp SET b = $2, a = CASE WHEN random() < 0.5 THEN a ELSE $3 END
         WHERE (a, b) IN (SELECT a, b FROM soak_comp WHERE a = $1 ORDER BY random() LIMIT 1)`,
        [w, fresh(), 1 + Math.floor(random() * options.writers)],
      ),
    compFlipKeys: (c) => c.query('UPDATE soak_comp SET b = -b WHERE a = $1', [w]),
    compDelete: (c) =>
      c.query(
        'DELETE FROM soak_comp WHERE (a, b) IN (SELECT a, b FROM soak_comp WHERE a = $1 ORDER BY random() LIMIT 1)',
        [w],
      ),
  };
  const weighted: string[] = [
    ...Array<string>(4).fill('fullInsert'),
    ...Array<string>(4).fill('fullUpdate'),
    ...Array<string>(2).fill('fullDelete'),
    ...Array<string>(3).fill('toastInsert'),
    ...Array<string>(5).fill('toastUpdateKeepBig'),
    'toastUpdateBig',
    'toastDelete',
    ...Array<string>(4).fill('compInsert'),
    ...Array<string>(3).fill('compUpdateValue'),
    ...Array<string>(2).fill('compUpdateKey'),
    'compFlipKeys',
    ...Array<string>(2).fill('compDelete'),
  ];

  try {
    while (!options.signal.aborted) {
      const kind = random();
      const steps1 = 1 + Math.floor(random() * 4);
      const committed = await writer.transaction(async (c) => {
        if (kind < 0.0003) {
          // a rare multi-table truncate, together with fresh rows in the same transaction
          await c.query('TRUNCATE soak_full, soak_comp');
          stats.truncates++;
          await steps.fullInsert!(c);
          await steps.compInsert!(c);
          return 'commit';
        }
        for (let i = 0; i < steps1; i++) await steps[pick(weighted)]!(c);
        if (kind < 0.15) {
          // a savepoint whose work is rolled back, then more work that stays
          await c.query('SAVEPOINT s1');
          for (let i = 0; i < 2; i++) await steps[pick(weighted)]!(c);
          await c.query('ROLLBACK TO SAVEPOINT s1');
          await steps[pick(weighted)]!(c);
        }
        return kind > 0.95 ? 'rollback' : 'commit';
      });
      if (committed) stats.committed++;
      await sleep(random() * (options.pauseMs ?? 20), options.signal);
    }
  } finally {
    await writer.close();
  }
}

async function bulkWriter(
  cluster: PostgresCluster,
  stats: WorkloadStats,
  options: WorkloadOptions,
): Promise<void> {
  const random = prng(options.seed * 104_729);
  const writer = new Writer(cluster, stats, options.signal);
  const [minPause, maxPause] = options.bulkPauseMs ?? [5_000, 15_000];
  let next = 900_000_000_000_000;
  /** Ranges this writer inserted (and may since have lost to a truncate): [first, last]. */
  const ranges: [number, number][] = [];
  const someRange = () => ranges[Math.floor(random() * ranges.length)];
  const insert = async (c: pg.Client, rows: number) => {
    const first = next + 1;
    next += rows;
    await c.query(
      `INSERT INTO soak_plain (id, n, note)
       SELECT $1::bigint + g, g, CASE WHEN g % 10 = 0 THEN NULL ELSE md5(g::text) END
       FROM generate_series(0, $2::int - 1) g`,
      [first, rows],
    );
    return [first, first + rows - 1] as [number, number];
  };

  try {
    await sleep(minPause / 2, options.signal);
    while (!options.signal.aborted) {
      const rows = 20_000 + Math.floor(random() * 80_001);
      const kind = random();
      let inserted: [number, number] | null = null;
      let truncated = false;
      const committed = await writer.transaction(async (c) => {
        const range = someRange();
        if (kind < 0.4 || !range) {
          inserted = await insert(c, rows);
        } else if (kind < 0.55) {
          await c.query(
            `UPDATE soak_plain SET n = n + 1, note = 'bulk ' || n WHERE id BETWEEN $1 AND $2`,
            range,
          );
        } else if (kind < 0.65) {
          await c.query('DELETE FROM soak_plain WHERE id BETWEEN $1 AND $2 AND id % 3 = 0', range);
        } else if (kind < 0.75) {
          // a savepoint rolled back in the middle of a large transaction
          inserted = await insert(c, Math.floor(rows / 2));
          await c.query('SAVEPOINT half');
          await insert(c, Math.floor(rows / 2));
          await c.query(`UPDATE soak_plain SET note = 'never' WHERE id BETWEEN $1 AND $2`, range);
          await c.query('ROLLBACK TO SAVEPOINT half');
          await c.query(`UPDATE soak_plain SET n = -n WHERE id BETWEEN $1 AND $1 + 999`, [inserted[0]]);
        } else if (kind < 0.85) {
          // a large transaction that aborts: none of it may reach the stream
          await insert(c, rows);
          await c.query(`UPDATE soak_plain SET note = 'aborted' WHERE id BETWEEN $1 AND $2`, range);
          return 'rollback';
        } else {
          // truncate and refill in one transaction
          await c.query('TRUNCATE soak_plain');
          truncated = true;
          inserted = await insert(c, rows);
        }
        return 'commit';
      });
      if (committed) {
        stats.bulkCommitted++;
        stats.bulkRows += rows;
        if (truncated) {
          stats.truncates++;
          ranges.length = 0;
        }
        if (inserted) ranges.push(inserted);
      }
      await sleep(minPause + random() * (maxPause - minPause), options.signal);
    }
  } finally {
    await writer.close();
  }
}
