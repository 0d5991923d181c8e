/**
 * The ClickHouse side of snapshots and backfills (the rule is in ../snapshot.ts). Versions do
 * most of the work the DuckDB side does with marks: a row read at snapshot LSN `C` is stored
 * with version `C << 64` (layout.ts), below every change the stream applies at or after `C` —
 * an upsert, a key move's tombstone, a delete's tombstone — so ReplacingMergeTree keeps the
 * newer change whatever order the two were inserted in (rule 2 without marks), and a truncate
 * at ≥ `C` hides the copy by the table's truncation watermark (rule 3). Rule 1 (rows applied
 * only once the stream passed `C`) is the runner's.
 *
 * What versions cannot settle is an update that left TOASTed columns unsent for a row the
 * warehouse does not hold yet (its snapshot copy is still to come): the stream writes the row
 * with placeholders (NULL) for those columns and *parks* the key (`_tributary_parks`, by table and
 * key, versioned like rows) naming them `unknown`. Later changes of the key keep the park up to
 * date (merge.ts): a partial update carried forward narrows `unknown` to what it left unsent
 * too, a full row or a delete resolves it. A snapshot copy of a parked key — a chunk's, or the
 * runner's re-read of parked keys at a later snapshot `C2` — then settles it (`#settleParks`):
 * when the copy outranks the stored row, nothing is left to do; when the stream's row is newer
 * (the runner applies a copy only once the stream has passed `C2`, so a later partial update can
 * land first), the stored row is *repaired*: written again with the copy's values in place of
 * the placeholders, at `repairVersion` (layout.ts). That is exact because a column still unknown
 * was not sent since the key was parked — any change to it would have been sent — and nothing
 * changed the row between an earlier snapshot and the parking (the warehouse did not hold it, so
 * a change would have parked it earlier or written it whole): the copy's value is the current
 * one. One round settles a key however often it is updated. Until then the placeholders show as
 * NULL — the job is still running, and `status` says so.
 *
 * A fresh table's chunks in a first run (the stream not started, the table empty, no park open)
 * come as Postgres' CSV files that ClickHouse reads itself (`applySnapshotFile`, snapshot-csv.ts):
 * the same rows at the same version as the row path would write, in one insert per chunk.
 *
 * Job and chunk state are ReplacingMergeTree tables updated by inserting the whole new row
 * with a higher `revision` and read with FINAL (one writer: the pipeline serialises warehouse
 * writes). Nothing here is one transaction with the rows: a crash between a chunk's rows and its
 * `done` reads the chunk again at a later snapshot, whose copy outranks the first by version.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Row, TableSchema } from '../../core/change-event.js';
import { TributaryError } from '../../core/errors.js';
import type { Lsn } from '../../core/lsn.js';
import { displayName, type TableRef } from '../../core/table-ref.js';
import type { Value } from '../../core/values.js';
import type {
  ChunkPlan,
  JobState,
  NewJob,
  SnapshotAttempt,
  SnapshotFile,
  SnapshotFileResult,
  SnapshotJob,
  SnapshotRows,
  SnapshotStore,
} from '../snapshot.js';
import { quoteName } from './connect.js';
import { repairVersion, snapshotVersion, stateTable, storageName } from './layout.js';
import type { ParkState, ParkUpdate } from './merge.js';
import type { CsvChunk } from './snapshot-csv.js';
import { pickKey } from './storage-rows.js';
import { type ClickHouseColumnType, clickhouseType, type TypeLookup, UnfitValue } from './type-mapping.js';

const JOBS = quoteName(stateTable('snapshot_jobs'));
const CHUNKS = quoteName(stateTable('snapshot_chunks'));
const PARKS = quoteName(stateTable('parks'));
const ACTIVE: readonly JobState[] = ['pending', 'running'];

/** What the snapshot store needs of the warehouse that owns it. */
export interface SnapshotTarget {
  readonly client: ClickHouseClient;
  readonly typeInfo?: TypeLookup;
  /**
   * Creates the table (storage and view) or evolves it to `schema`, the shape read at
   * `snapshotLsn` — unless the stream already brought a shape from that LSN on (never back to an
   * older shape).
   */
  ensureTable(schema: TableSchema, snapshotLsn?: Lsn): Promise<void>;
  /** Inserts `rows` (in `schema`'s shape) into the table's storage with `version`; `token` makes a repeat a no-op. */
  insertVersioned(schema: TableSchema, rows: readonly Row[], version: string, token: string): Promise<void>;
  /** Whether the table, as held, takes `schema`'s chunks as CSV files (snapshot-csv.ts). */
  readsCsv(schema: TableSchema): boolean;
  /** Loads a chunk's CSV file (snapshot-csv.ts); a `SINK` error, nothing written, when it cannot exactly. */
  loadCsv(schema: TableSchema, chunk: CsvChunk): Promise<void>;
  /**
   * Fills the placeholders of parked keys' stored rows from their copies read at `c` (a repair
   * where the stored row is newer than the copy). For each fill, the placeholders left (columns
   * the copy's shape lacks), or null when the key is settled.
   */
  fillParks(schema: TableSchema, fills: readonly ParkFill[], c: Lsn): Promise<(readonly string[] | null)[]>;
}

