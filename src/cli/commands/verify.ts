/**
 * `tributary verify [--tables a,b] [--json]`: compares the warehouse with the source at one
 * consistent point (src/quality/verify/verify.ts) and reports every differing key as missing,
 * extra or changed; exit 1 when anything differs.
 *
 * While `tributary run` holds the warehouse, the request goes to it (it has the loader to pin
 * the point with). When nothing runs, verify runs the pipeline itself just long enough: it
 * streams from the slot as `run` would until the point, compares, then stops the way `run` stops
 * on SIGTERM — so it needs the same source settings (`--source`, `--slot`, `--config`, ...).
 */
import { Command } from 'commander';
import { parseDuration } from '../../core/duration.js';
import { TributaryError } from '../../core/errors.js';
import { createLogger, type Logger } from '../../core/logger.js';
import { displayName, type TableRef } from '../../core/table-ref.js';
import type { Loader } from '../../pipeline/loader.js';
import { runPipeline } from '../../pipeline/pipeline.js';
import {
  DEFAULT_VERIFY_SETTINGS,
  type Ledger,
  type VerifyReport,
  type VerifySettings,
  verify,
} from '../../quality/verify/verify.js';
import { remoteVerify } from '../../server/control-client.js';
import type { VerifyRequest } from '../../server/control-server.js';
import { connectClient } from '../../source/postgres/setup/connect.js';
import { parseSourceUrl, type SourceConfig } from '../../source/postgres/setup/connection-config.js';
import { parseTableList } from '../../source/postgres/setup/tables.js';
import { TypeRegistry } from '../../source/postgres/values/type-registry.js';
import type { DuckDBWarehouse } from '../../warehouse/duckdb/duckdb-warehouse.js';
import { flagOrFile, loadConfigFile } from '../config-file.js';
import { positiveInteger } from '../loader-flags.js';
import { writeStdout } from '../output.js';
import { type SourceFlags, sourceConfig } from '../source-config.js';
import { openForSlot, runningOr } from '../with-warehouse.js';
import { DEFAULT_WAREHOUSE } from './run.js';

interface VerifyFlags extends SourceFlags {
  readonly warehouse: string;
  readonly json?: boolean;
  readonly concurrency?: string;
  readonly bucketRows?: string;
  readonly statementTimeout?: string;
  readonly pointTimeout?: string;
  readonly replica?: string;
  readonly config?: string;
  readonly raw: boolean;
  readonly ledgersOnly?: boolean;
  readonly ledgers?: VerifyRequest['ledgers'];
}

