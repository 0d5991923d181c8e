/**
 * The metrics layer's entry point: the definitions loaded and synced into the registry, and the
 * operations every front end serves (the CLI, the control endpoint of `tributary run`, the HTTP
 * API): list, show, log, validate and query. `query` takes a request object as a caller sent
 * it and returns the result, or throws a TributaryError: USAGE for a bad request (unknown
 * metric, version, dimension, grain, zone or date), CONFIG for a definition the warehouse
 * cannot serve (unknown model or column).
 *
 * It reaches the warehouse through a MetricsEngine (metrics-engine.ts): DuckDB through the
 * MetricsStore a DuckDBWarehouse gives (duckdb-engine.ts), ClickHouse through
 * clickhouse/clickhouse-engine.ts. The same definitions give the same answers on either.
 */
import { TributaryError } from '../core/errors.js';
import { MetricCatalog } from './catalog.js';
import { duckdbMetricsEngine, type MetricsStore } from './duckdb-engine.js';
import { type MetricSource, parseMetricFiles, type RawMetricFile } from './metric-files.js';
import type { MetricSpec } from './metric-spec.js';
import type { MetricsEngine } from './metrics-engine.js';
import { planMetric } from './plan.js';
import { checkQuery, parseRequest, shown } from './query-request.js';
import { planSync, type RegisteredVersion } from './registry.js';

export type { MetricsStore };

export interface MetricQueryResult {
  readonly metric: string;
  readonly version: number;
  readonly grain: string;
  readonly timezone: string;
  /** As the request gave them (local times in `timezone`; from inclusive, to exclusive). */
  readonly from: string;
  readonly to: string;
  /** period (ISO, the period's start in `timezone`), the dimensions, value, provisional. */
  readonly columns: readonly string[];
  readonly rows: readonly (readonly unknown[])[];
  /** Deprecations met (the CLI prints them on stderr). */
  readonly warnings: readonly string[];
}

export interface MetricDescription {
  readonly name: string;
  readonly version: number;
  readonly latest: number;
  readonly versions: readonly number[];
  readonly file: string | null;
  readonly definition: MetricSpec;
  readonly warnings: readonly string[];
}

export interface LoadOptions {
  /** Who registers a new version when its change: block does not say. */
  readonly user: string;
  readonly now?: Date;
}

/** A DuckDB warehouse's MetricsStore, or an engine of any warehouse. */
export type MetricsBackend = MetricsStore | MetricsEngine;

function engineOf(backend: MetricsBackend): MetricsEngine {
  return 'engine' in backend ? backend : duckdbMetricsEngine(backend);
}

export class Metrics {
  readonly #store: MetricsEngine;
  readonly #catalog: MetricCatalog;
  readonly #registered: readonly RegisteredVersion[];

  private constructor(
    store: MetricsEngine,
    catalog: MetricCatalog,
    registered: readonly RegisteredVersion[],
  ) {
    this.#store = store;
    this.#catalog = catalog;
    this.#registered = registered;
  }

  /**
   * Syncs validated definitions (metric-files.ts) into the registry (registry.ts: a changed
   * definition without a higher version is refused, CONFIG) and builds the catalog of every
   * version (references resolve, no cycle).
   */
  static async load(
    backend: MetricsBackend,
    sources: readonly MetricSource[],
    options: LoadOptions,
  ): Promise<Metrics> {
    const store = engineOf(backend);
    const now = options.now ?? new Date();
    let registered = await store.readRegistry();
    // the references are checked before anything is registered
    MetricCatalog.build(sources, registered);
    const fresh = planSync(sources, registered, options.user, now);
    if (fresh.length > 0) {
      // planned again where the write happens: another process may have registered meanwhile
      await store.register((current) => planSync(sources, current, options.user, now));
      registered = await store.readRegistry();
      // a version another process registered at the same moment with another definition wins
      // (the first registered); this file's definition is then refused like any changed one
      planSync(sources, registered, options.user, now);
    }
    return new Metrics(store, MetricCatalog.build(sources, registered), registered);
  }

