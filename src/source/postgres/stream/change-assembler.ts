/**
 * Turns decoded pgoutput messages (one committed transaction at a time, in commit order) into
 * stream items with positions: each change or transactional message takes the next ordinal of
 * its transaction, `(commitLsn, ordinal)`; a non-transactional message sits at `(lsn, -1)`.
 *
 * It also keeps the stream exact across reconnects within a process: after a reconnect the
 * server resends from the slot's confirmed position, so transactions already emitted are
 * skipped, and a transaction cut off mid-way resumes after its last emitted item. (Across
 * process restarts the downstream dedups by position; see DESIGN.md.)
 *
 * Every emitted transaction is reported to the flush tracker in the same order, so the slot is
 * only ever acknowledged up to what downstream made durable.
 */
import {
  type ChangeEvent,
  COMMIT_ORDINAL,
  type Row,
  type StreamItem,
  type TableSchema,
} from '../../../core/change-event.js';
import { TributaryError } from '../../../core/errors.js';
import type { Lsn } from '../../../core/lsn.js';
import { comparePositions, type Position } from '../../../core/position.js';
import { displayName } from '../../../core/table-ref.js';
import { PgTimestampTz } from '../../../core/values.js';
import type { PgoutputMessage, TupleData } from '../pgoutput/messages.js';
import type { FlushTracker } from '../replication/flush-tracker.js';
import { RESERVED_COLUMN_PREFIX, reservedColumnsError } from '../setup/table-checks.js';
import type { RelationMessage } from './relation-schema.js';
import { type ColumnDecoder, decodeTuple, keyOf, type RowShape } from './row-builder.js';

/** Postgres timestamps on the wire count from 2000-01-01; ours from 1970-01-01. */
const PG_EPOCH_OFFSET_MICROS = 946_684_800_000_000n;

export interface ResolvedRelation {
  readonly schema: TableSchema;
  readonly decoders: readonly ColumnDecoder[];
}

export interface RelationResolver {
  /** Column decoders and key for a relation; may read the catalog. */
  resolve(message: RelationMessage): Promise<ResolvedRelation>;
}

interface CachedRelation extends RowShape {
  readonly schema: TableSchema;
  readonly keySet: ReadonlySet<string>;
  /** The tuple's fields to decode, when some are left out (`_tributary_…` columns); else null. */
  readonly kept: readonly number[] | null;
}

interface OpenTransaction {
  readonly commitLsn: Lsn;
  readonly xid: number;
  readonly commitTime: PgTimestampTz;
  ordinal: number;
  changes: number;
  lastPosition: Position | null;
}

export interface AssemblerOptions {
  /** Non-transactional messages with this prefix only move the acknowledged position. */
  readonly heartbeatPrefix: string;
  /** Told, at a Relation message, of the `_tributary_…` columns left out of it. */
  readonly onLeftOut?: (table: string, columns: readonly string[]) => void;
}

export class ChangeAssembler {
  readonly #resolver: RelationResolver;
  readonly #tracker: FlushTracker;
  readonly #emit: (item: StreamItem) => void;
  readonly #options: AssemblerOptions;
  readonly #relations = new Map<number, CachedRelation>();
  readonly #emittedVersions = new Map<number, string>();
  #txn: OpenTransaction | null = null;
  #skipping = false;
  #lastEmitted: Position | null;
  #lastClosedCommit: Lsn;

  constructor(
    resolver: RelationResolver,
    tracker: FlushTracker,
    emit: (item: StreamItem) => void,
    options: AssemblerOptions,
    resumeAfter: Position | null = null,
  ) {
    this.#resolver = resolver;
    this.#tracker = tracker;
    this.#emit = emit;
    this.#options = options;
    this.#lastEmitted = resumeAfter;
    this.#lastClosedCommit = resumeAfter ? resumeAfter.commitLsn - 1n : -1n;
  }

  get lastEmitted(): Position | null {
    return this.#lastEmitted;
  }

  /** A new walsender session resends Relation messages; forget the old ones and any open txn. */
  newSession(): void {
    this.#relations.clear();
    this.#txn = null;
    this.#skipping = false;
  }

