/**
 * Decodes one pgoutput message (the payload of an XLogData frame; its first byte is the message
 * tag) of protocol versions 1 to 4 into a typed `PgoutputMessage`. Ground truth for the layout
 * is Postgres' `src/backend/replication/logical/proto.c`.
 *
 * Contract:
 * - Pure: no I/O, no state kept between calls; the result never aliases `bytes` (binary values
 *   and message contents are copies), so callers may reuse their receive buffers.
 * - `options.inStream` says whether the message sits between Stream Start and Stream Stop; only
 *   then do data messages (Relation, Type, Insert, Update, Delete, Truncate, Message) carry a
 *   leading xid. The caller tracks this; the bytes do not say it.
 * - The whole input must be one message: anything malformed (empty input, unknown tag, truncated
 *   field, negative or oversized length, unknown tuple column kind, replica identity, tuple
 *   marker or flag bit, trailing bytes) throws `TributaryError('PROTOCOL')` naming the message,
 *   the problem and the byte offset. No other exception escapes, and lengths are checked against
 *   the bytes present before anything is allocated. Undefined bits of the Truncate options and
 *   Message flags are rejected (they would change the meaning); the reserved `flags` byte of
 *   Commit, Stream Commit and the two-phase messages is passed through as is.
 * - Text is UTF-8 (invalid sequences become U+FFFD, as `Buffer#toString` does).
 * - LSNs are unsigned 64-bit bigints, timestamps signed µs since 2000-01-01 (`PgEpochMicros`),
 *   xids and OIDs unsigned 32-bit numbers, type modifiers signed. An empty namespace on the wire
 *   means `pg_catalog` and is returned as such, as Postgres' own reader does.
 */
import { ByteReader } from './byte-reader.js';
import type {
  DecodeOptions,
  PgoutputMessage,
  RelationColumn,
  ReplicaIdentity,
  TruncateOption,
  TupleData,
  TupleValue,
} from './messages.js';

const NULL_VALUE: TupleValue = Object.freeze({ kind: 'null' });
const UNCHANGED_VALUE: TupleValue = Object.freeze({ kind: 'unchanged' });

/** Truncate option lists by flag bits (1 cascade, 2 restart identity). */
const TRUNCATE_OPTIONS: readonly (readonly TruncateOption[])[] = [
  Object.freeze([]),
  Object.freeze(['cascade'] as const),
  Object.freeze(['restartIdentity'] as const),
  Object.freeze(['cascade', 'restartIdentity'] as const),
];

/** What each tag is called, for error messages. */
const MESSAGE_CONTEXTS: Readonly<Record<string, string>> = {
  B: "Begin ('B')",
  C: "Commit ('C')",
  O: "Origin ('O')",
  R: "Relation ('R')",
  Y: "Type ('Y')",
  I: "Insert ('I')",
  U: "Update ('U')",
  D: "Delete ('D')",
  T: "Truncate ('T')",
  M: "Message ('M')",
  S: "Stream Start ('S')",
  E: "Stream Stop ('E')",
  c: "Stream Commit ('c')",
  A: "Stream Abort ('A')",
  b: "Begin Prepare ('b')",
  P: "Prepare ('P')",
  K: "Commit Prepared ('K')",
  r: "Rollback Prepared ('r')",
  p: "Stream Prepare ('p')",
};

export function decodePgoutput(bytes: Uint8Array, options: DecodeOptions): PgoutputMessage {
  const r: ByteReader = new ByteReader(bytes);
  if (r.end === 0) r.fail('empty message');
  const tag = String.fromCharCode(r.buf[0]!);
  const context = MESSAGE_CONTEXTS[tag];
  if (context === undefined) r.fail(`unknown message tag ${show(r.buf[0]!)}`, 0);
  r.context = context;
  r.pos = 1;
  const message = decodeBody(r, tag, options.inStream);
  r.expectEnd();
  return message;
}