export function verifyCommand(): Command {
  return new Command('verify')
    .option('--source <postgres-url>', 'the source database (default: $TRIBUTARY_SOURCE)')
    .option('--tables <list>', 'verify only these tables, schema-qualified, comma-separated (default: all)')
    .option('--slot <name>', 'the logical replication slot tributary run uses', 'tributary')
    .option('--publication <name>', 'the publication tributary run uses', 'tributary')
    .description(
      'compare the warehouse with the source at one consistent point; list every differing key (exit 1 if any)',
    )
    .option('--warehouse <path.duckdb>', 'the DuckDB warehouse file', DEFAULT_WAREHOUSE)
    .option('--json', 'print the report as JSON')
    .option(
      '--concurrency <n>',
      `source connections reading at once (default ${DEFAULT_VERIFY_SETTINGS.concurrency}, at most ${MAX_CONCURRENCY})`,
    )
    .option(
      '--bucket-rows <n>',
      `rows per compared bucket: each source statement reads about this many (default ${DEFAULT_VERIFY_SETTINGS.bucketRows})`,
    )
    .option('--statement-timeout <duration>', 'limit on each source statement (default 5m)')
    .option(
      '--point-timeout <duration>',
      'longest wait for the source snapshot, which waits for the transactions running on it (default 1m)',
    )
    .option(
      '--replica <postgres-url>',
      "read the source's rows on this hot standby of it instead (production then serves none of the reads)",
    )
    .option('--ledgers-only', "compare only the config file's ledgers, no table")
    .option('--no-raw', 'the warehouse keeps no raw landing zone (as its tributary run was started)')
    .option(
      '--config <file>',
      'read source settings and ledgers from a YAML or JSON file; flags given here win',
    )
    .addHelpText(
      'after',
      '\nWhile tributary run runs, the request goes to it; otherwise verify streams from the slot up to\n' +
        'the point itself (so --source and the slot settings are needed; the publication is left as it is)\n' +
        'and stops when done. The source is read at a snapshot by --concurrency connections, each statement\n' +
        'under --statement-timeout; with --replica, on that hot standby: verify waits until it replayed past\n' +
        'the point, takes its snapshot there, and the loader stops at the same position.',
    )
    .action(async (given: VerifyFlags, command: Command) => {
      const flags = withConfig(given, command);
      if (flags.ledgersOnly && !flags.ledgers?.length) {
        throw new TributaryError(
          'USAGE',
          '--ledgers-only needs ledgers: give a --config file with a ledgers list',
        );
      }
      const request: VerifyRequest = {
        tables: flags.ledgersOnly ? [] : flags.tables ? parseTableList(flags.tables).map(displayName) : null,
        settings: verifySettings(flags),
        ...(flags.ledgers?.length ? { ledgers: flags.ledgers } : {}),
        ...(flags.replica ? { replica: flags.replica } : {}),
      };
      // a malformed URL is refused here, before anything runs
      if (flags.replica) parseReplicaUrl(flags.replica);
      const report = await runningOr(
        flags.warehouse,
        (running) => remoteVerify(running, request) as Promise<VerifyReport>,
        () => verifyStandalone(flags, request),
      );
      await writeStdout(flags.json ? `${JSON.stringify(report)}\n` : describeReport(report));
      if (!report.ok) process.exitCode = 1;
    });
}

const MAX_CONCURRENCY = 16;

function verifySettings(flags: VerifyFlags): Partial<VerifySettings> {
  const concurrency = flags.concurrency ? positiveInteger(flags.concurrency, '--concurrency') : undefined;
  if (concurrency !== undefined && concurrency > MAX_CONCURRENCY) {
    throw new TributaryError('USAGE', `--concurrency is at most ${MAX_CONCURRENCY}, not ${concurrency}`, {
      hint: 'each is one more connection reading production; a few are plenty',
    });
  }
  return {
    ...(concurrency === undefined ? {} : { concurrency }),
    ...(flags.bucketRows ? { bucketRows: positiveInteger(flags.bucketRows, '--bucket-rows') } : {}),
    ...(flags.statementTimeout ? { statementTimeoutMs: parseDuration(flags.statementTimeout) } : {}),
    ...(flags.pointTimeout ? { pointTimeoutMs: parseDuration(flags.pointTimeout) } : {}),
  };
}

/** Checks a request that came over the control endpoint as the command line checks its flags. */
export function checkVerifyRequest(body: Record<string, unknown>): VerifyRequest {
  const tables = body.tables;
  if (
    tables !== null &&
    tables !== undefined &&
    (!Array.isArray(tables) || tables.some((t) => typeof t !== 'string'))
  )
    throw new TributaryError('USAGE', 'tables must be a list of table names');
  const settings = (body.settings ?? {}) as Record<string, unknown>;
  if (typeof settings !== 'object' || settings === null)
    throw new TributaryError('USAGE', 'settings must be an object');
  const out: Record<string, number> = {};
  for (const name of ['concurrency', 'bucketRows', 'statementTimeoutMs', 'pointTimeoutMs'] as const) {
    const value = settings[name];
    if (value === undefined) continue;
    if (
      typeof value !== 'number' ||
      !Number.isSafeInteger(value) ||
      value < (name === 'statementTimeoutMs' ? 0 : 1)
    )
      throw new TributaryError('USAGE', `settings.${name} must be a positive whole number`);
    out[name] = value;
  }
  if ((out.concurrency ?? 1) > MAX_CONCURRENCY)
    throw new TributaryError('USAGE', `concurrency is at most ${MAX_CONCURRENCY}`);
  const ledgers = body.ledgers ?? [];
  const valid = (l: unknown): l is Ledger =>
    typeof l === 'object' &&
    l !== null &&
    typeof (l as { name?: unknown }).name === 'string' &&
    typeof (l as { sql?: unknown }).sql === 'string' &&
    ['string', 'undefined'].includes(typeof (l as { warehouseSql?: unknown }).warehouseSql);
  if (!Array.isArray(ledgers) || !ledgers.every(valid))
    throw new TributaryError('USAGE', 'ledgers must be a list of {name, sql, warehouseSql?}');
  const replica = body.replica;
  if (replica !== undefined && replica !== null) {
    if (typeof replica !== 'string') throw new TributaryError('USAGE', 'replica must be a postgres URL');
    parseReplicaUrl(replica);
  }
  return {
    tables: Array.isArray(tables)
      ? (tables as string[]).flatMap((t) => parseTableList(t).map(displayName))
      : null,
    settings: out,
    ...(ledgers.length ? { ledgers } : {}),
    ...(typeof replica === 'string' ? { replica } : {}),
  };
}

