/**
 * The config file (`--config tributary.yml`, YAML or JSON): the same settings as the flags,
 * for deployments that keep them in a file. Flags given on the command line win over the file;
 * `${NAME}` in a string is replaced from the environment, so secrets can stay out of it.
 * A malformed file is a CONFIG error (exit 2) naming the key and what was expected.
 *
 *   source: ${TRIBUTARY_SOURCE}
 *   warehouse: shop.duckdb
 *   tables: [public.orders, 'public."Order Items"']
 *   slot: tributary
 *   publication: tributary
 *   batch: { size: 50000, delay: 100ms }
 *   heartbeat: 30s
 *   http: 127.0.0.1:8080                          # the HTTP API (run --http; default 127.0.0.1:7878, false: none);
 *                                                 # an address other than loopback needs TRIBUTARY_HTTP_TOKEN
 *   snapshot: { mode: initial, workers: 2, chunkRows: 250000, timeout: 10m }
 *   feed: { url: 'nats://127.0.0.1:4222', name: shop, lanes: 4 }   # JetStream between source and loader
 *   raw: { enabled: true, retention: 90d }       # the raw landing zone (enabled false: none); retention: default keep all
 *   replica: ${TRIBUTARY_REPLICA}                # tributary verify reads the source's rows on this hot standby
 *   ledgers:                                     # tributary verify: aggregates equal on both sides, exactly
 *     - name: daily_revenue
 *       sql: SELECT CAST(ordered_at AS date) AS day, sum(total) AS revenue FROM orders GROUP BY 1
 *       warehouseSql: ...                        # optional: DuckDB's own SQL where the dialects differ
 *   checks:                                       # data checks: `tributary check`, and `run` on their schedules
 *     - { name: lag, type: freshness, warn: 1m, error: 5m }
 *     - { name: orders-fresh, type: freshness, table: public.orders, warn: 1h }
 *     - { name: order-ids, type: unique, table: public.orders, columns: [id] }
 *     - { name: emails, type: not_null, table: customers, columns: [email], severity: warn }
 *     - { name: states, type: accepted_values, table: orders, column: state, values: [new, paid, shipped] }
 *     - { name: order-customer, type: relationships, table: orders, column: customer_id,
 *         to: customers, field: id, grace: 10m }
 *     - { name: no-negative, type: custom, sql: 'SELECT * FROM orders WHERE total < 0', every: 1h }
 *     - { name: order-volume, type: volume, table: orders, grain: hour, drop: 0.5, spike: 3, floor: 20 }
 *   Every check: name (unique), type, severity (warn | error, default error), every (default 5m);
 *   the rest per type (src/quality/check-spec.ts).
 *   metrics: { dir: metrics }                    # the metric definitions (*.yml), relative to this file
 *                                                # (`tributary metrics`, and `run` loads them at start)
 *   models: { dir: models, schema: models }       # curated models (src/models/): the *.sql files of dir
 *                                                 # (relative to this file), materialised in schema
 *   alerts:                                       # run's alerts (src/server/alert-settings.ts)
 *     webhook: https://hooks.example.com/tributary   # optional; else TRIBUTARY_ALERT_WEBHOOK
 *     walRetainedBytes: 10GB                      # WAL the server keeps for the slot over this
 *     lagSeconds: 300                             # end-to-end lag over this (or a duration: 5m)
 *     checks: true                                # an error-severity check failing (default true)
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { z } from 'zod';
import { DURATION_PATTERN } from '../core/duration.js';
import { TributaryError } from '../core/errors.js';
import { ChecksSchema } from '../quality/check-spec.js';
import { AlertsSchema } from '../server/alert-settings.js';

const duration = z.string().regex(DURATION_PATTERN, 'a duration such as 500ms, 30s or 5m');

const ConfigSchema = z
  .object({
    source: z.string().min(1).optional(),
    warehouse: z.string().min(1).optional(),
    tables: z.union([z.array(z.string().min(1)).min(1), z.string().min(1)]).optional(),
    slot: z.string().min(1).optional(),
    publication: z.string().min(1).optional(),
    batch: z
      .object({ size: z.number().int().positive().optional(), delay: duration.optional() })
      .strict()
      .optional(),
    heartbeat: duration.optional(),
    http: z.union([z.string().min(1), z.boolean()]).optional(),
    snapshot: z
      .object({
        mode: z.enum(['initial', 'never']).optional(),
        workers: z.number().int().positive().optional(),
        chunkRows: z.number().int().positive().optional(),
        timeout: duration.optional(),
      })
      .strict()
      .optional(),
    feed: z
      .object({
        url: z.string().regex(/^(nats|tls):\/\//, 'a NATS URL such as nats://127.0.0.1:4222'),
        name: z.string().min(1).optional(),
        lanes: z.number().int().min(1).max(256).optional(),
      })
      .strict()
      .optional(),
    raw: z.object({ enabled: z.boolean().optional(), retention: duration.optional() }).strict().optional(),
    replica: z.string().min(1).optional(),
    ledgers: z
      .array(
        z
          .object({
            name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a name of letters, digits, _ . - (at most 64)'),
            sql: z.string().min(1),
            warehouseSql: z.string().min(1).optional(),
          })
          .strict(),
      )
      .refine((list) => new Set(list.map((l) => l.name)).size === list.length, 'ledger names must be unique')
      .optional(),
    checks: ChecksSchema.optional(),
    metrics: z
      .object({ dir: z.string().min(1) })
      .strict()
      .optional(),
    models: z
      .object({
        dir: z.string().min(1).optional(),
        schema: z
          .string()
          .regex(/^[a-z_][a-z0-9_]*$/, 'a schema name of lower-case letters, digits and _')
          .optional(),
      })
      .strict()
      .optional(),
    alerts: AlertsSchema.optional(),
  })
  .strict();

export type ConfigFile = z.infer<typeof ConfigSchema>;

export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new TributaryError('CONFIG', `cannot read the config file ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    throw new TributaryError('CONFIG', `${path} is not valid YAML or JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const result = ConfigSchema.safeParse(substitute(raw ?? {}, env, path));
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `${issue.path.join('.') || '(top level)'}: ${issue.message}`,
    );
    throw new TributaryError('CONFIG', `${path} has ${problems.length} problem(s): ${problems.join('; ')}`, {
      hint: 'keys: source, warehouse, tables, slot, publication, batch.size, batch.delay, heartbeat, http, snapshot.mode, snapshot.workers, snapshot.chunkRows, snapshot.timeout, feed.url, feed.name, feed.lanes, raw.enabled, raw.retention, replica, ledgers[].name/sql/warehouseSql, checks (see the README, "Checks"), metrics.dir, models.dir, models.schema, alerts.webhook/walRetainedBytes/lagSeconds/checks',
    });
  }
  return result.data;
}

/**
 * How a command merges the file under its flags: a flag typed on the command line wins, else the
 * file's value, else the flag's default.
 */
export function flagOrFile(command: Command): <T>(name: string, flag: T, fromFile: T | undefined) => T {
  const typed = (name: string) => command.getOptionValueSource(name) === 'cli';
  return (name, flag, fromFile) => (typed(name) || fromFile === undefined ? flag : fromFile);
}

function substitute(value: unknown, env: NodeJS.ProcessEnv, path: string): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_match, name: string) => {
      const found = env[name];
      if (found === undefined) {
        throw new TributaryError(
          'CONFIG',
          `${path} uses \${${name}}, but ${name} is not set in the environment`,
        );
      }
      return found;
    });
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, env, path));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, env, path)]));
  }
  return value;
}