/** A parked key, its open park and its copy read at a snapshot (null: the source had no such row). */
export interface ParkFill {
  readonly key: Row;
  readonly copy: Row | null;
  readonly park: ParkState;
}

interface JobRow {
  id: string;
  table_schema: string;
  table_name: string;
  predicate: string | null;
  reason: string;
  keyless: boolean;
  state: JobState;
  requested_at: string;
  started_at: string | null;
  finished_at: string | null;
  rows_done: string;
  rows_estimated: string | null;
  attempt: number;
  snapshot_lsn: string | null;
  truncated_lsn: string | null;
  error: string | null;
  revision: string;
}

interface ChunkRow {
  job_id: string;
  chunk: number;
  from_page: string;
  to_page: string | null;
  done: boolean;
  rows: string;
  snapshot_lsn: string | null;
  revision: string;
}

export async function bootstrapSnapshots(client: ClickHouseClient): Promise<void> {
  const time = "DateTime64(6, 'UTC')";
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${JOBS} (id String, table_schema String, table_name String,
      predicate Nullable(String), reason String, keyless Bool, state String, requested_at ${time},
      started_at Nullable(${time}), finished_at Nullable(${time}), rows_done UInt64, rows_estimated Nullable(UInt64),
      attempt UInt32, snapshot_lsn Nullable(UInt64), truncated_lsn Nullable(UInt64), error Nullable(String),
      revision UInt64) ENGINE = ReplacingMergeTree(revision) ORDER BY id`,
  });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${CHUNKS} (job_id String, chunk UInt32, from_page UInt64,
      to_page Nullable(UInt64), done Bool, rows UInt64, snapshot_lsn Nullable(UInt64), revision UInt64)
      ENGINE = ReplacingMergeTree(revision) ORDER BY (job_id, chunk)`,
  });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${PARKS} (table_schema String, table_name String, key String,
      version UInt128, resolved Bool, unknown Array(String)) ENGINE = ReplacingMergeTree(version)
      ORDER BY (table_schema, table_name, key)`,
  });
  await client.command({ query: `ALTER TABLE ${PARKS} ADD COLUMN IF NOT EXISTS unknown Array(String)` });
}

export class ClickHouseSnapshots implements SnapshotStore {
  readonly #t: SnapshotTarget;

  constructor(target: SnapshotTarget) {
    this.#t = target;
  }

  async snapshotJobs(): Promise<SnapshotJob[]> {
    return (await this.#jobRows(null)).map(toJob);
  }

  async createSnapshotJob(job: NewJob): Promise<SnapshotJob> {
    const id = randomUUID().slice(0, 8);
    await this.#writeJob({
      id,
      table_schema: job.table.schema,
      table_name: job.table.name,
      predicate: job.predicate,
      reason: job.reason,
      keyless: job.keyless,
      state: 'pending',
      requested_at: nowText(),
      started_at: null,
      finished_at: null,
      rows_done: '0',
      rows_estimated: null,
      attempt: 0,
      snapshot_lsn: null,
      truncated_lsn: null,
      error: null,
      revision: '0',
    });
    return this.#job(id).then(toJob);
  }

  async startSnapshotAttempt(
    jobId: string,
    snapshotLsn: Lsn,
    schema: TableSchema,
    plan: readonly ChunkPlan[],
    rowsEstimated: number | null,
    options: { readonly startOver?: boolean; readonly files?: boolean } = {},
  ): Promise<SnapshotAttempt> {
    const job = await this.#job(jobId);
    const startOver = options.startOver === true;
    await this.#t.ensureTable(schema, snapshotLsn);
    let chunks = await this.#chunkRows(jobId);
    if (chunks.length === 0) {
      chunks = plan.map((c) => ({
        job_id: jobId,
        chunk: c.chunk,
        from_page: String(c.fromPage),
        to_page: c.toPage === null ? null : String(c.toPage),
        done: false,
        rows: '0',
        snapshot_lsn: null,
        revision: '0',
      }));
      await this.#writeChunks(chunks);
    }
    if (job.keyless || startOver) {
      // only a whole copy at one snapshot is exact for a multiset, and a first run begun again
      // copies at a new snapshot: what an earlier attempt wrote goes (nothing else was applied)
      await this.#t.client.command({
        query: `TRUNCATE TABLE IF EXISTS ${quoteName(storageName(schema.table))}`,
      });
      chunks = chunks.map((c) => ({ ...c, done: false, rows: '0', snapshot_lsn: null }));
      await this.#writeChunks(chunks);
    }
    // chunks as CSV files only into a fresh table (the contract of ../snapshot.ts) whose every
    // column is read from CSV exactly, with no park open (a park is settled by the row path)
    const files =
      options.files === true &&
      this.#t.readsCsv(schema) &&
      !(await this.#holdsRows(schema.table)) &&
      !(await this.#hasOpenParks(schema.table));
    await this.#writeJob({
      ...job,
      state: 'running',
      attempt: job.attempt + 1,
      snapshot_lsn: snapshotLsn.toString(),
      started_at: job.started_at ?? nowText(),
      rows_estimated:
        rowsEstimated === null ? job.rows_estimated : String(Math.max(0, Math.round(rowsEstimated))),
      rows_done: job.keyless || startOver ? '0' : job.rows_done,
      keyless: job.keyless,
    });
    return {
      chunks: chunks.map((c) => ({
        chunk: c.chunk,
        fromPage: Number(c.from_page),
        toPage: c.to_page === null ? null : Number(c.to_page),
        done: c.done,
        rows: Number(c.rows),
        snapshotLsn: c.snapshot_lsn === null ? null : BigInt(c.snapshot_lsn),
      })),
      files,
    };
  }

  /**
   * A fresh table's chunk from Postgres' CSV file (snapshot-csv.ts), then the chunk's and the
   * job's bookkeeping as `applySnapshotRows` does. Throws a `SINK` error, having written nothing,
   * when the file cannot be loaded exactly (the runner then reads the chunk as rows) — also when
   * the table has an open park, which only the row path settles.
   */
  async applySnapshotFile(file: SnapshotFile): Promise<SnapshotFileResult> {
    const job = await this.#job(file.job);
    const c = file.snapshotLsn;
    if (!job.keyless && (await this.#hasOpenParks(file.schema.table)))
      throw new TributaryError(
        'SINK',
        `${displayName(file.schema.table)} has open parks: its chunks go as rows`,
      );
    const discarded = job.truncated_lsn !== null && BigInt(job.truncated_lsn) >= c;
    if (file.rows > 0 && !discarded) {
      await this.#t.loadCsv(file.schema, {
        path: file.path,
        rows: file.rows,
        version: snapshotVersion(c),
        token: `snapshot-file:${file.job}:${file.chunk}:${c}`,
      });
    }
    const chunk = (await this.#chunkRows(file.job)).find((ch) => ch.chunk === file.chunk);
    if (chunk) {
      await this.#writeChunks([
        { ...chunk, rows: String(Number(chunk.rows) + file.rows), done: true, snapshot_lsn: c.toString() },
      ]);
    }
    if (file.rows > 0) await this.#writeJob({ ...job, rows_done: String(Number(job.rows_done) + file.rows) });
    return { rows: file.rows, converted: discarded ? 0 : file.rows };
  }

  async applySnapshotRows(rows: SnapshotRows): Promise<number> {
    const job = await this.#job(rows.job);
    const c = rows.snapshotLsn;
    const discarded = job.truncated_lsn !== null && BigInt(job.truncated_lsn) >= c;
    let written = 0;
    if (rows.rows.length > 0 && !discarded) {
      const token = `snapshot:${rows.job}:${rows.chunk ?? 'reread'}:${c}:${digest(rows)}`;
      await this.#t.insertVersioned(rows.schema, rows.rows, snapshotVersion(c), token);
      written = rows.rows.length;
    }
    if (!job.keyless) await this.#settleParks(rows.schema, discarded ? [] : rows.rows, rows.reread ?? [], c);
    if (rows.chunk !== null) {
      const chunk = (await this.#chunkRows(rows.job)).find((ch) => ch.chunk === rows.chunk);
      if (chunk) {
        await this.#writeChunks([
          {
            ...chunk,
            rows: String(Number(chunk.rows) + rows.rows.length),
            done: rows.last,
            snapshot_lsn: c.toString(),
          },
        ]);
      }
    }
    if (rows.rows.length > 0) {
      await this.#writeJob({ ...job, rows_done: String(Number(job.rows_done) + rows.rows.length) });
    }
    return written;
  }

  async parkedKeys(jobId: string, limit: number): Promise<Row[]> {
    const job = await this.#job(jobId);
    const result = await this.#t.client.query({
      query: `SELECT key FROM ${PARKS} FINAL WHERE table_schema = {schema:String} AND table_name = {name:String}
        AND NOT resolved ORDER BY key LIMIT {limit:UInt32}`,
      query_params: { schema: job.table_schema, name: job.table_name, limit: Math.max(1, Math.floor(limit)) },
      format: 'JSONEachRow',
    });
    const keys = await result.json<{ key: string }>();
    return keys.map((k) => parseKey(k.key, this.#t.typeInfo));
  }

  async finishSnapshotJob(
    jobId: string,
    state: 'done' | 'failed' | 'cancelled',
    error?: string,
  ): Promise<void> {
    const job = await this.#job(jobId);
    await this.#writeJob({ ...job, state, finished_at: nowText(), error: error ?? null });
  }

  /** A truncate at `lsn` of a table with active jobs: the rows they read before it are discarded (rule 3). */
  async markTruncate(table: TableRef, lsn: Lsn): Promise<void> {
    for (const job of await this.#jobRows(null)) {
      if (!ACTIVE.includes(job.state) || job.table_schema !== table.schema || job.table_name !== table.name)
        continue;
      const before = job.truncated_lsn === null ? -1n : BigInt(job.truncated_lsn);
      if (lsn > before) await this.#writeJob({ ...job, truncated_lsn: lsn.toString() });
    }
  }

  /**
   * Tables whose changes must keep parks up to date (merge.ts `Parking`): those with an active
   * keyed job, or with a park still open (a failed job's, say), as `schema.name`.
   */
  async parkingTables(): Promise<Set<string>> {
    const result = await this.#t.client.query({
      query: `SELECT table_schema, table_name FROM ${JOBS} FINAL WHERE state IN ('pending', 'running') AND NOT keyless
        UNION DISTINCT SELECT table_schema, table_name FROM ${PARKS} FINAL WHERE NOT resolved`,
      format: 'JSONEachRow',
    });
    const rows = await result.json<{ table_schema: string; table_name: string }>();
    return new Set(rows.map((r) => parkingId(r.table_schema, r.table_name)));
  }

  /** Each key's open park (keys in `schema`'s key columns), or null. */
  async parkStates(schema: TableSchema, keys: readonly Row[]): Promise<(ParkState | null)[]> {
    const texts = keys.map((key) => this.#keyText(schema, key));
    const open = await this.#openParks(schema, texts);
    return texts.map((text) => open.get(text) ?? null);
  }

  /** Writes the parks a batch opened, narrowed or resolved (merge.ts), after its rows. */
  async writeParks(schema: TableSchema, updates: readonly ParkUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    await this.#t.client.insert({
      table: stateTable('parks'),
      values: updates.map((u) => ({
        table_schema: schema.table.schema,
        table_name: schema.table.name,
        key: this.#keyText(schema, u.key),
        version: u.version,
        resolved: u.unknown === null,
        unknown: u.unknown ?? [],
      })),
      format: 'JSONEachRow',
    });
  }

  /**
   * Copies read at `c` (`copies`; `asked`: keys read again, whether found or not) settle the open
   * parks among their keys (see the header): the placeholders are filled where the stored row is
   * newer than the copy, and the park resolved — above its own version and above `c`, so a park
   * a later change opens stays open.
   */
  async #settleParks(
    schema: TableSchema,
    copies: readonly Row[],
    asked: readonly Row[],
    c: Lsn,
  ): Promise<void> {
    if (asked.length === 0 && !(await this.#hasOpenParks(schema.table))) return;
    const candidates = new Map<string, { key: Row; copy: Row | null }>();
    for (const copy of copies) {
      const key = pickKey(copy, schema.key);
      candidates.set(this.#keyText(schema, key), { key, copy });
    }
    for (const key of asked) {
      const text = this.#keyText(schema, key);
      if (!candidates.has(text)) candidates.set(text, { key, copy: null });
    }
    if (candidates.size === 0) return;
    const open = await this.#openParks(schema, [...candidates.keys()]);
    const fills: ParkFill[] = [];
    for (const [text, park] of open) {
      const candidate = candidates.get(text);
      if (candidate) fills.push({ ...candidate, park });
    }
    if (fills.length === 0) return;
    const left = await this.#t.fillParks(schema, fills, c);
    const copyVersion = BigInt(snapshotVersion(c));
    await this.writeParks(
      schema,
      fills.map((fill, i) => {
        const after = BigInt(repairVersion(fill.park.version));
        const unknown = left[i] ?? null;
        return {
          key: fill.key,
          version: (unknown === null && copyVersion > after ? copyVersion : after).toString(),
          unknown,
        };
      }),
    );
  }

  async #holdsRows(table: TableRef): Promise<boolean> {
    const result = await this.#t.client.query({
      query: `SELECT count() AS n FROM (SELECT 1 FROM ${quoteName(storageName(table))} LIMIT 1)`,
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ n: string | number }>();
    return Number(row?.n ?? 0) > 0;
  }

  async #hasOpenParks(table: TableRef): Promise<boolean> {
    const result = await this.#t.client.query({
      query: `SELECT count() AS n FROM ${PARKS} FINAL
        WHERE table_schema = {schema:String} AND table_name = {name:String} AND NOT resolved`,
      query_params: { schema: table.schema, name: table.name },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ n: string | number }>();
    return Number(row?.n ?? 0) > 0;
  }

  /** The open parks among `texts` (keys as `#keyText`), by key text. */
  async #openParks(schema: TableSchema, texts: readonly string[]): Promise<Map<string, ParkState>> {
    if (texts.length === 0) return new Map();
    const result = await this.#t.client.query({
      query: `SELECT key, toString(version) AS version, unknown FROM ${PARKS} FINAL
        WHERE table_schema = {schema:String} AND table_name = {name:String} AND NOT resolved
          AND key IN (SELECT arrayJoin({keys:Array(String)}))`,
      query_params: { schema: schema.table.schema, name: schema.table.name, keys: texts },
      format: 'JSONEachRow',
    });
    const rows = await result.json<{ key: string; version: string; unknown: string[] }>();
    return new Map(rows.map((r) => [r.key, { version: BigInt(r.version), unknown: r.unknown }]));
  }

  /**
   * A key as text that decodes back to the values Postgres sent: each key column's value as the
   * mapping encodes it, with the column's name and type so `parseKey` needs no schema.
   */
  #keyText(schema: TableSchema, key: Row): string {
    const parts = schema.key.map((name) => {
      const column = schema.columns.find((c) => c.name === name);
      if (!column)
        throw new TributaryError('INTERNAL', `${displayName(schema.table)} has no key column ${name}`);
      const value = key[name] ?? null;
      return [
        name,
        column.typeOid,
        column.typeModifier,
        value === null ? null : keyField(clickhouseType(column, this.#t.typeInfo), value),
      ];
    });
    return JSON.stringify(parts, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  }

  async #job(id: string): Promise<JobRow> {
    const [job] = await this.#jobRows(id);
    if (!job) throw new TributaryError('USAGE', `no snapshot or backfill job ${id}`);
    return job;
  }

  async #jobRows(id: string | null): Promise<JobRow[]> {
    const result = await this.#t.client.query({
      query: `SELECT * FROM ${JOBS} FINAL WHERE {id:Nullable(String)} IS NULL OR id = {id:Nullable(String)}
        ORDER BY requested_at, id`,
      query_params: { id },
      format: 'JSONEachRow',
    });
    return result.json<JobRow>();
  }

  async #writeJob(job: JobRow): Promise<void> {
    await this.#t.client.insert({
      table: stateTable('snapshot_jobs'),
      values: [{ ...job, revision: String(BigInt(job.revision) + 1n) }],
      format: 'JSONEachRow',
    });
  }

  async #chunkRows(jobId: string): Promise<ChunkRow[]> {
    const result = await this.#t.client.query({
      query: `SELECT * FROM ${CHUNKS} FINAL WHERE job_id = {job:String} ORDER BY chunk`,
      query_params: { job: jobId },
      format: 'JSONEachRow',
    });
    return result.json<ChunkRow>();
  }

  async #writeChunks(chunks: readonly ChunkRow[]): Promise<void> {
    if (chunks.length === 0) return;
    await this.#t.client.insert({
      table: stateTable('snapshot_chunks'),
      values: chunks.map((c) => ({ ...c, revision: String(BigInt(c.revision) + 1n) })),
      format: 'JSONEachRow',
    });
  }
}

