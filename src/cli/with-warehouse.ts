/**
 * Reaches the warehouse the way the situation allows: through the running `tributary run`
 * that holds it, or by opening the file (read-only unless asked) when nothing runs.
 *
 * A `tributary run` that is starting holds the file's lock a moment before its control file
 * exists (it opens the warehouse, reads the checkpoint, then starts its control server); in
 * that window the file is locked and nothing answers. Wait for it, up to `lockWaitMs`, rather
 * than fail with DuckDB's lock message.
 */
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { TributaryError } from '../core/errors.js';
import { findRunning } from '../server/control-client.js';
import type { ControlFile } from '../server/control-server.js';
import { describeTarget } from '../source/postgres/setup/connection-config.js';
import type { TypeRegistry } from '../source/postgres/values/type-registry.js';
import { isClickHouseUrl, redact } from '../warehouse/clickhouse/connect.js';
import { DuckDBWarehouse, type DuckDBWarehouseOptions } from '../warehouse/duckdb/duckdb-warehouse.js';

export interface WithWarehouseOptions {
  /** How long to wait for a process that holds the file to start answering. Default 10 s. */
  readonly lockWaitMs?: number;
  /** Open the file for writing when nothing runs (default: read-only). */
  readonly write?: boolean;
}

export async function withWarehouse<T>(
  path: string,
  remote: (running: ControlFile) => Promise<T> | null,
  local: (warehouse: DuckDBWarehouse) => Promise<T>,
  options: WithWarehouseOptions = {},
): Promise<T> {
  refuseClickHouse(path);
  const deadline = Date.now() + (options.lockWaitMs ?? 10_000);
  for (;;) {
    const running = findRunning(path);
    if (running) {
      const answer = remote(running);
      if (answer) return answer;
    }
    if (!existsSync(path)) {
      throw new TributaryError('USAGE', `no warehouse at ${path}`, {
        hint: 'pass --warehouse <path.duckdb>, the file `tributary run` writes to',
      });
    }
    // a run that is starting holds the file before its control file exists: look for it again
    const warehouse = await openWaiting(
      path,
      { readOnly: !options.write },
      deadline,
      () => findRunning(path) !== null,
      (holder) => heldError(path, holder, 'that does not answer', STARTING_HINT),
    );
    if (!warehouse) continue;
    try {
      return await local(warehouse);
    } finally {
      await warehouse.close();
    }
  }
}

/**
 * The commands that reach the warehouse here need DuckDB (those that also serve ClickHouse
 * branch off before): a ClickHouse URL gets told so, not "no warehouse at chdb:///…" or, with a
 * run holding it, "this process does not replay".
 */
function refuseClickHouse(path: string): void {
  if (!isClickHouseUrl(path)) return;
  throw new TributaryError(
    'USAGE',
    `this command needs a DuckDB warehouse, and ${redact(path)} is ClickHouse`,
    {
      hint: 'not on ClickHouse yet: the raw landing zone (history, --as-of, replay, export raw), models, data checks and verify (docs/clickhouse.md)',
    },
  );
}

/**
 * Through the running `tributary run` that holds the file when there is one; otherwise `alone()`,
 * which opens the file itself (for writing: it runs part of the pipeline).
 */
export function runningOr<T>(
  path: string,
  remote: (running: ControlFile) => Promise<T>,
  alone: () => Promise<T>,
): Promise<T> {
  refuseClickHouse(path);
  const running = findRunning(path);
  if (running) return remote(running);
  if (!existsSync(path)) {
    throw new TributaryError('USAGE', `no warehouse at ${path}`, {
      hint: 'pass --warehouse <path.duckdb>, the file `tributary run` writes to',
    });
  }
  return alone();
}

/**
 * Opens the warehouse for `tributary run`. Another process may hold the file for a moment — a
 * `status` or `query` that opened it read-only just before this run started — so a lock conflict
 * is retried for up to `waitMs` before it is reported, naming the holder.
 */
export async function openForRun(
  path: string,
  options: DuckDBWarehouseOptions,
  waitMs = 30_000,
): Promise<DuckDBWarehouse> {
  const warehouse = await openWaiting(
    path,
    options,
    Date.now() + waitMs,
    () => false,
    (holder) => heldError(path, holder, '', RUN_HINT),
  );
  return warehouse as DuckDBWarehouse;
}

/**
 * The warehouse a process streaming from `source`'s slot writes (run, a standalone verify): its
 * types mapped through the source's type registry, its raw zone (unless `raw` is false) naming
 * the source without secrets.
 */
export function openForSlot(
  path: string,
  source: { readonly connection: pg.ClientConfig; readonly slot: string },
  types: TypeRegistry,
  raw: boolean,
): Promise<DuckDBWarehouse> {
  return openForRun(path, {
    typeInfo: (oid) => types.info(oid),
    raw,
    source: `${describeTarget(source.connection)} slot ${source.slot}`,
  });
}

const STARTING_HINT =
  'a `tributary run` that is starting answers within seconds: try again. Otherwise stop the ' +
  'process that holds the file (DuckDB admits one writing process), or point --warehouse elsewhere';
const RUN_HINT =
  'DuckDB admits one writing process per file: stop the other tributary run (or whatever holds it), or point --warehouse elsewhere';

function heldError(path: string, holder: string, what: string, hint: string): TributaryError {
  return new TributaryError(
    'CONFIG',
    `the warehouse ${path} is held by another process (${holder})${what ? ` ${what}` : ''}`,
    { hint },
  );
}

/**
 * Opens the file; while another process holds its lock, tries again until `deadline` (then
 * throws what `held` makes of the holder), or until `lookElsewhere()` says the holder can be
 * reached another way (then null).
 */
async function openWaiting(
  path: string,
  options: DuckDBWarehouseOptions,
  deadline: number,
  lookElsewhere: () => boolean,
  held: (holder: string) => TributaryError,
): Promise<DuckDBWarehouse | null> {
  for (;;) {
    try {
      return await DuckDBWarehouse.open(path, options);
    } catch (error) {
      const holder = lockHolder(error);
      if (holder === null) throw error;
      if (lookElsewhere()) return null;
      if (Date.now() >= deadline) throw held(holder);
      await sleep(200);
    }
  }
}

/** The holder named in DuckDB's lock conflict ("… held in <program> (PID n) …"), or null for another error. */
function lockHolder(error: unknown): string | null {
  const messages: string[] = [];
  for (let e: unknown = error; e instanceof Error; e = e.cause) messages.push(e.message);
  const text = messages.join('\n');
  if (!/Could not set lock|Conflicting lock/i.test(text)) return null;
  const pid = /\(PID (\d+)\)/.exec(text);
  return pid ? `pid ${pid[1]}` : 'a process DuckDB did not name';
}
