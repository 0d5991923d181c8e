/**
 * Keeps the models fresh inside the process that loads the warehouse (`tributary run`, `load`).
 *
 * - One worker, on a DuckDB connection of its own: refreshes run one after another in rounds,
 *   each round in dependency order, so a model never overlaps itself and never holds the
 *   loader's connection. A refresh never blocks the loader: batches go on committing meanwhile.
 * - Triggers: at start every model (views created, tables built; a nightly table that exists
 *   already waits for its schedule); `streaming` table models after applied batches that touched
 *   a relation they read (directly or through other models); `microbatch <d>` every d after the
 *   previous refresh started; `nightly <cron>` on its schedule; `refresh(names)` on demand. A
 *   snapshot or backfill write counts as a change to every table (`snapshotWrote()`).
 *   Triggers coalesce: what arrives while a round runs waits for the one next round, so a burst
 *   of batches causes one refresh after it, not one per batch.
 * - At start, what models no longer in the project left in the models schema is dropped
 *   (`dropRemovedModels`: only relations Tributary built).
 * - A model whose relations or upstream models do not exist yet (a first run still copying)
 *   waits, and is tried again.
 * - A model that fails is recorded and logged; the models that read it are skipped for that
 *   round; the loader and the other models go on.
 * - After a successful refresh, the streaming tables that read the model refresh in the same round.
 * - Freshness: the data time each table model is current as of — its last refresh's, carried
 *   forward by applied batches that touched nothing it reads while no change awaits it.
 * - `stop()` ends the timers, interrupts a refresh in flight (rolled back, not recorded as a
 *   failure), and waits for the worker.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { Cron } from 'croner';
import { newestCommitMicros, type StreamItem } from '../core/change-event.js';
import type { Logger } from '../core/logger.js';
import { Db } from '../warehouse/duckdb/db.js';
import { duckSchemaOf } from '../warehouse/duckdb/tables.js';
import { dropRemovedModels, materialize, prepareModelConnection, recordSkipped } from './materialize.js';
import { downstreamOf, type Model, type ModelPlan } from './model-graph.js';
import { bootstrapModelRuns, type ModelRun, type Trigger } from './model-runs.js';

/** How soon models waiting for their relations are tried again. */
const WAITING_RETRY_MS = 2000;

export interface ModelRefresherOptions {
  readonly plan: ModelPlan;
  /** A new connection to the warehouse (the refresher keeps it, and closes it on stop). */
  readonly connect: () => Promise<DuckDBConnection>;
  readonly log: Logger;
  readonly now?: () => Date;
  /** Refresh only when asked (`refresh()`): no start round, no schedules (`tributary models run` on the file). */
  readonly onDemand?: boolean;
}

export class ModelRefresher {
  readonly #plan: ModelPlan;
  readonly #db: Db;
  readonly #log: Logger;
  readonly #now: () => Date;
  readonly #byName: Map<string, Model>;
  /** Models waiting for the next round, with what triggered them. */
  #pending = new Map<string, Trigger>();
  /** Models that waited for their relations: back into `#pending` when the retry timer fires. */
  #waiting = new Map<string, Trigger>();
  /** Whether a round is queued behind the worker's tail (at most one). */
  #queued = false;
  #tail: Promise<unknown> = Promise.resolve();
  #inFlight: string | null = null;
  #stopped = false;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #crons: Cron[] = [];
  /** Table models whose relations changed since their last refresh started. */
  readonly #dirty = new Set<string>();
  /** The data time each table model is known to be current as of. */
  readonly #current = new Map<string, Date>();
  readonly #failing = new Set<string>();

  private constructor(options: ModelRefresherOptions, db: Db) {
    this.#plan = options.plan;
    this.#db = db;
    this.#log = options.log;
    this.#now = options.now ?? (() => new Date());
    this.#byName = new Map(options.plan.models.map((m) => [m.name, m]));
  }

  static async start(options: ModelRefresherOptions): Promise<ModelRefresher> {
    const connection = await options.connect();
    const db = new Db(connection);
    try {
      await prepareModelConnection(db, options.plan.schema);
      await bootstrapModelRuns(db);
      const names = options.plan.models.map((m) => m.name);
      for (const model of await dropRemovedModels(db, options.plan.schema, names))
        options.log.info({ model }, 'model dropped: no longer in the project');
    } catch (error) {
      connection.closeSync();
      throw error;
    }
    const refresher = new ModelRefresher(options, db);
    if (!options.onDemand) await refresher.#schedule();
    return refresher;
  }

