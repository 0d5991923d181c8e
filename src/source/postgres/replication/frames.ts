/**
 * The streaming replication protocol's CopyData payloads
 * (https://www.postgresql.org/docs/current/protocol-replication.html): XLogData ('w') and
 * Primary keepalive ('k') from the server, Standby status update ('r') from us. Pure functions.
 */
import { TributaryError } from '../../../core/errors.js';
import type { Lsn } from '../../../core/lsn.js';

export type ReplicationFrame =
  | {
      readonly kind: 'xlogData';
      readonly walStart: Lsn;
      readonly walEnd: Lsn;
      readonly sendTime: bigint;
      /** A view into the input: decode it before the input buffer is reused. */
      readonly payload: Buffer;
    }
  | {
      readonly kind: 'keepalive';
      readonly walEnd: Lsn;
      readonly sendTime: bigint;
      readonly replyRequested: boolean;
    };

const XLOG_DATA = 0x77; // 'w'
const KEEPALIVE = 0x6b; // 'k'
const STATUS_UPDATE = 0x72; // 'r'

export function parseFrame(chunk: Buffer): ReplicationFrame {
  const tag = chunk[0];
  if (tag === XLOG_DATA) {
    if (chunk.length < 25)
      throw new TributaryError('PROTOCOL', `XLogData frame of ${chunk.length} bytes is truncated`);
    return {
      kind: 'xlogData',
      walStart: chunk.readBigUInt64BE(1),
      walEnd: chunk.readBigUInt64BE(9),
      sendTime: chunk.readBigInt64BE(17),
      payload: chunk.subarray(25),
    };
  }
  if (tag === KEEPALIVE) {
    if (chunk.length < 18)
      throw new TributaryError('PROTOCOL', `keepalive frame of ${chunk.length} bytes is truncated`);
    return {
      kind: 'keepalive',
      walEnd: chunk.readBigUInt64BE(1),
      sendTime: chunk.readBigInt64BE(9),
      replyRequested: chunk[17] === 1,
    };
  }
  throw new TributaryError('PROTOCOL', `unexpected replication frame type 0x${(tag ?? 0).toString(16)}`);
}

/** Microseconds since 2000-01-01 UTC, the protocol's clock, from Unix milliseconds. */
export function pgClock(unixMillis: number): bigint {
  return (BigInt(Math.round(unixMillis)) - 946_684_800_000n) * 1000n;
}

export interface StatusUpdate {
  /** Last WAL position received. */
  readonly written: Lsn;
  /** Last WAL position durably processed downstream: the slot's confirmed_flush_lsn follows it. */
  readonly flushed: Lsn;
  readonly applied: Lsn;
  readonly clock: bigint;
  readonly replyRequested: boolean;
}

export function encodeStatusUpdate(update: StatusUpdate): Buffer {
  const frame = Buffer.allocUnsafe(34);
  frame[0] = STATUS_UPDATE;
  frame.writeBigUInt64BE(update.written, 1);
  frame.writeBigUInt64BE(update.flushed, 9);
  frame.writeBigUInt64BE(update.applied, 17);
  frame.writeBigInt64BE(update.clock, 25);
  frame[33] = update.replyRequested ? 1 : 0;
  return frame;
}