  /** As `load`, from files as read (validated here: a CONFIG error names every file and key at fault). */
  static loadFiles(
    store: MetricsBackend,
    files: readonly RawMetricFile[],
    options: LoadOptions,
  ): Promise<Metrics> {
    return Metrics.load(store, parseMetricFiles(files), options);
  }

  list(): {
    name: string;
    version: number;
    type: string;
    description: string;
    owner: string;
    file: string | null;
  }[] {
    return this.#catalog.list().map((s) => ({
      name: s.name,
      version: s.version,
      type: s.type,
      description: s.description,
      owner: s.owner,
      file: this.#catalog.fileOf(s.name),
    }));
  }

  show(ref: string, now: Date = new Date()): MetricDescription {
    const resolved = this.#catalog.resolve(ref, now);
    return {
      name: resolved.spec.name,
      version: resolved.spec.version,
      latest: resolved.latest,
      versions: this.#catalog.versionsOf(resolved.spec.name),
      file: resolved.spec.version === resolved.latest ? this.#catalog.fileOf(resolved.spec.name) : null,
      definition: resolved.spec,
      warnings: resolved.warnings,
    };
  }

  /** The change log of a metric: every registered version, oldest first. */
  log(name: string): RegisteredVersion[] {
    const versions = this.#registered.filter((v) => v.name === name);
    if (versions.length === 0)
      throw new TributaryError('USAGE', `no metric named ${shown(name)}`, {
        hint: `known: ${
          this.#catalog
            .list()
            .map((s) => s.name)
            .join(', ') || '(none)'
        }`,
      });
    return versions;
  }

  /** Checks every current metric against the warehouse: its problems (none: valid). */
  async validate(now: Date = new Date()): Promise<string[]> {
    const problems: string[] = [];
    for (const spec of this.#catalog.list()) {
      try {
        await this.#store.read((session) => planMetric(session, this.#catalog, spec, spec.dimensions, now));
      } catch (error) {
        if (!(error instanceof TributaryError)) throw error;
        problems.push(error.message);
      }
    }
    return problems;
  }

  /** Answers a metric query (query-request.ts says what a request may hold). */
  async query(body: unknown, now: Date = new Date()): Promise<MetricQueryResult> {
    const request = parseRequest(body);
    const resolved = this.#catalog.resolve(request.metric, now);
    const spec = resolved.spec;
    const checked = checkQuery(request, spec);
    const tz = request.tz ?? spec.timezone;
    return this.#store.read(async (session) => {
      if (!(await session.knownZone(tz)))
        throw new TributaryError('USAGE', `unknown time zone ${shown(tz)}`, {
          hint: 'an IANA zone such as UTC, Europe/Berlin or America/Los_Angeles',
        });
      const plan = await planMetric(session, this.#catalog, spec, checked.dims, now);
      let rows: unknown[][];
      try {
        rows = await session.answer(plan, checked.grain, checked.dims, {
          tz,
          from: checked.from,
          to: checked.to,
          now,
        });
      } catch (error) {
        throw new TributaryError(
          'SINK',
          `the query of ${spec.name}@${spec.version} failed: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
      return {
        metric: spec.name,
        version: spec.version,
        grain: checked.grain,
        timezone: tz,
        from: request.from,
        to: request.to,
        columns: ['period', ...checked.dims, 'value', 'provisional'],
        rows,
        warnings: [...resolved.warnings, ...plan.warnings],
      };
    });
  }
}

/** A query's result as `--json` and the HTTP API give it: the rows as objects keyed by column. */
export function resultRecords(result: MetricQueryResult): Record<string, unknown> {
  const { columns, rows, ...head } = result;
  return { ...head, rows: rows.map((row) => Object.fromEntries(columns.map((c, i) => [c, row[i]]))) };
}
