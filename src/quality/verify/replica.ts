/**
 * Verify's source snapshot read on a hot standby, so production serves none of the reads.
 *
 * A standby's snapshot shows the transactions whose commit record it replayed. While the replay
 * position R (`pg_last_wal_replay_lsn()`, the end of the last record replayed) stands still,
 * that is every transaction whose commit record starts before R — Tributary's `commitLsn` — so
 * the loader stops at R exactly as it stops at a slot's consistent point on the primary. One
 * transaction is in doubt: the startup process makes a commit visible (CLOG, known-assigned
 * xids) a moment before it advances R past the record, so a snapshot taken in that moment sees
 * the transaction of the record right after R too. R read before and after the export being
 * equal bounds the doubt to that one record; the loader refuses the point when the first
 * transaction at or after R committed there (`PinPoint.unsureThrough`), and verify starts over.
 * No slot, no pause of the standby's replay, no privilege beyond reading.
 *
 * The exporting session is held until the comparison ends, and must still be there then. A
 * standby replaying cleanup (a prune) that removes rows the snapshot sees first waits for the
 * sessions whose snapshot conflicts — but it lists them once, when it starts waiting. A worker
 * that imports the snapshot after that is not on the list: were the exporter released when the
 * workers hold the snapshot, the standby would go on and remove rows under them (seen on
 * Postgres 15: rows updated just after the point vanished from the standby's read, with no
 * conflict counted). Held, the exporter keeps any such wait going until verify is done; if the
 * standby cancels it instead (past max_standby_streaming_delay), verify fails rather than trust
 * what the workers read.
 *
 * `pg_current_snapshot()` cannot place the stop on a standby (in recovery the running
 * transactions sit in the snapshot's subxip, which it does not print), hence the position.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { TributaryError } from '../../core/errors.js';
import { formatLsn, type Lsn, parseLsn } from '../../core/lsn.js';
import { connectClient } from '../../source/postgres/setup/connect.js';
import { describeTarget, type SourceConfig } from '../../source/postgres/setup/connection-config.js';

export interface ReplicaSnapshot {
  /** The exported snapshot, for `SET TRANSACTION SNAPSHOT` on the standby. */
  readonly name: string;
  /** The replay position the snapshot was taken at. */
  readonly point: Lsn;
  /**
   * The last position the record right after `point` can start at (after a page header when
   * `point` ends a page): a transaction committed in `[point, unsureThrough]` may be seen.
   */
  readonly unsureThrough: Lsn;
  /** Hold the exporting session until the comparison ended (see the header). */
  readonly holdToEnd: true;
  /** Whether the exporting session is still there (the standby did not cancel it). */
  alive(): Promise<boolean>;
  /** Ends the exporting session. */
  release(): Promise<void>;
}

/** The long page header that starts a WAL segment; the short one is 24 bytes. */
const LONG_PAGE_HEADER = 40n;

const NUDGE_AFTER_MS = 500;

/**
 * Waits until `replica` replayed past `bound` (a WAL position of the primary), then exports a
 * snapshot there while its replay stands still. `primary` writes a logical message now and
 * then while waiting, so an idle primary's last WAL reaches the standby.
 */
export async function exportOnReplica(
  replica: SourceConfig,
  primary: pg.Client,
  bound: Lsn,
  deadline: number,
  messagePrefix: string,
): Promise<ReplicaSnapshot> {
  const where = describeTarget(replica);
  const client = await connectClient(replica, { applicationName: 'tributary verify' });
  let handedOver = false;
  try {
    await client.query('SET idle_in_transaction_session_timeout = 0');
    await checkStandbyOf(client, primary, where);
    const blockSize = BigInt(
      (await client.query<{ size: string }>(`SELECT current_setting('wal_block_size') AS size`)).rows[0]!
        .size,
    );
    let nudged = Date.now();
    for (;;) {
      const replayed = await replayPosition(client, where);
      if (replayed >= bound) break;
      if (Date.now() > deadline) {
        throw new TributaryError(
          'SINK',
          `the replica ${where} did not replay up to the source's ${formatLsn(bound)} in time (it is at ${formatLsn(replayed)})`,
          {
            hint: 'is it streaming from the source? (pg_stat_wal_receiver on the replica); or raise --point-timeout',
          },
        );
      }
      if (Date.now() - nudged > NUDGE_AFTER_MS) {
        await primary.query('SELECT pg_logical_emit_message(true, $1, $2)', [messagePrefix, 'replica']);
        nudged = Date.now();
      }
      await sleep(20);
    }
    for (;;) {
      const before = await replayPosition(client, where);
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      const exported = await client.query<{ name: string }>('SELECT pg_export_snapshot() AS name');
      const after = await replayPosition(client, where);
      if (after === before) {
        handedOver = true;
        const pageEnd = before % blockSize === 0n;
        let released = false;
        return {
          name: exported.rows[0]!.name,
          point: before,
          unsureThrough: pageEnd ? before + LONG_PAGE_HEADER : before,
          holdToEnd: true,
          alive: async () => {
            if (released) return false;
            try {
              await client.query('SELECT 1');
              return true;
            } catch {
              return false;
            }
          },
          release: async () => {
            if (released) return;
            released = true;
            await client.end().catch(() => {});
          },
        };
      }
      await client.query('ROLLBACK');
      if (Date.now() > deadline) {
        throw new TributaryError(
          'SINK',
          `the replica ${where} never stood still long enough to take a snapshot`,
          {
            hint: 'try again, or raise --point-timeout',
          },
        );
      }
      await sleep(2);
    }
  } finally {
    if (!handedOver) await client.end().catch(() => {});
  }
}

async function replayPosition(client: pg.Client, where: string): Promise<Lsn> {
  const row = (
    await client.query<{ recovering: boolean; lsn: string | null }>(
      'SELECT pg_is_in_recovery() AS recovering, pg_last_wal_replay_lsn()::text AS lsn',
    )
  ).rows[0]!;
  if (!row.recovering || row.lsn === null) {
    throw new TributaryError('CONFIG', `the replica ${where} is not a standby (it is not in recovery)`, {
      hint: 'give --replica a hot standby of the source, or leave it out to read the source itself',
    });
  }
  return parseLsn(row.lsn);
}

/** Refuses a server that is not a standby, or a standby of another cluster (when both may say). */
async function checkStandbyOf(replica: pg.Client, primary: pg.Client, where: string): Promise<void> {
  await replayPosition(replica, where);
  const identity = async (client: pg.Client): Promise<string | null> => {
    try {
      return (
        await client.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()')
      ).rows[0]!.id;
    } catch {
      return null; // not allowed to read it: the replay wait still catches a stranger
    }
  };
  const [ours, theirs] = [await identity(primary), await identity(replica)];
  if (ours !== null && theirs !== null && ours !== theirs) {
    throw new TributaryError(
      'CONFIG',
      `the replica ${where} is a standby of another cluster, not of the source`,
      {
        hint: 'give --replica a hot standby of the source (same system identifier in pg_control_system())',
      },
    );
  }
}
