/**
 * The metrics layer's entry point: the definitions loaded and synced into the registry, and the
 * operations every front end serves (the CLI, the control endpoint of `tributary run`, the HTTP
 * API): list, show, log, validate and query. `query` takes a request object as a caller sent
 * it and returns the result, or throws a TributaryError: USAGE for a bad request (unknown
 * metric, version, dimension, grain, zone or date), CONFIG for a definition the warehouse
 * cannot serve (unknown model or column).
 *
 * It reaches the warehouse through a MetricsStore: reads on a connection of their own, writes
 * (the registry sync) in one transaction through the writer.
 */
import type { DuckDBValue } from '@duckdb/node-api';
import { TributaryError } from '../core/errors.js';
import { quoteIdentifier as q } from '../core/table-ref.js';
import type { Db } from '../warehouse/duckdb/db.js';
import { MetricCatalog } from './catalog.js';
import { compileQuery } from './compile.js';
import { type MetricSource, parseMetricFiles, type RawMetricFile } from './metric-files.js';
import type { MetricSpec } from './metric-spec.js';
import { type Leaf, planMetric } from './plan.js';
import { checkQuery, parseRequest, shown } from './query-request.js';
import { planSync, type RegisteredVersion, readRegistry, recordVersions } from './registry.js';

/** How the metrics layer reaches the warehouse (DuckDBWarehouse implements it). */
export interface MetricsStore {
  /** Runs `work` on a connection of its own. */
  read<T>(work: (db: Db) => Promise<T>): Promise<T>;
  /** Runs `work` in one transaction on the writer (refused when the file is open read-only). */
  write<T>(work: (db: Db) => Promise<T>): Promise<T>;
}

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

export class Metrics {
  readonly #store: MetricsStore;
  readonly #catalog: MetricCatalog;
  readonly #registered: readonly RegisteredVersion[];

  private constructor(store: MetricsStore, catalog: MetricCatalog, registered: readonly RegisteredVersion[]) {
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
    store: MetricsStore,
    sources: readonly MetricSource[],
    options: LoadOptions,
  ): Promise<Metrics> {
    const now = options.now ?? new Date();
    let registered = await store.read((db) => readRegistry(db));
    // the references are checked before anything is registered
    MetricCatalog.build(sources, registered);
    const fresh = planSync(sources, registered, options.user, now);
    if (fresh.length > 0) {
      await store.write(async (db) => {
        // planned again inside the transaction: another process may have registered meanwhile
        const again = planSync(sources, await readRegistry(db), options.user, now);
        await recordVersions(db, again);
      });
      registered = await store.read((db) => readRegistry(db));
    }
    return new Metrics(store, MetricCatalog.build(sources, registered), registered);
  }

  /** As `load`, from files as read (validated here: a CONFIG error names every file and key at fault). */
  static loadFiles(
    store: MetricsStore,
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
        await this.#store.read((db) => planMetric(db, this.#catalog, spec, spec.dimensions, now));
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
    return this.#store.read(async (db) => {
      const known = await db.rows('SELECT count(*) FROM pg_timezone_names() WHERE name = $1', [tz]);
      if (Number(known[0]?.[0] ?? 0) === 0)
        throw new TributaryError('USAGE', `unknown time zone ${shown(tz)}`, {
          hint: 'an IANA zone such as UTC, Europe/Berlin or America/Los_Angeles',
        });
      const plan = await planMetric(db, this.#catalog, spec, checked.dims, now);
      const compiled = compileQuery(plan, checked.grain, checked.dims, {
        bucketUs: await bucketFor(db, plan.leaves, tz, checked.to),
      });
      const params: Record<string, DuckDBValue> = {
        tz,
        from: checked.from,
        to: checked.to,
        now: now.toISOString(),
      };
      let rows: unknown[][];
      try {
        const reader = await db.connection.runAndReadAll(compiled.sql, params);
        rows = reader.getRowsJson() as unknown[][];
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
        columns: compiled.columns,
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

const HOUR_US = 3_600_000_000;
const QUARTER_HOUR_US = 900_000_000;

/**
 * The bucket compile.ts may sum rows in before converting them into the zone: an hour when, over
 * the data of every leaf reading an instant, the zone is offset from UTC by whole hours; else a
 * quarter hour (every zone in use since 1980 is); null when `to` is not on such a boundary.
 * The offsets are probed a day apart from the oldest to the newest row (an offset holds for
 * months); the probe reads only each column's min and max.
 */
async function bucketFor(db: Db, leaves: readonly Leaf[], tz: string, to: string): Promise<number | null> {
  const instants = leaves.filter((l) => l.timeKind !== 'DATE');
  if (instants.length === 0) return null;
  let whole = true;
  let quarter = true;
  for (const leaf of instants) {
    const column =
      leaf.timeKind === 'TIMESTAMPTZ' ? q(leaf.timeColumn) : `timezone('UTC', ${q(leaf.timeColumn)})`;
    const probe = await db.rows(
      `WITH span AS (SELECT min(${column}) AS lo, max(${column}) AS hi FROM ${leaf.relation}),
            days AS (SELECT unnest(range(date_trunc('day', lo) - INTERVAL 1 DAY, hi + INTERVAL 2 DAY, INTERVAL 1 DAY)) AS t FROM span WHERE lo IS NOT NULL)
       SELECT coalesce(bool_and(o % 3600 = 0), true), coalesce(bool_and(o % 900 = 0), true)
         FROM (SELECT epoch(timezone($1, t)) - epoch(t) AS o FROM days)`,
      [tz],
    );
    whole &&= probe[0]?.[0] === true;
    quarter &&= probe[0]?.[1] === true;
  }
  if (whole && /:00:00$/.test(to)) return HOUR_US;
  if (quarter && /:(00|15|30|45):00$/.test(to)) return QUARTER_HOUR_US;
  return null;
}
