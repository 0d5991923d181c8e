/**
 * The metric registry: every version of every metric ever loaded, kept in the warehouse in
 * `_tributary.metric_versions` (name, version, definition JSON, hash, registered_at, by, reason,
 * and `changes`: the definition's diff against the previous version, the change log). The YAML
 * holds a metric's current definition; older versions stay queryable from here.
 *
 * Syncing the files into the registry (`planSync`, pure): a version already registered with the
 * same definition is left alone; the same version with another definition is refused (raise the
 * version); a version lower than the newest registered is refused (the file must hold the
 * newest); a new, higher version is registered with who and why from its `change:` block (who
 * defaulting to the user running it) and the diff against the previous version.
 */
import { createHash } from 'node:crypto';
import { DuckDBTimestampTZValue } from '@duckdb/node-api';
import { TributaryError } from '../core/errors.js';
import type { Db } from '../warehouse/duckdb/db.js';
import { canonicalJson, diffDefinitions, type FieldChange } from './definition-diff.js';
import type { MetricSource } from './metric-files.js';
import { definitionOf } from './metric-spec.js';

export interface RegisteredVersion {
  readonly name: string;
  readonly version: number;
  readonly definition: Record<string, unknown>;
  readonly hash: string;
  /** ISO 8601, UTC. */
  readonly registeredAt: string;
  readonly by: string;
  readonly reason: string | null;
  /** Against the previous registered version; empty for the first. */
  readonly changes: readonly FieldChange[];
}

const TABLE = '_tributary.metric_versions';

export async function bootstrapRegistry(db: Db): Promise<void> {
  await db.run('CREATE SCHEMA IF NOT EXISTS _tributary');
  await db.run(
    `CREATE TABLE IF NOT EXISTS ${TABLE} (name VARCHAR NOT NULL, version INTEGER NOT NULL, definition JSON NOT NULL,
      hash VARCHAR NOT NULL, registered_at TIMESTAMPTZ NOT NULL, registered_by VARCHAR NOT NULL, reason VARCHAR,
      changes JSON NOT NULL, PRIMARY KEY (name, version))`,
  );
}

export function definitionHash(definition: unknown): string {
  return createHash('sha256').update(canonicalJson(definition)).digest('hex');
}

/** Every registered version, oldest first per metric ([] before the first sync). */
export async function readRegistry(db: Db): Promise<RegisteredVersion[]> {
  const exists = await db.rows(
    `SELECT count(*) FROM information_schema.tables
      WHERE table_catalog = current_database() AND table_schema = '_tributary' AND table_name = 'metric_versions'`,
  );
  if (Number(exists[0]?.[0] ?? 0) === 0) return [];
  const rows = await db.rows(
    `SELECT name, version, definition::VARCHAR, hash, strftime(registered_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ'),
        registered_by, reason, changes::VARCHAR
      FROM ${TABLE} ORDER BY name, version`,
  );
  return rows.map((r) => ({
    name: String(r[0]),
    version: Number(r[1]),
    definition: JSON.parse(String(r[2])) as Record<string, unknown>,
    hash: String(r[3]),
    registeredAt: String(r[4]),
    by: String(r[5]),
    reason: r[6] === null ? null : String(r[6]),
    changes: JSON.parse(String(r[7])) as FieldChange[],
  }));
}

/** The versions to register so the registry holds every file's current definition; refuses a conflict. */
export function planSync(
  sources: readonly MetricSource[],
  registered: readonly RegisteredVersion[],
  user: string,
  now: Date,
): RegisteredVersion[] {
  const fresh: RegisteredVersion[] = [];
  const problems: string[] = [];
  for (const { file, spec } of sources) {
    const definition = definitionOf(spec);
    const hash = definitionHash(definition);
    const versions = registered.filter((v) => v.name === spec.name);
    const same = versions.find((v) => v.version === spec.version);
    const newest = versions.at(-1);
    if (newest && newest.version > spec.version) {
      problems.push(
        `${file}: says version ${spec.version}, but ${spec.name}@${newest.version} is registered: the file must hold the newest version (older ones stay queryable as ${spec.name}@<version>)`,
      );
      continue;
    }
    if (same) {
      if (same.hash !== hash)
        problems.push(
          `${file}: metric ${spec.name}@${spec.version} changed since it was registered (${same.registeredAt}): ` +
            `${describeChanges(diffDefinitions(same.definition, definition))}; raise version: to ${(newest?.version ?? spec.version) + 1} and say why in change: { reason: ... }`,
        );
      continue;
    }
    if (newest && !spec.change?.reason) {
      problems.push(
        `${file}: ${spec.name}@${spec.version} replaces @${newest.version}: say why in change: { reason: ..., by: ... }`,
      );
      continue;
    }
    fresh.push({
      name: spec.name,
      version: spec.version,
      definition,
      hash,
      registeredAt: now.toISOString(),
      by: spec.change?.by ?? user,
      reason: spec.change?.reason ?? null,
      changes: newest ? diffDefinitions(newest.definition, definition) : [],
    });
  }
  if (problems.length > 0)
    throw new TributaryError(
      'CONFIG',
      `the metric registry refuses ${problems.length} file(s):\n  ${problems.join('\n  ')}`,
      {
        hint: 'a registered version never changes: give a changed definition a higher version:',
      },
    );
  return fresh;
}

/** Appends versions (in the caller's transaction). */
export async function recordVersions(db: Db, versions: readonly RegisteredVersion[]): Promise<void> {
  await bootstrapRegistry(db);
  for (const v of versions)
    await db.run(`INSERT INTO ${TABLE} VALUES ($1, $2, $3::JSON, $4, $5, $6, $7, $8::JSON)`, [
      v.name,
      v.version,
      canonicalJson(v.definition),
      v.hash,
      new DuckDBTimestampTZValue(BigInt(Date.parse(v.registeredAt)) * 1000n),
      v.by,
      v.reason,
      JSON.stringify(v.changes),
    ]);
}

export function describeChanges(changes: readonly FieldChange[]): string {
  if (changes.length === 0) return 'no field changed';
  return changes.map((c) => `${c.path}: ${JSON.stringify(c.old)} → ${JSON.stringify(c.new)}`).join('; ');
}
