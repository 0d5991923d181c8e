/**
 * The replication slot, seen from an ordinary connection: read it (`inspectSlot`), decide whether
 * Tributary may stream from it (`checkSlotUsable`), drop it for teardown (`dropSlot`;
 * `dropPublication` is re-exported beside it), and check a name before anything is created
 * (`slotNameIsValid`). Creating the slot is the replication connection's job (it must export the
 * snapshot the initial copy reads).
 *
 * pg_replication_slots grows with the server version: wal_status (13), two_phase (14),
 * conflicting (16), invalidation_reason and inactive_since (17). Columns a server lacks read as
 * null.
 *
 * An invalidated slot is never dropped and re-created silently: the changes between its last
 * confirmed position and now are gone from the WAL, and a fresh slot would hide that hole in the
 * warehouse copy. The user decides (teardown, then a fresh snapshot).
 */
import type pg from 'pg';
import { TributaryError } from '../../../core/errors.js';
import { type Lsn, parseLsn } from '../../../core/lsn.js';
import { messageOf, sqlState } from './pg-error.js';
import { serverVersionNum } from './server-version.js';
import {
  inUseError,
  invalidatedError,
  invalidation,
  wrongDatabaseError,
  wrongPluginError,
} from './slot-errors.js';
import { quoteLiteral } from './sql-text.js';

export { dropPublication } from './publication.js';
export { slotNameIsValid } from './slot-name.js';

export interface SlotHolder {
  readonly pid: number;
  readonly applicationName: string | null;
  readonly clientAddress: string | null;
  readonly since: Date | null;
}

export interface SlotInfo {
  readonly name: string;
  readonly plugin: string | null;
  readonly slotType: 'logical' | 'physical';
  readonly database: string | null;
  readonly active: boolean;
  readonly activePid: number | null;
  readonly confirmedFlushLsn: Lsn | null;
  readonly restartLsn: Lsn | null;
  /** reserved | extended | unreserved | lost (PG13+). */
  readonly walStatus: string | null;
  /** wal_removed | rows_removed | wal_level_insufficient | idle_timeout ... (PG17+). */
  readonly invalidationReason: string | null;
  /** Invalidated by a conflict with recovery on a standby (PG16+). */
  readonly conflicting: boolean | null;
  readonly twoPhase: boolean | null;
  /** When the slot was last released (PG17+). */
  readonly inactiveSince: Date | null;
  /** The session streaming from the slot, when active. */
  readonly holder: SlotHolder | null;
}

export const PLUGIN = 'pgoutput';

function column(version: number, since: number, name: string, type: string): string {
  return version >= since ? `s.${name}` : `NULL::${type} AS ${name}`;
}

interface Row {
  name: string;
  plugin: string | null;
  slot_type: string;
  database: string | null;
  active: boolean;
  active_pid: number | null;
  restart_lsn: string | null;
  confirmed_flush_lsn: string | null;
  wal_status: string | null;
  two_phase: boolean | null;
  conflicting: boolean | null;
  invalidation_reason: string | null;
  inactive_since: Date | null;
  application_name: string | null;
  client_addr: string | null;
  backend_start: Date | null;
}

export async function inspectSlot(client: pg.Client, name: string): Promise<SlotInfo | null> {
  const v = await serverVersionNum(client);
  const { rows } = await client.query<Row>(
    `SELECT s.slot_name::text AS name, s.plugin::text AS plugin, s.slot_type, s.database::text AS database,
            s.active, s.active_pid, s.restart_lsn::text AS restart_lsn,
            s.confirmed_flush_lsn::text AS confirmed_flush_lsn,
            ${column(v, 130000, 'wal_status', 'text')}, ${column(v, 140000, 'two_phase', 'bool')},
            ${column(v, 160000, 'conflicting', 'bool')}, ${column(v, 170000, 'invalidation_reason', 'text')},
            ${column(v, 170000, 'inactive_since', 'timestamptz')},
            a.application_name, a.client_addr::text AS client_addr, a.backend_start
     FROM pg_replication_slots s LEFT JOIN pg_stat_activity a ON a.pid = s.active_pid
     WHERE s.slot_name = $1`,
    [name],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    name: r.name,
    plugin: r.plugin,
    slotType: r.slot_type === 'physical' ? 'physical' : 'logical',
    database: r.database,
    active: r.active,
    activePid: r.active_pid,
    confirmedFlushLsn: r.confirmed_flush_lsn === null ? null : parseLsn(r.confirmed_flush_lsn),
    restartLsn: r.restart_lsn === null ? null : parseLsn(r.restart_lsn),
    walStatus: r.wal_status,
    invalidationReason: r.invalidation_reason,
    conflicting: r.conflicting,
    twoPhase: r.two_phase,
    inactiveSince: r.inactive_since,
    holder:
      r.active_pid === null
        ? null
        : {
            pid: r.active_pid,
            applicationName: r.application_name || null,
            clientAddress: r.client_addr,
            since: r.backend_start,
          },
  };
}

export interface SlotUsableOptions {
  /** The database Tributary is connected to. */
  readonly database: string;
  /** A session of this very process that may hold the slot (e.g. its own replication connection). */
  readonly ownPid?: number;
}

/** Throws unless Tributary may stream from this slot: logical, this database, pgoutput, valid, free. */
export function checkSlotUsable(slot: SlotInfo, options: SlotUsableOptions): void {
  if (slot.slotType === 'physical' || slot.database !== options.database)
    throw wrongDatabaseError(slot, options.database);
  if (slot.plugin !== PLUGIN) throw wrongPluginError(slot, PLUGIN);
  const lost = invalidation(slot);
  if (lost) throw invalidatedError(slot, lost);
  if (slot.active && slot.activePid !== options.ownPid) throw inUseError(slot);
}

/** Drops the slot if it exists (true) or reports it absent (false). Refuses a slot in use or of another database. */
export async function dropSlot(client: pg.Client, name: string): Promise<boolean> {
  const slot = await inspectSlot(client, name);
  if (!slot) return false;
  const { rows } = await client.query<{ db: string }>('SELECT current_database()::text AS db');
  const database = rows[0]!.db;
  if (slot.slotType === 'physical' || slot.database !== database) throw wrongDatabaseError(slot, database);
  if (slot.active) throw inUseError(slot);
  try {
    await client.query('SELECT pg_drop_replication_slot($1)', [name]);
    return true;
  } catch (error) {
    const state = sqlState(error);
    if (state === '42704') return false; // dropped meanwhile
    if (state === '55006')
      throw new TributaryError(
        'SLOT_IN_USE',
        `replication slot ${JSON.stringify(name)} is in use: ${messageOf(error)}`,
        {
          cause: error,
          hint: 'stop the process streaming from it first (see pg_replication_slots.active_pid)',
        },
      );
    if (state === '42501')
      throw new TributaryError(
        'REPLICATION_PRIVILEGE',
        `may not drop replication slot ${JSON.stringify(name)}: ${messageOf(error)}`,
        {
          cause: error,
          hint: `run teardown as a superuser or a role WITH REPLICATION, or have one run SELECT pg_drop_replication_slot(${quoteLiteral(name)});`,
        },
      );
    throw error;
  }
}