  /** Handles one message; returns a promise only when it must wait (catalog lookups). */
  handle(message: PgoutputMessage): void | Promise<void> {
    switch (message.tag) {
      case 'begin':
        return this.begin(message.finalLsn, message.xid, message.commitTime);
      case 'commit':
        return this.commit(message.commitLsn, message.endLsn);
      case 'relation':
        return this.#relation(message);
      case 'type':
      case 'origin':
        return;
      case 'insert':
      case 'update':
      case 'delete':
        return this.#change(message);
      case 'truncate':
        return this.#truncate(message);
      case 'message':
        return this.#message(message);
      default:
        throw new TributaryError(
          'PROTOCOL',
          `unexpected pgoutput message '${message.tag}' outside its context`,
        );
    }
  }

  begin(commitLsn: Lsn, xid: number, commitTimePg: bigint): void {
    if (this.#txn)
      throw new TributaryError('PROTOCOL', `Begin of ${xid} inside transaction ${this.#txn.xid}`);
    this.#skipping = commitLsn <= this.#lastClosedCommit;
    if (this.#skipping) return;
    this.#tracker.beginTransaction(commitLsn);
    this.#txn = {
      commitLsn,
      xid,
      commitTime: new PgTimestampTz(commitTimePg + PG_EPOCH_OFFSET_MICROS),
      ordinal: 0,
      changes: 0,
      lastPosition: null,
    };
  }

  commit(commitLsn: Lsn, endLsn: Lsn): void {
    if (this.#skipping) {
      this.#skipping = false;
      return;
    }
    const txn = this.#requireTxn('Commit');
    if (txn.commitLsn !== commitLsn) {
      throw new TributaryError('PROTOCOL', `Commit at ${commitLsn} does not match Begin at ${txn.commitLsn}`);
    }
    this.#txn = null;
    this.#emit({
      kind: 'commit',
      commitLsn,
      endLsn,
      xid: txn.xid,
      commitTime: txn.commitTime,
      changes: txn.changes,
    });
    // the transaction counts once its commit item is durable, not just its last change: a
    // downstream that writes commits (tail --out) acknowledging a batch cut between the two
    // must not let the slot pass a transaction whose commit line it never wrote
    this.#tracker.commitTransaction(
      endLsn,
      txn.lastPosition === null ? null : { commitLsn, ordinal: COMMIT_ORDINAL },
    );
    this.#lastClosedCommit = commitLsn;
  }

  async #relation(message: RelationMessage): Promise<void> {
    // a column named like Tributary's own, added while running (setup refuses one that exists
    // then), is left out rather than stop the stream for good: the historic Relation keeps it
    // even after a rename. The snapshot leaves it out too (snapshot-table.ts).
    const reserved = message.columns.filter((c) => c.name.startsWith(RESERVED_COLUMN_PREFIX));
    let kept: number[] | null = null;
    if (reserved.length > 0) {
      const table = { schema: message.schema, name: message.name };
      if (reserved.some((c) => c.isKey))
        throw reservedColumnsError(reserved.map((c) => ({ table, column: c.name })));
      kept = message.columns.flatMap((c, i) => (c.name.startsWith(RESERVED_COLUMN_PREFIX) ? [] : [i]));
      this.#options.onLeftOut?.(
        displayName(table),
        reserved.map((c) => c.name),
      );
      message = {
        ...message,
        columns: kept.map((i) => message.columns[i] as RelationMessage['columns'][number]),
      };
    }
    const { schema, decoders } = await this.#resolver.resolve(message);
    this.#relations.set(message.relationOid, {
      schema,
      decoders,
      names: schema.columns.map((c) => c.name),
      tableName: displayName(schema.table),
      keySet: new Set(schema.key),
      kept,
    });
    // its schema item goes out before the relation's first change (#relationFor), not here:
    // pgoutput describes a partition as well as its root (publish_via_partition_root), though
    // every change of it comes as the root's, and the partition's schema item made an empty
    // table of it in the warehouse (which verify then compared, and refused)
  }

  #relationFor(oid: number): CachedRelation {
    const relation = this.#relations.get(oid);
    if (!relation)
      throw new TributaryError('PROTOCOL', `change for relation ${oid} before its Relation message`);
    if (this.#emittedVersions.get(oid) !== relation.schema.version) {
      // the first change since its Relation message (or since a transaction skipped after a
      // reconnect carried it): the schema item goes just before it
      this.#emittedVersions.set(oid, relation.schema.version);
      this.#emit({ kind: 'schema', schema: relation.schema });
    }
    return relation;
  }

  /** The next position in the open transaction, or null when it was already emitted. */
  #nextPosition(txn: OpenTransaction): Position | null {
    const position = { commitLsn: txn.commitLsn, ordinal: txn.ordinal++ };
    if (this.#lastEmitted && comparePositions(position, this.#lastEmitted) <= 0) return null;
    txn.lastPosition = position;
    this.#lastEmitted = position;
    return position;
  }

  #change(message: Extract<PgoutputMessage, { tag: 'insert' | 'update' | 'delete' }>): void {
    if (this.#skipping) return;
    const txn = this.#requireTxn(message.tag);
    const relation = this.#relationFor(message.relationOid);
    const position = this.#nextPosition(txn);
    if (!position) return;
    let row: Row | null = null;
    let before: Row | null = null;
    let unchanged: readonly string[] = [];
    if (message.tag === 'delete') {
      before = decodeTuple(
        relation,
        fields(relation, message.oldTuple),
        message.oldKind === 'K' ? relation.keySet : undefined,
      ).row;
    } else {
      const decoded = decodeTuple(relation, fields(relation, message.newTuple));
      if (message.tag === 'update' && message.oldTuple) {
        const old = decodeTuple(
          relation,
          fields(relation, message.oldTuple),
          message.oldKind === 'K' ? relation.keySet : undefined,
        ).row;
        before = old;
        if (message.oldKind === 'O' && decoded.unchanged.length > 0) {
          // REPLICA IDENTITY FULL: the old row holds the unchanged values themselves
          decoded.unchanged = decoded.unchanged.filter((name) => {
            if (!Object.hasOwn(old, name)) return true;
            decoded.row[name] = old[name]!;
            return false;
          });
        }
      }
      row = decoded.row;
      unchanged = decoded.unchanged;
    }
    const event: ChangeEvent = {
      op: message.tag,
      table: relation.schema.table,
      pk: keyOf(relation.schema.key, row, before),
      row,
      before,
      unchanged,
      position,
      xid: txn.xid,
      commitTime: txn.commitTime,
      schemaVersion: relation.schema.version,
    };
    txn.changes++;
    this.#emit({ kind: 'change', event });
  }

  #truncate(message: Extract<PgoutputMessage, { tag: 'truncate' }>): void {
    if (this.#skipping) return;
    const txn = this.#requireTxn('truncate');
    const cascade = message.options.includes('cascade');
    const restartIdentity = message.options.includes('restartIdentity');
    for (const oid of message.relationOids) {
      const relation = this.#relationFor(oid);
      const position = this.#nextPosition(txn);
      if (!position) continue;
      txn.changes++;
      this.#emit({
        kind: 'change',
        event: {
          op: 'truncate',
          table: relation.schema.table,
          pk: null,
          row: null,
          before: null,
          unchanged: [],
          position,
          xid: txn.xid,
          commitTime: txn.commitTime,
          schemaVersion: relation.schema.version,
          truncate: { cascade, restartIdentity },
        },
      });
    }
  }

  #message(message: Extract<PgoutputMessage, { tag: 'message' }>): void {
    const content = Uint8Array.prototype.slice.call(message.content); // own the bytes
    if (message.transactional) {
      if (this.#skipping) return;
      const txn = this.#requireTxn('transactional message');
      const position = this.#nextPosition(txn);
      if (!position) return;
      this.#emit({
        kind: 'message',
        message: { transactional: true, lsn: message.lsn, prefix: message.prefix, content, position },
      });
      return;
    }
    if (message.prefix === this.#options.heartbeatPrefix) {
      this.#tracker.keepalive(message.lsn);
      return;
    }
    const position = { commitLsn: message.lsn, ordinal: -1 };
    if (this.#lastEmitted && comparePositions(position, this.#lastEmitted) <= 0) return;
    this.#lastEmitted = position;
    this.#emit({
      kind: 'message',
      message: { transactional: false, lsn: message.lsn, prefix: message.prefix, content, position },
    });
    this.#tracker.standalone(position, message.lsn);
  }

  #requireTxn(what: string): OpenTransaction {
    if (!this.#txn) throw new TributaryError('PROTOCOL', `${what} outside a transaction`);
    return this.#txn;
  }
}

/** The fields of `tuple` the relation decodes (all, unless some columns are left out). */
function fields(relation: CachedRelation, tuple: TupleData): TupleData {
  return relation.kept ? relation.kept.map((i) => tuple[i] as TupleData[number]) : tuple;
}