/** A table's id among `parkingTables`. */
export function parkingId(schema: string, name: string): string {
  return JSON.stringify([schema, name]);
}

function toJob(r: JobRow): SnapshotJob {
  const date = (v: string | null): Date | null => (v === null ? null : new Date(`${v.replace(' ', 'T')}Z`));
  return {
    id: r.id,
    table: { schema: r.table_schema, name: r.table_name },
    predicate: r.predicate,
    reason: r.reason,
    keyless: Boolean(r.keyless),
    state: r.state,
    requestedAt: date(r.requested_at) as Date,
    startedAt: date(r.started_at),
    finishedAt: date(r.finished_at),
    rowsDone: Number(r.rows_done),
    rowsEstimated: r.rows_estimated === null ? null : Number(r.rows_estimated),
    attempt: Number(r.attempt),
    snapshotLsn: r.snapshot_lsn === null ? null : BigInt(r.snapshot_lsn),
    truncatedLsn: r.truncated_lsn === null ? null : BigInt(r.truncated_lsn),
    error: r.error,
  };
}

/** `YYYY-MM-DD hh:mm:ss.ffffff` in UTC, as DateTime64(6, 'UTC') reads and prints it. */
function nowText(): string {
  return new Date().toISOString().replace('T', ' ').replace('Z', '000');
}

