/**
 * Decides which WAL position the slot may be acknowledged up to (DESIGN.md, "Acknowledgement").
 *
 * The source tells the tracker, in stream order, what it emitted: transactions (opened at
 * Begin, closed at Commit with their end LSN and last position), standalone logical messages,
 * and keepalives received while no transaction was open. Downstream tells it, through
 * `acknowledge`, the highest position that is durably committed. The flush LSN is the end LSN
 * of the last entry such that it and everything before it is durable:
 *
 * - a transaction counts once downstream has made its last item durable — the assembler passes
 *   its commit item's position, so a downstream that writes commits (tail --out) has written the
 *   commit too (an empty one counts as soon as everything before it has); its end LSN is
 *   acknowledged, so a restart does not resend it;
 * - a transaction still open is never passed, even if a keepalive reports a later WAL position:
 *   the walsender may report its read position while it is still sending that transaction;
 * - a keepalive counts once everything emitted before it is durable, so an idle database (or one
 *   busy only in other databases or unpublished tables) does not pile up WAL.
 *
 * Pure: no I/O, no clock. Entries are coalesced so an idle stream does not grow the queue.
 */
import { TributaryError } from '../../../core/errors.js';
import { type Lsn, maxLsn } from '../../../core/lsn.js';
import { comparePositions, type Position } from '../../../core/position.js';

interface Entry {
  /** The position that must be durable for this entry to count; null: nothing to wait for. */
  lastPosition: Position | null;
  endLsn: Lsn;
}

export class FlushTracker {
  readonly #pending: Entry[] = [];
  #head = 0;
  #open: { commitLsn: Lsn } | null = null;
  #durable: Position | null = null;
  #flushLsn: Lsn;

  /** @param startLsn the slot's confirmed flush position when streaming started */
  constructor(startLsn: Lsn = 0n) {
    this.#flushLsn = startLsn;
  }

  get flushLsn(): Lsn {
    return this.#flushLsn;
  }

  /** Whether anything emitted is still waiting for downstream durability. */
  get inFlight(): boolean {
    return this.#open !== null || this.#head < this.#pending.length;
  }

  get openTransaction(): Lsn | null {
    return this.#open?.commitLsn ?? null;
  }

  beginTransaction(commitLsn: Lsn): void {
    if (this.#open) {
      if (this.#open.commitLsn === commitLsn) return; // resent after a reconnect: same transaction
      throw new TributaryError(
        'INTERNAL',
        `transaction at ${commitLsn} began while the one at ${this.#open.commitLsn} is still open`,
      );
    }
    this.#open = { commitLsn };
  }

  /** @param lastPosition the position of the transaction's last emitted item, or null if none */
  commitTransaction(endLsn: Lsn, lastPosition: Position | null): void {
    if (!this.#open) throw new TributaryError('INTERNAL', 'commit without an open transaction');
    this.#open = null;
    this.#push(lastPosition, endLsn);
  }

  /** A non-transactional logical message, emitted downstream at `position`. */
  standalone(position: Position, endLsn: Lsn): void {
    this.#push(position, endLsn);
  }

  /**
   * A keepalive's WAL end, received in stream order. Ignored while a transaction is open (see
   * the file comment); otherwise it counts once everything before it is durable.
   */
  keepalive(walEnd: Lsn): void {
    if (this.#open) return;
    this.#push(null, walEnd);
  }

  /** Downstream has durably committed everything up to and including `position`. */
  acknowledge(position: Position): void {
    if (this.#durable && comparePositions(position, this.#durable) <= 0) return;
    this.#durable = position;
    this.#advance();
  }

  #push(lastPosition: Position | null, endLsn: Lsn): void {
    const tail = this.#pending[this.#pending.length - 1];
    if (lastPosition === null && tail && this.#head < this.#pending.length && tail.lastPosition === null) {
      tail.endLsn = maxLsn(tail.endLsn, endLsn); // coalesce empty entries
    } else {
      this.#pending.push({ lastPosition, endLsn });
    }
    this.#advance();
  }

  #advance(): void {
    while (this.#head < this.#pending.length) {
      const entry = this.#pending[this.#head]!;
      if (
        entry.lastPosition !== null &&
        (!this.#durable || comparePositions(entry.lastPosition, this.#durable) > 0)
      ) {
        break;
      }
      this.#flushLsn = maxLsn(this.#flushLsn, entry.endLsn);
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#pending.length) {
      this.#pending.splice(0, this.#head);
      this.#head = 0;
    }
  }
}