/** `--replica` is read as `--source` is; its errors name the flag they are about. */
function parseReplicaUrl(url: string): SourceConfig {
  try {
    return parseSourceUrl(url);
  } catch (error) {
    if (!(error instanceof TributaryError)) throw error;
    const named = (text: string) =>
      text.replaceAll('--source', '--replica').replace(' (or set TRIBUTARY_SOURCE)', '');
    throw new TributaryError(error.code, named(error.message), {
      ...(error.hint ? { hint: named(error.hint) } : {}),
    });
  }
}

/** Runs verify in a process that holds the loader (tributary run, or a standalone verify). */
export function verifyWith(
  loader: Loader,
  warehouse: DuckDBWarehouse,
  source: { readonly connection: Parameters<typeof verify>[0]['connection']; readonly publication: string },
  types: TypeRegistry,
  request: VerifyRequest,
  logger: Logger,
): Promise<VerifyReport> {
  return verify({
    connection: source.connection,
    publication: source.publication,
    types,
    tables: request.tables === null ? null : request.tables.flatMap((t) => parseTableList(t)),
    settings: request.settings,
    pin: (bound, point) => loader.pinAt(bound, point, () => warehouse.pinnedReader()),
    logger,
    ...(request.ledgers ? { ledgers: request.ledgers } : {}),
    ...(request.replica ? { replica: parseReplicaUrl(request.replica) } : {}),
  });
}

/** No tributary run holds the warehouse: stream up to the point here, compare, stop. */
async function verifyStandalone(flags: VerifyFlags, request: VerifyRequest): Promise<VerifyReport> {
  // stream exactly what the publication holds: nothing is added to it, nothing copied
  const config = { ...sourceConfig(sourceOnly(flags)), tables: await publishedTables(flags) };
  const log = createLogger();
  const types = new TypeRegistry();
  const warehouse = await openForSlot(flags.warehouse, config, types, flags.raw);
  const stop = new AbortController();
  try {
    // a first copy with no change streamed since leaves no checkpoint, and is what verify checks
    const copied = (await warehouse.snapshotJobs()).some((job) => job.state === 'done');
    if ((await warehouse.checkpoint()) === null && !copied) {
      throw new TributaryError('USAGE', `the warehouse ${flags.warehouse} was never loaded`, {
        hint: 'run tributary run first; verify compares what it copied',
      });
    }
    let loaded: (loader: Loader) => void = () => {};
    const loaderReady = new Promise<Loader>((resolve) => {
      loaded = resolve;
    });
    let failure: unknown = null;
    const running = runPipeline(
      {
        source: { ...config, types },
        warehouse,
        logger: log,
        snapshot: { mode: 'never' },
        onLoader: (l) => loaded(l),
      },
      stop.signal,
    ).catch((error: unknown) => {
      failure = error;
    });
    const loader = await Promise.race([loaderReady, running.then(() => null)]);
    if (!loader) throw failure ?? new TributaryError('INTERNAL', 'the pipeline stopped before it started');
    try {
      return await Promise.race([
        verifyWith(loader, warehouse, config, types, request, log),
        running.then(() => {
          throw failure ?? new TributaryError('INTERNAL', 'the pipeline stopped during verify');
        }),
      ]);
    } finally {
      stop.abort();
      await running;
    }
  } finally {
    stop.abort();
    await warehouse.close();
  }
}

