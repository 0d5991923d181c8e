/**
 * What is wrong with a replication slot Tributary cannot stream from, each said with the way out:
 * another plugin, another database or a physical slot (pick another --slot), invalidated by
 * Postgres (what was lost, and teardown + fresh snapshot — never a silent re-create), or held by
 * another session (which one, and how to end it).
 */
import { TributaryError } from '../../../core/errors.js';
import { formatLsn } from '../../../core/lsn.js';
import type { SlotInfo } from './slot.js';
import { quoteLiteral } from './sql-text.js';

const REASONS: Readonly<Record<string, string>> = {
  wal_removed:
    'the WAL it still needed was removed (it fell further behind than max_slot_wal_keep_size allows)',
  rows_removed:
    'rows it still needed were vacuumed away on the primary (a conflict with recovery on this standby)',
  wal_level_insufficient: 'wal_level was lowered below logical',
  idle_timeout: 'it stayed unused longer than idle_replication_slot_timeout',
};

export function invalidation(slot: SlotInfo): { code: string; why: string } | null {
  if (slot.invalidationReason) {
    const why = REASONS[slot.invalidationReason] ?? `of ${slot.invalidationReason}`;
    return { code: slot.invalidationReason, why };
  }
  if (slot.walStatus === 'lost') return { code: 'wal_status = lost', why: REASONS.wal_removed! };
  if (slot.conflicting) return { code: 'conflicting', why: 'it conflicted with recovery on this standby' };
  return null;
}

const OTHER_NAME =
  'choose another slot name with --slot (slot names are shared by all databases of a server)';

export function wrongDatabaseError(slot: SlotInfo, database: string): TributaryError {
  const name = JSON.stringify(slot.name);
  if (slot.slotType === 'physical')
    return new TributaryError(
      'SLOT_WRONG_DATABASE',
      `replication slot ${name} is a physical slot (for a standby), not a logical one`,
      { hint: OTHER_NAME },
    );
  return new TributaryError(
    'SLOT_WRONG_DATABASE',
    `replication slot ${name} belongs to database ${JSON.stringify(slot.database)}, not ${JSON.stringify(database)}`,
    { hint: `${OTHER_NAME}, or point --source at database ${JSON.stringify(slot.database)}` },
  );
}

export function inUseError(slot: SlotInfo): TributaryError {
  const h = slot.holder;
  const who = [
    h?.applicationName ? `application ${JSON.stringify(h.applicationName)}` : null,
    h?.clientAddress ? `from ${h.clientAddress}` : null,
    h?.since ? `connected since ${h.since.toISOString()}` : null,
  ].filter((s) => s !== null);
  const pid = slot.activePid ?? 0;
  return new TributaryError(
    'SLOT_IN_USE',
    `replication slot ${JSON.stringify(slot.name)} is in use by process ${pid}${who.length > 0 ? ` (${who.join(', ')})` : ''}`,
    {
      hint: `is another tributary process streaming from it? Stop that one first. If it is gone but its session lingers, end the session: SELECT pg_terminate_backend(${pid});`,
    },
  );
}

export function invalidatedError(slot: SlotInfo, lost: { code: string; why: string }): TributaryError {
  const position = slot.confirmedFlushLsn ?? slot.restartLsn;
  const upTo = position === null ? '' : ` It had confirmed changes up to ${formatLsn(position)}.`;
  const when = slot.inactiveSince ? ` It has been unused since ${slot.inactiveSince.toISOString()}.` : '';
  return new TributaryError(
    'SLOT_INVALIDATED',
    `replication slot ${JSON.stringify(slot.name)} was invalidated by Postgres (${lost.code}): ${lost.why}.${upTo}${when} The changes made after that are gone from the WAL, so the warehouse copy cannot be continued from this slot.`,
    {
      hint: `drop the slot — tributary teardown, or SELECT pg_drop_replication_slot(${quoteLiteral(slot.name)}); — then run again to take a fresh snapshot. Tributary never re-creates the slot by itself, because that would hide the lost changes. To keep this from recurring, raise max_slot_wal_keep_size (-1 means no limit) and keep Tributary running.`,
    },
  );
}

export function wrongPluginError(slot: SlotInfo, plugin: string): TributaryError {
  return new TributaryError(
    'SLOT_WRONG_PLUGIN',
    `replication slot ${JSON.stringify(slot.name)} decodes with the output plugin ${JSON.stringify(slot.plugin)}; Tributary reads ${plugin}`,
    {
      hint: `${OTHER_NAME}; or, if nothing uses this slot any more, drop it: SELECT pg_drop_replication_slot(${quoteLiteral(slot.name)});`,
    },
  );
}