/**
 * A key value as its mapped type encodes it; one the type cannot hold (a key column the
 * warehouse widened, widen.ts) as `{ widened: <the widened text> }`.
 */
function keyField(type: ClickHouseColumnType, value: Value): unknown {
  try {
    return type.encode(value);
  } catch (error) {
    if (!(error instanceof UnfitValue) || !type.widening) throw error;
    return { widened: type.widening.type.encode(value) };
  }
}

function fieldValue(type: ClickHouseColumnType, field: unknown): Value {
  const widened = type.widening && typeof field === 'object' && field !== null && !Array.isArray(field);
  return widened
    ? (type.widening as NonNullable<ClickHouseColumnType['widening']>).type.decode(
        (field as { widened: unknown }).widened,
      )
    : type.decode(field);
}

function parseKey(text: string, lookup: TypeLookup | undefined): Row {
  const key: Record<string, Value> = Object.create(null);
  for (const [name, typeOid, typeModifier, field] of JSON.parse(text) as [
    string,
    number,
    number,
    unknown,
  ][]) {
    key[name] =
      field === null
        ? null
        : fieldValue(clickhouseType({ name, typeOid, typeModifier, isKey: true }, lookup), field);
  }
  return key;
}

/** A short digest of a piece's rows, so a piece sent again gets the same dedup token. */
function digest(rows: SnapshotRows): string {
  const hash = createHash('sha256');
  hash.update(String(rows.rows.length));
  const first = rows.rows[0];
  const last = rows.rows.at(-1);
  const keyText = (row: Row | undefined) =>
    row ? JSON.stringify(rows.schema.key.map((k) => String(row[k] ?? null))) : '';
  hash.update(keyText(first));
  hash.update(keyText(last));
  return hash.digest('hex').slice(0, 16);
}