function withConfig(flags: VerifyFlags, command: Command): VerifyFlags {
  if (!flags.config) return flags;
  const file = loadConfigFile(flags.config);
  const pick = flagOrFile(command);
  const merged: Record<string, unknown> = {
    ...flags,
    source: pick('source', flags.source, file.source),
    slot: pick('slot', flags.slot, file.slot),
    publication: pick('publication', flags.publication, file.publication),
    warehouse: pick('warehouse', flags.warehouse, file.warehouse),
    raw: pick('raw', flags.raw, file.raw?.enabled),
    ledgers: file.ledgers,
    replica: pick('replica', flags.replica, file.replica),
  };
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
  return merged as unknown as VerifyFlags;
}

export function describeReport(report: VerifyReport): string {
  const lines = [
    `verified at ${report.point}, reading ${report.readFrom} (warehouse checkpoint ${report.checkpoint ?? 'none'})${report.attempts > 1 ? `, ${report.attempts} attempts` : ''}`,
  ];
  const count = (n: number | undefined) => (n ?? 0).toLocaleString('en-US');
  for (const t of report.tables) {
    const rows =
      t.sourceRows === undefined
        ? ''
        : t.sourceRows === t.warehouseRows
          ? `${count(t.sourceRows)} rows`
          : `source ${count(t.sourceRows)} rows, warehouse ${count(t.warehouseRows)}`;
    const how = t.mode ? `${t.mode}, ${t.buckets} bucket${t.buckets === 1 ? '' : 's'}` : '';
    const status = t.status === 'differs' ? 'DIFFERS' : t.status;
    lines.push(
      `${t.table}  ${status}${rows ? `  ${rows}` : ''}${how ? `  (${how})` : ''}${t.reason ? `: ${t.reason}` : ''}`,
    );
    if (t.missingColumns?.length) lines.push(`  columns only in the source: ${t.missingColumns.join(', ')}`);
    if (t.extraColumns?.length) lines.push(`  columns only in the warehouse: ${t.extraColumns.join(', ')}`);
    for (const u of t.uncompared ?? []) lines.push(`  not compared: ${u.column} (${u.reason})`);
    for (const d of t.differences ?? []) {
      const key = Object.entries(d.key)
        .map(([k, v]) => `${k}=${v ?? 'NULL'}`)
        .join(', ');
      lines.push(`  ${d.kind.padEnd(8)} ${key}${d.columns ? `  (${d.columns.join(', ')})` : ''}`);
    }
    if (t.unlisted) lines.push(`  … and ${count(t.unlisted)} more`);
  }
  for (const l of report.ledgers) {
    lines.push(
      `ledger ${l.name}  ${l.status === 'match' ? 'match' : 'DIFFERS'}  ${count(l.rows)} rows on the source`,
    );
    for (const row of l.onlySource) lines.push(`  source only     ${row}`);
    for (const row of l.onlyWarehouse) lines.push(`  warehouse only  ${row}`);
  }
  lines.push(report.ok ? 'the warehouse matches the source' : 'the warehouse DIFFERS from the source');
  return `${lines.join('\n')}\n`;
}

/** The connection settings without --tables (which here picks what is compared). */
function sourceOnly(flags: VerifyFlags): SourceFlags {
  return {
    ...(flags.source === undefined ? {} : { source: flags.source }),
    slot: flags.slot,
    publication: flags.publication,
  };
}

/** The tables the publication holds now (none: nothing was ever replicated with it). */
async function publishedTables(flags: VerifyFlags): Promise<TableRef[]> {
  const config = sourceConfig(sourceOnly(flags));
  const client = await connectClient(config.connection, { applicationName: 'tributary verify' });
  try {
    const rows = await client.query<{ schemaname: string; tablename: string }>(
      'SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1, 2',
      [config.publication],
    );
    if (rows.rows.length === 0) {
      throw new TributaryError('USAGE', `the publication ${config.publication} publishes no table`, {
        hint: 'pass the --publication (and --slot) tributary run uses, or start tributary run first',
      });
    }
    return rows.rows.map((r) => ({ schema: r.schemaname, name: r.tablename }));
  } finally {
    await client.end().catch(() => {});
  }
}
