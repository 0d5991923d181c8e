/**
 * Everything checked before Tributary creates or streams anything, on an ordinary connection.
 * Throws the first kind of problem found, each kind with its own code and every instance of it
 * (all tables lacking a replica identity, not just the first), in this order:
 *
 *   names (USAGE) → server version → wal_level → REPLICATION privilege →
 *   slot: usable when it exists (plugin, database, not invalidated, not in use), else room for one →
 *   a free WAL sender → tables: exist, replicable, readable → replica identity.
 *
 * `tables: 'all'` means every user table (see listUserTables); the replica identity check applies
 * to all of them, because each would be published and Postgres would then fail the application's
 * UPDATE and DELETE on any that lacks one. Nothing here changes the database.
 */
import type pg from 'pg';
import { TributaryError } from '../../../core/errors.js';
import { displayName, type TableRef } from '../../../core/table-ref.js';
import { findTablesWithoutReplicaIdentity, noReplicaIdentityError } from './replica-identity.js';
import {
  checkFreeSlot,
  checkFreeWalSender,
  checkReplicationPrivilege,
  checkServerVersion,
  checkWalLevel,
  readServerFacts,
} from './server-checks.js';
import { checkSlotUsable, inspectSlot, type SlotInfo } from './slot.js';
import { slotNameIsValid } from './slot-name.js';
import { resolveTables } from './table-checks.js';
import { listReservedNameTables, listUnloggedTables, listUserTables } from './tables.js';

export interface PreflightRequest {
  readonly slotName: string;
  readonly publicationName: string;
  readonly tables: readonly TableRef[] | 'all';
}

export interface PreflightResult {
  readonly serverVersionNum: number;
  readonly serverVersion: string;
  readonly database: string;
  readonly role: string;
  /** The slot when it exists already (and is usable); null when it is still to be created. */
  readonly slot: SlotInfo | null;
  /** The tables to publish: partitions whose root is listed are left out. */
  readonly tables: readonly TableRef[];
  /** Things worth telling the user that do not stop Tributary. */
  readonly warnings: readonly string[];
}

export function assertPublicationName(name: string): void {
  if (name.length > 0 && Buffer.byteLength(name) <= 63) return;
  throw new TributaryError(
    'USAGE',
    `publication name ${JSON.stringify(name)} is not valid: it must have 1 to 63 bytes`,
    { hint: 'for example --publication tributary' },
  );
}

export async function preflight(client: pg.Client, request: PreflightRequest): Promise<PreflightResult> {
  slotNameIsValid(request.slotName);
  assertPublicationName(request.publicationName);
  if (request.tables !== 'all' && request.tables.length === 0)
    throw new TributaryError('USAGE', 'no tables to replicate', {
      hint: 'name tables with --tables, or leave it out to replicate every table',
    });

  const facts = await readServerFacts(client);
  checkServerVersion(facts);
  checkWalLevel(facts);
  checkReplicationPrivilege(facts);
  const slot = await inspectSlot(client, request.slotName);
  if (slot) checkSlotUsable(slot, { database: facts.database });
  else checkFreeSlot(facts);
  checkFreeWalSender(facts);

  const warnings: string[] = [];
  const wanted = request.tables === 'all' ? await listUserTables(client) : request.tables;
  if (request.tables === 'all') {
    const unlogged = await listUnloggedTables(client);
    if (unlogged.length > 0)
      warnings.push(
        `not replicated, because UNLOGGED tables never reach the WAL: ${unlogged.map(displayName).join(', ')}`,
      );
    const reserved = await listReservedNameTables(client);
    if (reserved.length > 0)
      warnings.push(
        `not replicated, because their names are the warehouse's own (_tributary…, main): ${reserved.map(displayName).join(', ')}`,
      );
    if (wanted.length === 0) warnings.push(`database ${JSON.stringify(facts.database)} has no tables yet`);
  }
  const resolved = await resolveTables(client, wanted);
  for (const { partition, root } of resolved.coveredPartitions)
    warnings.push(
      `${displayName(partition)} is a partition of ${displayName(root)}, which publishes its changes`,
    );

  const problems = await findTablesWithoutReplicaIdentity(client, resolved.tables);
  if (problems.length > 0) throw noReplicaIdentityError(problems);

  return {
    serverVersionNum: facts.versionNum,
    serverVersion: facts.version,
    database: facts.database,
    role: facts.role,
    slot,
    tables: resolved.tables,
    warnings,
  };
}