function decodeBody(r: ByteReader, tag: string, inStream: boolean): PgoutputMessage {
  switch (tag) {
    case 'B':
      return {
        tag: 'begin',
        finalLsn: r.u64('final LSN'),
        commitTime: r.i64('commit time'),
        xid: r.u32('xid'),
      };
    case 'C':
      return {
        tag: 'commit',
        flags: r.u8('flags'),
        commitLsn: r.u64('commit LSN'),
        endLsn: r.u64('end LSN'),
        commitTime: r.i64('commit time'),
      };
    case 'O':
      return { tag: 'origin', originLsn: r.u64('origin LSN'), name: r.cstring('origin name') };
    case 'R':
      return decodeRelation(r, inStream ? r.u32('xid') : null);
    case 'Y':
      return {
        tag: 'type',
        xid: inStream ? r.u32('xid') : null,
        typeOid: r.u32('type OID'),
        schema: namespace(r.cstring('namespace')),
        name: r.cstring('type name'),
      };
    case 'I': {
      const xid = inStream ? r.u32('xid') : null;
      const relationOid = r.u32('relation OID');
      const at = r.pos;
      if (r.u8("tuple marker 'N'") !== 0x4e) r.fail("expected tuple marker 'N'", at);
      return { tag: 'insert', xid, relationOid, newTuple: readTuple(r) };
    }
    case 'U':
      return decodeUpdate(r, inStream ? r.u32('xid') : null);
    case 'D': {
      const xid = inStream ? r.u32('xid') : null;
      const relationOid = r.u32('relation OID');
      const at = r.pos;
      const marker = r.u8("tuple marker 'K' or 'O'");
      if (marker !== 0x4b && marker !== 0x4f)
        r.fail(`expected tuple marker 'K' or 'O', got ${show(marker)}`, at);
      return {
        tag: 'delete',
        xid,
        relationOid,
        oldKind: marker === 0x4b ? 'K' : 'O',
        oldTuple: readTuple(r),
      };
    }
    case 'T':
      return decodeTruncate(r, inStream ? r.u32('xid') : null);
    case 'M':
      return decodeLogicalMessage(r, inStream ? r.u32('xid') : null);
    case 'S': {
      const xid = r.u32('xid');
      const at = r.pos;
      const first = r.u8('first-segment flag');
      if (first > 1) r.fail(`first-segment flag must be 0 or 1, got ${first}`, at);
      return { tag: 'streamStart', xid, firstSegment: first === 1 };
    }
    case 'E':
      return { tag: 'streamStop' };
    case 'c':
      return {
        tag: 'streamCommit',
        xid: r.u32('xid'),
        flags: r.u8('flags'),
        commitLsn: r.u64('commit LSN'),
        endLsn: r.u64('end LSN'),
        commitTime: r.i64('commit time'),
      };
    case 'A':
      return decodeStreamAbort(r);
    case 'b':
      return {
        tag: 'beginPrepare',
        prepareLsn: r.u64('prepare LSN'),
        endLsn: r.u64('end LSN'),
        prepareTime: r.i64('prepare time'),
        xid: r.u32('xid'),
        gid: r.cstring('gid'),
      };
    case 'P':
    case 'p':
      return {
        tag: tag === 'P' ? 'prepare' : 'streamPrepare',
        flags: r.u8('flags'),
        prepareLsn: r.u64('prepare LSN'),
        endLsn: r.u64('end LSN'),
        prepareTime: r.i64('prepare time'),
        xid: r.u32('xid'),
        gid: r.cstring('gid'),
      };
    case 'K':
      return {
        tag: 'commitPrepared',
        flags: r.u8('flags'),
        commitLsn: r.u64('commit LSN'),
        endLsn: r.u64('end LSN'),
        commitTime: r.i64('commit time'),
        xid: r.u32('xid'),
        gid: r.cstring('gid'),
      };
    default: // 'r': the tag was validated against MESSAGE_CONTEXTS
      return {
        tag: 'rollbackPrepared',
        flags: r.u8('flags'),
        prepareEndLsn: r.u64('prepare end LSN'),
        rollbackEndLsn: r.u64('rollback end LSN'),
        prepareTime: r.i64('prepare time'),
        rollbackTime: r.i64('rollback time'),
        xid: r.u32('xid'),
        gid: r.cstring('gid'),
      };
  }
}

function decodeRelation(r: ByteReader, xid: number | null): PgoutputMessage {
  const relationOid = r.u32('relation OID');
  const schema = namespace(r.cstring('namespace'));
  const name = r.cstring('relation name');
  const at = r.pos;
  const identity = r.u8('replica identity');
  // 'd' default, 'f' full, 'i' index, 'n' nothing
  if (identity !== 0x64 && identity !== 0x66 && identity !== 0x69 && identity !== 0x6e)
    r.fail(`unknown replica identity ${show(identity)}`, at);
  const count = r.u16('column count');
  // each column takes at least 10 bytes: flags, an empty name's NUL, type OID, type modifier
  if (count * 10 > r.remaining) r.fail(`column count ${count} exceeds the ${r.remaining} byte(s) remaining`);
  const columns: RelationColumn[] = [];
  for (let i = 0; i < count; i++) {
    const flags = r.u8('column flags');
    columns.push({
      isKey: (flags & 1) === 1,
      name: r.cstring('column name'),
      typeOid: r.u32('column type OID'),
      typeModifier: r.i32('column type modifier'),
    });
  }
  const replicaIdentity = String.fromCharCode(identity) as ReplicaIdentity;
  return { tag: 'relation', xid, relationOid, schema, name, replicaIdentity, columns };
}

