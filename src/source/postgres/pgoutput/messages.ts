/**
 * The messages of PostgreSQL's pgoutput logical decoding plugin, protocol versions 1 to 4
 * (https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html), as typed
 * values. `decodePgoutput` (decode.ts) turns one message's bytes into one of these; nothing in
 * here does I/O.
 *
 * `xid` on data messages is present only inside a streamed transaction (protocol ≥ 2 with
 * streaming on); it is then the xid of the (sub)transaction that made the change.
 */
import type { Lsn } from '../../../core/lsn.js';

/** Microseconds since 2000-01-01 00:00:00 UTC, as Postgres timestamps travel on the wire. */
export type PgEpochMicros = bigint;

/** One column of a TupleData. Text and binary values are kept undecoded here. */
export type TupleValue =
  | { readonly kind: 'null' }
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'binary'; readonly bytes: Uint8Array };

export type TupleData = readonly TupleValue[];

export interface RelationColumn {
  /** Part of the replica identity (flag bit 1). With REPLICA IDENTITY FULL every column is. */
  readonly isKey: boolean;
  readonly name: string;
  readonly typeOid: number;
  readonly typeModifier: number;
}

/** 'd' default, 'n' nothing, 'f' full, 'i' index */
export type ReplicaIdentity = 'd' | 'n' | 'f' | 'i';

export type TruncateOption = 'cascade' | 'restartIdentity';

export type PgoutputMessage =
  | {
      readonly tag: 'begin';
      readonly finalLsn: Lsn;
      readonly commitTime: PgEpochMicros;
      readonly xid: number;
    }
  | {
      readonly tag: 'commit';
      readonly flags: number;
      readonly commitLsn: Lsn;
      readonly endLsn: Lsn;
      readonly commitTime: PgEpochMicros;
    }
  | { readonly tag: 'origin'; readonly originLsn: Lsn; readonly name: string }
  | {
      readonly tag: 'relation';
      readonly xid: number | null;
      readonly relationOid: number;
      readonly schema: string;
      readonly name: string;
      readonly replicaIdentity: ReplicaIdentity;
      readonly columns: readonly RelationColumn[];
    }
  | {
      readonly tag: 'type';
      readonly xid: number | null;
      readonly typeOid: number;
      readonly schema: string;
      readonly name: string;
    }
  | {
      readonly tag: 'insert';
      readonly xid: number | null;
      readonly relationOid: number;
      readonly newTuple: TupleData;
    }
  | {
      readonly tag: 'update';
      readonly xid: number | null;
      readonly relationOid: number;
      /** 'K': the old key columns (replica identity changed); 'O': the whole old row (FULL). */
      readonly oldKind: 'K' | 'O' | null;
      readonly oldTuple: TupleData | null;
      readonly newTuple: TupleData;
    }
  | {
      readonly tag: 'delete';
      readonly xid: number | null;
      readonly relationOid: number;
      readonly oldKind: 'K' | 'O';
      readonly oldTuple: TupleData;
    }
  | {
      readonly tag: 'truncate';
      readonly xid: number | null;
      readonly options: readonly TruncateOption[];
      readonly relationOids: readonly number[];
    }
  | {
      readonly tag: 'message';
      readonly xid: number | null;
      readonly transactional: boolean;
      readonly lsn: Lsn;
      readonly prefix: string;
      readonly content: Uint8Array;
    }
  | { readonly tag: 'streamStart'; readonly xid: number; readonly firstSegment: boolean }
  | { readonly tag: 'streamStop' }
  | {
      readonly tag: 'streamCommit';
      readonly xid: number;
      readonly flags: number;
      readonly commitLsn: Lsn;
      readonly endLsn: Lsn;
      readonly commitTime: PgEpochMicros;
    }
  | {
      readonly tag: 'streamAbort';
      readonly xid: number;
      readonly subXid: number;
      /** Present with protocol 4 and `streaming 'parallel'`. */
      readonly abortLsn: Lsn | null;
      readonly abortTime: PgEpochMicros | null;
    }
  | {
      readonly tag: 'beginPrepare';
      readonly prepareLsn: Lsn;
      readonly endLsn: Lsn;
      readonly prepareTime: PgEpochMicros;
      readonly xid: number;
      readonly gid: string;
    }
  | {
      readonly tag: 'prepare';
      readonly flags: number;
      readonly prepareLsn: Lsn;
      readonly endLsn: Lsn;
      readonly prepareTime: PgEpochMicros;
      readonly xid: number;
      readonly gid: string;
    }
  | {
      readonly tag: 'commitPrepared';
      readonly flags: number;
      readonly commitLsn: Lsn;
      readonly endLsn: Lsn;
      readonly commitTime: PgEpochMicros;
      readonly xid: number;
      readonly gid: string;
    }
  | {
      readonly tag: 'rollbackPrepared';
      readonly flags: number;
      readonly prepareEndLsn: Lsn;
      readonly rollbackEndLsn: Lsn;
      readonly prepareTime: PgEpochMicros;
      readonly rollbackTime: PgEpochMicros;
      readonly xid: number;
      readonly gid: string;
    }
  | {
      readonly tag: 'streamPrepare';
      readonly flags: number;
      readonly prepareLsn: Lsn;
      readonly endLsn: Lsn;
      readonly prepareTime: PgEpochMicros;
      readonly xid: number;
      readonly gid: string;
    };

export type PgoutputTag = PgoutputMessage['tag'];

export interface DecodeOptions {
  /**
   * Whether the decoder is inside a Stream Start … Stream Stop block, where data messages carry
   * an xid. The caller tracks this (the bytes do not say it).
   */
  readonly inStream: boolean;
}
