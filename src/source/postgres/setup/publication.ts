/**
 * The publication: which tables' changes pgoutput sends. `ensurePublication` makes it match the
 * tables Tributary replicates, changing as little as it can:
 *
 * - missing → CREATE PUBLICATION ... FOR TABLE <explicit list> WITH (publish = 'insert, update,
 *   delete, truncate', publish_via_partition_root = true). Never FOR ALL TABLES: that would also
 *   publish every table created later, and a new table without a primary key would then make the
 *   application's own UPDATE and DELETE on it fail. Tables created later are added explicitly,
 *   after their replica identity is checked.
 * - present → tables wanted but not in it are added (ALTER PUBLICATION ... ADD TABLE) after the
 *   replica identity check; tables in it but not wanted are left alone and reported (`unwanted`).
 *   It must publish all four kinds of change, and via the partition root when a wanted table is
 *   partitioned (else PUBLICATION_MISMATCH: Tributary would miss changes).
 * - present and FOR ALL TABLES (the user made it so; it is theirs) → accepted; its tables without
 *   a replica identity come back as warnings, since Postgres already fails writes to them.
 * - no privilege (42501) → PUBLICATION_PRIVILEGE, naming who must own the tables or run the SQL,
 *   and the exact statement for a DBA.
 *
 * `dropPublication` is for teardown. All names go through quoteIdentifier.
 */
import type pg from 'pg';
import { TributaryError } from '../../../core/errors.js';
import { quoteIdentifier, sameTable, type TableRef } from '../../../core/table-ref.js';
import { messageOf, sqlState } from './pg-error.js';
import {
  includes,
  PUBLICATION_OPTIONS,
  type PublicationContext,
  publishedTables,
  readPublication,
} from './publication-catalog.js';
import { checkPublishes, filterWarnings } from './publication-checks.js';
import { publicationFailure } from './publication-errors.js';
import {
  describeIdentityProblem,
  findTablesWithoutReplicaIdentity,
  type IdentityProblem,
  noReplicaIdentityError,
} from './replica-identity.js';
import { tableListSql } from './sql-text.js';
import { listUserTables } from './tables.js';

export { PUBLICATION_OPTIONS };

export interface PublicationOutcome {
  readonly name: string;
  readonly created: boolean;
  /** A pre-existing FOR ALL TABLES publication. */
  readonly allTables: boolean;
  /** Tables this call put into the publication. */
  readonly added: readonly TableRef[];
  /** Tables in the publication that were not asked for: left alone. */
  readonly unwanted: readonly TableRef[];
  /** FOR ALL TABLES only: published tables without a replica identity. */
  readonly withoutReplicaIdentity: readonly IdentityProblem[];
  readonly warnings: readonly string[];
}

export async function ensurePublication(
  client: pg.Client,
  name: string,
  tables: readonly TableRef[] | 'all',
): Promise<PublicationOutcome> {
  const wanted =
    tables === 'all'
      ? await listUserTables(client)
      : tables.filter((t, i) => tables.findIndex((u) => sameTable(t, u)) === i);
  const { rows: ctx } = await client.query<PublicationContext>(
    'SELECT current_user::text AS role, current_database()::text AS database',
  );
  const context = ctx[0]!;
  let existing = await readPublication(client, name);
  if (!existing) {
    const problems = await findTablesWithoutReplicaIdentity(client, wanted);
    if (problems.length > 0) throw noReplicaIdentityError(problems);
    const forTables = wanted.length > 0 ? ` FOR TABLE ${tableListSql(wanted)}` : '';
    const statement = `CREATE PUBLICATION ${quoteIdentifier(name)}${forTables} WITH (${PUBLICATION_OPTIONS});`;
    try {
      await client.query(statement);
      return {
        name,
        created: true,
        allTables: false,
        added: wanted,
        unwanted: [],
        withoutReplicaIdentity: [],
        warnings: [],
      };
    } catch (error) {
      if (sqlState(error) !== '42710') throw publicationFailure(error, context, name, 'create', statement);
      existing = await readPublication(client, name); // created meanwhile by another process
      if (!existing) throw error;
    }
  }

  await checkPublishes(client, name, existing, wanted);
  const current = await publishedTables(client, name);
  const unwanted = current.filter((t) => !includes(wanted, t));
  if (existing.all_tables) {
    const problems = await findTablesWithoutReplicaIdentity(client, await listUserTables(client));
    const warnings = problems.map(
      (p) =>
        `publication ${JSON.stringify(name)} is FOR ALL TABLES and publishes ${describeIdentityProblem(p)}: Postgres fails UPDATE and DELETE on it`,
    );
    return {
      name,
      created: false,
      allTables: true,
      added: [],
      unwanted,
      withoutReplicaIdentity: problems,
      warnings,
    };
  }

  const missing = wanted.filter((t) => !includes(current, t));
  if (missing.length > 0) {
    const problems = await findTablesWithoutReplicaIdentity(client, missing);
    if (problems.length > 0) throw noReplicaIdentityError(problems);
    const statement = `ALTER PUBLICATION ${quoteIdentifier(name)} ADD TABLE ${tableListSql(missing)};`;
    try {
      await client.query(statement);
    } catch (error) {
      throw publicationFailure(error, context, name, 'alter', statement, existing.owner);
    }
  }
  const warnings = await filterWarnings(client, name, wanted);
  return {
    name,
    created: false,
    allTables: false,
    added: missing,
    unwanted,
    withoutReplicaIdentity: [],
    warnings,
  };
}

/** Drops the publication if it exists (true) or reports it absent (false). */
export async function dropPublication(client: pg.Client, name: string): Promise<boolean> {
  if (!(await readPublication(client, name))) return false;
  try {
    await client.query(`DROP PUBLICATION IF EXISTS ${quoteIdentifier(name)}`);
    return true;
  } catch (error) {
    if (sqlState(error) !== '42501') throw error;
    throw new TributaryError(
      'PUBLICATION_PRIVILEGE',
      `may not drop publication ${JSON.stringify(name)}: ${messageOf(error)}`,
      {
        cause: error,
        hint: `have its owner or a superuser run: DROP PUBLICATION ${quoteIdentifier(name)};`,
      },
    );
  }
}