function decodeUpdate(r: ByteReader, xid: number | null): PgoutputMessage {
  const relationOid = r.u32('relation OID');
  let at = r.pos;
  let marker = r.u8("tuple marker 'K', 'O' or 'N'");
  let oldKind: 'K' | 'O' | null = null;
  let oldTuple: TupleData | null = null;
  if (marker === 0x4b || marker === 0x4f) {
    oldKind = marker === 0x4b ? 'K' : 'O';
    oldTuple = readTuple(r);
    at = r.pos;
    marker = r.u8("tuple marker 'N'");
    if (marker !== 0x4e) r.fail(`expected tuple marker 'N', got ${show(marker)}`, at);
  } else if (marker !== 0x4e) {
    r.fail(`expected tuple marker 'K', 'O' or 'N', got ${show(marker)}`, at);
  }
  return { tag: 'update', xid, relationOid, oldKind, oldTuple, newTuple: readTuple(r) };
}

function decodeTruncate(r: ByteReader, xid: number | null): PgoutputMessage {
  const countAt = r.pos;
  const count = r.i32('relation count');
  const flagsAt = r.pos;
  const flags = r.u8('options');
  if (count < 0) r.fail(`negative relation count ${count}`, countAt);
  if (flags > 3) r.fail(`unknown truncate option bits 0x${flags.toString(16)}`, flagsAt);
  if (count * 4 > r.remaining) r.fail(`relation count ${count} exceeds the ${r.remaining} byte(s) remaining`);
  const relationOids: number[] = [];
  for (let i = 0; i < count; i++) relationOids.push(r.u32('relation OID'));
  return { tag: 'truncate', xid, options: TRUNCATE_OPTIONS[flags]!, relationOids };
}

function decodeLogicalMessage(r: ByteReader, xid: number | null): PgoutputMessage {
  const at = r.pos;
  const flags = r.u8('flags');
  if (flags > 1) r.fail(`unknown message flag bits 0x${flags.toString(16)}`, at);
  const lsn = r.u64('LSN');
  const prefix = r.cstring('prefix');
  const content = r.bytes(r.length('content'));
  return { tag: 'message', xid, transactional: flags === 1, lsn, prefix, content };
}

function decodeStreamAbort(r: ByteReader): PgoutputMessage {
  const xid = r.u32('xid');
  const subXid = r.u32('subtransaction xid');
  const rest = r.remaining;
  if (rest === 0) return { tag: 'streamAbort', xid, subXid, abortLsn: null, abortTime: null };
  if (rest !== 16) r.fail(`expected 8 or 24 bytes after the tag, got ${8 + rest}`);
  return { tag: 'streamAbort', xid, subXid, abortLsn: r.u64('abort LSN'), abortTime: r.i64('abort time') };
}

/** TupleData: Int16 column count, then per column 'n', 'u', or 't'/'b' with an Int32 length. */
function readTuple(r: ByteReader): TupleData {
  const count = r.u16('tuple column count');
  // every column takes at least its kind byte
  if (count > r.remaining) r.fail(`tuple column count ${count} exceeds the ${r.remaining} byte(s) remaining`);
  const values: TupleValue[] = [];
  for (let i = 0; i < count; i++) {
    const at = r.pos;
    const kind = r.u8('column kind');
    if (kind === 0x74) values.push({ kind: 'text', text: r.utf8(r.length('text value')) });
    else if (kind === 0x6e) values.push(NULL_VALUE);
    else if (kind === 0x75) values.push(UNCHANGED_VALUE);
    else if (kind === 0x62) values.push({ kind: 'binary', bytes: r.bytes(r.length('binary value')) });
    else r.fail(`unknown column kind ${show(kind)} for column ${i}`, at);
  }
  return values;
}

function namespace(name: string): string {
  return name === '' ? 'pg_catalog' : name;
}

function show(byte: number): string {
  const hex = `0x${byte.toString(16).padStart(2, '0')}`;
  return byte >= 0x20 && byte < 0x7f ? `'${String.fromCharCode(byte)}' (${hex})` : hex;
}
