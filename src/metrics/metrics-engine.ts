/**
 * The seam between the metrics layer and a warehouse engine: what `Metrics` (metrics.ts) needs
 * from DuckDB (duckdb-engine.ts) or ClickHouse (clickhouse/clickhouse-engine.ts), and nothing more.
 *
 * An engine keeps the registry (registry.ts's rules; `register` re-plans against the registry as
 * it stands where the write happens, so a version another process registered meanwhile is not
 * written twice) and opens reading sessions. A session checks a definition against the
 * warehouse (plan.ts: the relation, its columns and their kinds of time, the expressions) and
 * answers a planned query, compiled in the engine's own SQL dialect. Every value a caller gives
 * (zone, from, to, now) is bound as a parameter, never pasted into SQL.
 */
import type { Grain } from './grains.js';
import type { Leaf, Plan } from './plan.js';
import type { RegisteredVersion } from './registry.js';

/** The relation a metric reads, as an engine found it. */
export interface Relation {
  /** As a definition names it. */
  readonly model: string;
  /** Quoted for the engine's SQL. */
  readonly sql: string;
  /** Column name → the engine's type name. */
  readonly columns: ReadonlyMap<string, string>;
}

/** Why a trial statement over a definition's measure and filters does not prepare. */
export type PrepareProblem = { readonly unknownColumn: string } | { readonly message: string };

/** The checks plan.ts makes of a definition against the warehouse. */
export interface DefinitionChecks {
  /** The relation `model` names, or null when there is none. */
  findRelation(model: string): Promise<Relation | null>;
  /** What a model may name here, for the error when it names nothing. */
  readonly modelHint: string;
  /** What kind of time a column of this engine's type holds, or null when it is not a time. */
  timeKind(type: string): Leaf['timeKind'] | null;
  /** Whether `text` is one expression over the relation's columns and nothing else: a problem, or null. */
  expressionProblem(text: string): Promise<string | null>;
  /** Prepares (never runs) `sql`, a statement in portable SQL: a problem, or null. */
  prepareProblem(sql: string): Promise<PrepareProblem | null>;
}

/** What a query binds: local times in `tz` (from inclusive, to exclusive), `now` an instant. */
export interface QueryParams {
  readonly tz: string;
  /** `YYYY-MM-DD HH:MM:SS`, local. */
  readonly from: string;
  readonly to: string;
  readonly now: Date;
}

export interface MetricsSession extends DefinitionChecks {
  /** Whether the engine knows the IANA zone `tz`. */
  knownZone(tz: string): Promise<boolean>;
  /** Runs the planned query: rows of period, the dimensions, value, provisional (compile.ts's shape). */
  answer(plan: Plan, grain: Grain, dims: readonly string[], params: QueryParams): Promise<unknown[][]>;
}

export interface MetricsEngine {
  /** Names the engine in messages. */
  readonly engine: 'duckdb' | 'clickhouse';
  /** Every registered version, oldest first per metric ([] before the first sync). */
  readRegistry(): Promise<RegisteredVersion[]>;
  /** Records what `plan` makes of the registry as it stands where the write happens. */
  register(plan: (registered: readonly RegisteredVersion[]) => readonly RegisteredVersion[]): Promise<void>;
  /** Runs `work` on a reading session of its own. */
  read<T>(work: (session: MetricsSession) => Promise<T>): Promise<T>;
}
