/**
 * Server-wide preconditions for logical replication, read in one query (`readServerFacts`) and
 * judged by pure functions, each throwing its own error with the change to make:
 *
 * - PostgreSQL 14 or newer (UNSUPPORTED_SERVER);
 * - wal_level = logical (WAL_LEVEL; changing it needs a restart);
 * - the login role may open replication connections: superuser, the REPLICATION attribute, or
 *   on Amazon RDS/Aurora membership in rds_replication (REPLICATION_PRIVILEGE). The walsender
 *   checks the role that logs in, so this looks at session_user. (pg_create_subscription is not
 *   enough: it lets a role create subscriptions on a subscriber, not stream from a publisher.)
 * - room for one more slot when Tributary's slot does not exist yet (NO_FREE_SLOT), and a free
 *   WAL sender for the replication connection (NO_FREE_WAL_SENDER).
 */
import type pg from 'pg';
import { TributaryError } from '../../../core/errors.js';
import { quoteIdentifier } from '../../../core/table-ref.js';
import { quoteLiteral } from './sql-text.js';

export const MIN_SERVER_VERSION_NUM = 140000;

export interface ServerFacts {
  readonly versionNum: number;
  readonly version: string;
  readonly walLevel: string;
  readonly maxReplicationSlots: number;
  readonly maxWalSenders: number;
  /** The login role (session_user). */
  readonly role: string;
  readonly database: string;
  readonly superuser: boolean;
  readonly replication: boolean;
  readonly rdsReplication: boolean;
  /** Every slot on the server (slots are server-wide). */
  readonly slots: readonly { readonly name: string; readonly active: boolean }[];
  /** WAL senders running now (physical and logical). */
  readonly walSenders: number;
}

export async function readServerFacts(client: pg.Client): Promise<ServerFacts> {
  const { rows } = await client.query(
    `SELECT current_setting('server_version_num')::int AS version_num,
            current_setting('server_version') AS version,
            current_setting('wal_level') AS wal_level,
            current_setting('max_replication_slots')::int AS max_replication_slots,
            current_setting('max_wal_senders')::int AS max_wal_senders,
            session_user::text AS role, current_database()::text AS database,
            r.rolsuper AS superuser, r.rolreplication AS replication,
            COALESCE((SELECT pg_has_role(session_user, oid, 'MEMBER') FROM pg_roles
                      WHERE rolname = 'rds_replication'), false) AS rds_replication,
            (SELECT count(*)::int FROM pg_stat_replication) AS wal_senders,
            (SELECT COALESCE(json_agg(json_build_object('name', slot_name, 'active', active) ORDER BY slot_name), '[]')
             FROM pg_replication_slots) AS slots
     FROM pg_roles r WHERE r.rolname = session_user`,
  );
  const r = rows[0]!;
  return {
    versionNum: r.version_num,
    version: r.version,
    walLevel: r.wal_level,
    maxReplicationSlots: r.max_replication_slots,
    maxWalSenders: r.max_wal_senders,
    role: r.role,
    database: r.database,
    superuser: r.superuser,
    replication: r.replication,
    rdsReplication: r.rds_replication,
    slots: r.slots,
    walSenders: r.wal_senders,
  };
}

export function checkServerVersion(facts: ServerFacts): void {
  if (facts.versionNum >= MIN_SERVER_VERSION_NUM) return;
  throw new TributaryError(
    'UNSUPPORTED_SERVER',
    `PostgreSQL ${facts.version} is too old: Tributary needs PostgreSQL 14 or newer (pgoutput protocol 2 and later, streaming of large transactions)`,
    { hint: 'upgrade the source server to PostgreSQL 14 or newer' },
  );
}

export function checkWalLevel(facts: ServerFacts): void {
  if (facts.walLevel === 'logical') return;
  throw new TributaryError(
    'WAL_LEVEL',
    `wal_level is ${JSON.stringify(facts.walLevel)} on the source server; logical replication needs "logical"`,
    {
      hint: 'as a superuser run ALTER SYSTEM SET wal_level = logical; then restart Postgres (a reload is not enough). On managed services set it in the server parameters instead (Amazon RDS/Aurora: rds.logical_replication = 1; Cloud SQL: cloudsql.logical_decoding = on; Azure: wal_level = logical).',
    },
  );
}

export function checkReplicationPrivilege(facts: ServerFacts): void {
  if (facts.superuser || facts.replication || facts.rdsReplication) return;
  const role = quoteIdentifier(facts.role);
  throw new TributaryError(
    'REPLICATION_PRIVILEGE',
    `role ${JSON.stringify(facts.role)} may not stream changes: logical replication needs a superuser or a role with the REPLICATION attribute`,
    {
      hint: `as a superuser run: ALTER ROLE ${role} WITH REPLICATION;  (on Amazon RDS/Aurora: GRANT rds_replication TO ${role};)`,
    },
  );
}

/** For a slot Tributary is about to create: there must be room for it. */
export function checkFreeSlot(facts: ServerFacts): void {
  const used = facts.slots.length;
  if (used < facts.maxReplicationSlots) return;
  const inactive = facts.slots.filter((s) => !s.active).map((s) => s.name);
  const drop =
    inactive.length > 0
      ? ` or drop a slot nothing needs any more (inactive now: ${inactive.join(', ')}; a dropped slot cannot be brought back): SELECT pg_drop_replication_slot(${quoteLiteral(inactive[0]!)});`
      : ' (every existing slot is in use)';
  throw new TributaryError(
    'NO_FREE_SLOT',
    `no free replication slot: ${used} of max_replication_slots = ${facts.maxReplicationSlots} are taken`,
    {
      hint: `raise max_replication_slots: ALTER SYSTEM SET max_replication_slots = ${facts.maxReplicationSlots + 1}; then restart Postgres;${drop}`,
    },
  );
}

export function checkFreeWalSender(facts: ServerFacts): void {
  if (facts.walSenders < facts.maxWalSenders) return;
  throw new TributaryError(
    'NO_FREE_WAL_SENDER',
    `no free WAL sender: ${facts.walSenders} of max_wal_senders = ${facts.maxWalSenders} are running`,
    {
      hint: `raise max_wal_senders: ALTER SYSTEM SET max_wal_senders = ${facts.maxWalSenders + 1}; then restart Postgres; or stop a replication client that is not needed (SELECT pid, application_name, client_addr FROM pg_stat_replication lists them)`,
    },
  );
}