  get plan(): ModelPlan {
    return this.#plan;
  }

  async #schedule(): Promise<void> {
    const existing = new Set(
      (
        await this.#db.rows(
          'SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = $1',
          [this.#plan.schema],
        )
      ).map((r) => String(r[0])),
    );
    for (const model of this.#plan.models) {
      const refresh = model.header.refresh;
      const table = model.header.materialized === 'table';
      if (!(refresh.kind === 'nightly' && table && existing.has(model.name)))
        this.#pending.set(model.name, 'start');
      else this.#dirty.add(model.name);
      // a view reads the tables as they are: created at start, it has nothing to refresh
      if (!table) continue;
      if (refresh.kind === 'microbatch') this.#every(model.name, refresh.everyMs);
      if (refresh.kind === 'nightly') {
        this.#crons.push(
          new Cron(refresh.cron, { timezone: refresh.timezone, unref: true }, () =>
            this.#trigger([model.name], 'schedule'),
          ),
        );
      }
    }
    this.#kick();
  }

  #every(name: string, everyMs: number): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (this.#stopped) return;
      this.#trigger([name], 'schedule');
      this.#every(name, everyMs);
    }, everyMs);
    timer.unref();
    this.#timers.add(timer);
  }

  #trigger(names: Iterable<string>, trigger: Trigger): void {
    if (this.#stopped) return;
    for (const name of names) {
      // a model still waiting for its first refresh keeps its first trigger
      const waited = this.#waiting.get(name);
      this.#waiting.delete(name);
      if (!this.#pending.has(name)) this.#pending.set(name, waited ?? trigger);
    }
    this.#kick();
  }

  /** After a batch committed: refreshes the streaming tables it touched, carries the others' freshness. */
  applied(items: readonly StreamItem[]): void {
    const touched = touchedRelations(items);
    if (touched.size === 0) return;
    const dataTime = newestCommitTime(items);
    const streaming: string[] = [];
    for (const model of this.#plan.models) {
      if (model.header.materialized !== 'table') continue;
      if ([...model.upstream].some((r) => touched.has(r))) {
        this.#dirty.add(model.name);
        if (model.header.refresh.kind === 'streaming') streaming.push(model.name);
      } else if (dataTime && !this.#dirty.has(model.name) && this.#inFlight !== model.name) {
        const held = this.#current.get(model.name);
        if (held && held < dataTime) this.#current.set(model.name, dataTime);
      }
    }
    if (streaming.length > 0) this.#trigger(streaming, 'change');
  }

  /**
   * After a snapshot or backfill wrote rows (into which table is not said): every table model may
   * be stale; the streaming ones refresh (coalesced: one round after a run of writes).
   */
  snapshotWrote(): void {
    const streaming: string[] = [];
    for (const model of this.#plan.models) {
      if (model.header.materialized !== 'table') continue;
      this.#dirty.add(model.name);
      if (model.header.refresh.kind === 'streaming') streaming.push(model.name);
    }
    if (streaming.length > 0) this.#trigger(streaming, 'change');
  }

  /** Refreshes `names` (null: every model) now, in dependency order, after the round in flight. */
  refresh(names: readonly string[] | null, trigger: Trigger = 'manual'): Promise<ModelRun[]> {
    const wanted = new Map<string, Trigger>(
      (names ?? this.#plan.models.map((m) => m.name)).map((n) => [n, trigger]),
    );
    return this.#serial(() => this.#round(wanted, true));
  }

  /** The data time each table model is current as of, as this process knows it. */
  currentAsOf(): ReadonlyMap<string, Date> {
    return this.#current;
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(work);
    this.#tail = run.catch(() => {});
    return run;
  }

  #kick(): void {
    if (this.#queued || this.#stopped || this.#pending.size === 0) return;
    this.#queued = true;
    void this.#serial(async () => {
      this.#queued = false;
      const round = this.#pending;
      this.#pending = new Map();
      await this.#round(round, false);
    })
      .catch((error: unknown) => {
        if (!this.#stopped) this.#log.error({ err: (error as Error).message }, 'a models round failed');
      })
      .finally(() => this.#kick());
  }

  /** Refreshes the models of `round` in dependency order; `all`: also those still waiting for relations (they fail). */
  async #round(round: Map<string, Trigger>, all: boolean): Promise<ModelRun[]> {
    const runs: ModelRun[] = [];
    if (this.#stopped) return runs;
    const present = all ? null : await this.#presentRelations();
    const failed = new Map<string, string>();
    let waiting = false;
    for (const model of this.#plan.models) {
      const trigger = round.get(model.name);
      if (trigger === undefined) continue;
      if (this.#stopped) break;
      const broken = model.models.map((m) => failed.get(m)).find((m) => m !== undefined);
      if (broken !== undefined) {
        failed.set(model.name, broken);
        runs.push(await recordSkipped(this.#db, model, trigger, broken, this.#now));
        this.#log.warn({ model: model.name, upstream: broken }, 'model skipped: an upstream model failed');
        continue;
      }
      const missing = (key: string) => present !== null && !present.has(key.toLowerCase());
      if (
        model.relations.some((r) => missing(`${r.schema}.${r.name}`)) ||
        model.models.some((m) => missing(`${this.#plan.schema}.${m}`))
      ) {
        waiting = true;
        this.#waiting.set(model.name, trigger);
        continue;
      }
      const run = await this.#refreshOne(model, trigger);
      if (!run) break;
      runs.push(run);
      if (run.status === 'failed') {
        failed.set(model.name, model.name);
        continue;
      }
      present?.add(`${this.#plan.schema}.${model.name}`.toLowerCase());
      for (const name of downstreamOf(this.#plan, [model.name])) {
        const down = this.#byName.get(name) as Model;
        if (name === model.name || down.header.materialized !== 'table') continue;
        this.#dirty.add(name);
        if (down.header.refresh.kind === 'streaming' && !round.has(name)) round.set(name, 'change');
      }
    }
    if (waiting && !this.#stopped) {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        const waited = this.#waiting;
        this.#waiting = new Map();
        if (this.#stopped) return;
        for (const [name, trigger] of waited) if (!this.#pending.has(name)) this.#pending.set(name, trigger);
        this.#kick();
      }, WAITING_RETRY_MS);
      timer.unref();
      this.#timers.add(timer);
    }
    return runs;
  }

  async #refreshOne(model: Model, trigger: Trigger): Promise<ModelRun | null> {
    this.#inFlight = model.name;
    this.#dirty.delete(model.name);
    this.#log.debug({ model: model.name, trigger }, 'refreshing model');
    try {
      const run = await materialize(
        this.#db,
        this.#plan.schema,
        model,
        trigger,
        this.#now,
        () => !this.#stopped,
      );
      if (this.#stopped && run.status === 'failed') return null;
      if (run.status === 'ok') {
        if (run.dataTime && model.header.materialized === 'table')
          this.#current.set(model.name, run.dataTime);
        const took = run.finishedAt.getTime() - run.startedAt.getTime();
        this.#log.info(
          { model: model.name, trigger, rows: run.rows, ms: took },
          this.#failing.delete(model.name) ? 'model refreshed again' : 'model refreshed',
        );
      } else {
        this.#dirty.add(model.name);
        this.#failing.add(model.name);
        this.#log.error({ model: model.name, trigger, err: run.error }, 'model refresh failed');
      }
      return run;
    } finally {
      this.#inFlight = null;
    }
  }

  async #presentRelations(): Promise<Set<string>> {
    const rows = await this.#db.rows(
      'SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = current_database()',
    );
    return new Set(rows.map((r) => `${String(r[0])}.${String(r[1])}`.toLowerCase()));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const cron of this.#crons) cron.stop();
    if (this.#inFlight !== null) this.#db.connection.interrupt();
    await this.#tail;
    this.#db.connection.closeSync();
  }
}

/** The relations (`schema.name`, lower case, DuckDB schemas) the items changed. */
export function touchedRelations(items: readonly StreamItem[]): Set<string> {
  const out = new Set<string>();
  for (const item of items) {
    const table =
      item.kind === 'change' ? item.event.table : item.kind === 'schema' ? item.schema.table : null;
    if (table) out.add(`${duckSchemaOf(table)}.${table.name}`.toLowerCase());
  }
  return out;
}

function newestCommitTime(items: readonly StreamItem[]): Date | null {
  const newest = newestCommitMicros(items);
  return newest === null ? null : new Date(Number(newest / 1000n));
}
