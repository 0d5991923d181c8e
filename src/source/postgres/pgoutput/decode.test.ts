/**
 * decodePgoutput against messages captured from real servers (test/fixtures/pgoutput, written by
 * capture.ts from the scenarios in scenarios.ts): every capture of every major and profile must
 * decode, obey the protocol's structure (transactions, streams, two-phase pairs, relations before
 * rows) and carry exactly the values the scenarios wrote. The second half decodes hand-built
 * frames: extreme values servers do not produce on demand, and malformed input, which must fail
 * with a PROTOCOL error naming the message and the byte offset.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  decodeFixture,
  isBinary,
  isParallel,
  isStreaming,
  loadPgoutputFixtures,
  type PgoutputFixture,
} from '../../../../test/fixtures/pgoutput/fixtures.js';
import { Frame } from '../../../../test/fixtures/pgoutput/frames.js';
import {
  changes,
  countWithTrimmed,
  type Msg,
  only,
  relationNamed,
  row,
  type Tag,
  tags,
  UNCHANGED,
} from '../../../../test/fixtures/pgoutput/query.js';
import { checkCaptureStructure } from '../../../../test/fixtures/pgoutput/structure.js';
import { TributaryError } from '../../../core/errors.js';
import { decodePgoutput } from './decode.js';
import type { DecodeOptions } from './messages.js';

const FIXTURES = loadPgoutputFixtures();
const MAJORS = [...new Set(FIXTURES.map((f) => f.major))];

function fixturesOf(scenario: string, major?: number): PgoutputFixture[] {
  return FIXTURES.filter((f) => f.scenario === scenario && (major === undefined || f.major === major));
}

function label(f: PgoutputFixture): string {
  return `pg${f.major} ${f.profile}`;
}

const utf8 = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

describe('every capture', () => {
  it('covers both protocol families and every message type', () => {
    expect(MAJORS.length).toBeGreaterThanOrEqual(1);
    const seen = new Set<Tag>();
    for (const f of FIXTURES) for (const d of decodeFixture(f)) seen.add(d.message.tag);
    const all: Tag[] = ['begin', 'commit', 'origin', 'relation', 'type', 'insert', 'update', 'delete'];
    all.push('truncate', 'message', 'streamStart', 'streamStop', 'streamCommit', 'streamAbort');
    all.push('beginPrepare', 'prepare', 'commitPrepared', 'rollbackPrepared', 'streamPrepare');
    expect([...seen].sort()).toEqual(all.sort());
  });

  it.each(FIXTURES.map((f) => [`pg${f.major} ${f.scenario} ${f.profile}`, f] as const))(
    '%s decodes and is well formed',
    (_name, f) => {
      const decoded = decodeFixture(f);
      expect(f.total).toBe(f.messages.length + f.omitted.reduce((sum, run) => sum + run.count, 0));
      for (let k = 1; k < decoded.length; k++) expect(decoded[k]!.i).toBeGreaterThan(decoded[k - 1]!.i);
      checkCaptureStructure(f, decoded);
    },
  );
});

const ITEM_COLUMNS = [
  ['id', 23, -1],
  ['name', 25, -1],
  ['label', 1043, 24],
  ['qty', 23, -1],
  ['price', 1700, (10 << 16) + 2 + 4],
  ['tags', 1009, -1],
  ['seen', 1184, -1],
  ['flag', 16, -1],
  ['data', 17, -1],
  ['doc', 3802, -1],
] as const;
const N9 = Array<null>(9).fill(null);
const ROW_1 = [
  '1',
  'widget',
  'W-1',
  '10',
  '12.50',
  '{a,b}',
  '2024-01-02 03:04:05.123456+00',
  't',
  '\\x0001ff',
];
const ROW_3 = ['3', 'héllo wörld ✓ 🎉', '', '0', '-0.01', '{}', 'infinity', 'f', '\\x', '"x"'];
const ROW_4 = ['4', 'multi\nline "quoted" \\ back', 'L', '-2147483648', '99999999.99', '{"with space",NULL}'];
ROW_1.push('{"k": [1, 2]}');
ROW_4.push('1999-12-31 23:59:59+00', 't', '\\xdeadbeef', '[]');

/** µs since 2000-01-01 UTC for a JS date. */
function pgMicros(isoUtc: string, extraMicros = 0): bigint {
  return BigInt(Date.parse(isoUtc) - Date.UTC(2000, 0, 1)) * 1000n + BigInt(extraMicros);
}

describe.each(MAJORS)('pg%i basic', (major) => {
  it.each(fixturesOf('basic', major).map((f) => [label(f), f] as const))('%s', (_name, f) => {
    const decoded = decodeFixture(f);
    expect(tags(decoded)).toEqual([
      ...['begin', 'relation', 'insert', 'commit'],
      ...Array(3).fill(['begin', 'insert', 'commit']).flat(),
      ...['begin', 'update', 'commit', 'begin', 'update', 'commit', 'begin', 'delete', 'commit'],
      ...['begin', 'update', 'commit'],
    ]);
    const items = relationNamed(decoded, 'items');
    expect(items).toMatchObject({ schema: 'public', replicaIdentity: 'd', xid: null });
    expect(items.columns.map((c) => [c.name, c.typeOid, c.typeModifier])).toEqual(ITEM_COLUMNS);
    expect(items.columns.map((c) => c.isKey)).toEqual([true, ...Array(9).fill(false)]);
    const [insert1, insert2, insert3, insert4] = only(decoded, 'insert');
    const [update1, update2, update3] = only(decoded, 'update');
    const [del] = only(decoded, 'delete');
    expect(row(insert2!.newTuple, items)).toEqual(['2', ...N9]);
    expect(row(del!.oldTuple, items)).toEqual(['2', ...N9]);
    expect(del!.oldKind).toBe('K');
    expect([update1!.oldKind, update1!.oldTuple, update3!.oldKind]).toEqual([null, null, null]);
    expect(update2!.oldKind).toBe('K');
    expect(row(update2!.oldTuple, items)).toEqual(['1', ...N9]);
    if (!isBinary(f)) {
      expect(row(insert1!.newTuple, items)).toEqual(ROW_1);
      expect(row(insert3!.newTuple, items)).toEqual(ROW_3);
      expect(row(insert4!.newTuple, items)).toEqual(ROW_4);
      expect(row(update1!.newTuple, items)).toEqual(ROW_1.map((v, i) => (i === 3 ? '11' : v)));
      expect(row(update2!.newTuple, items)).toEqual(
        ROW_1.map((v, i) => (i === 3 ? '11' : i === 0 ? '10' : v)),
      );
      expect(row(update3!.newTuple, items)).toEqual(ROW_3.map((v, i) => (i === 1 ? null : v)));
    } else {
      const seen = Buffer.alloc(8);
      seen.writeBigInt64BE(pgMicros('2024-01-02T03:04:05Z', 123456));
      expect(row(insert1!.newTuple, items)).toEqual([
        ...['1', 'widget', 'W-1', '10', '0x0002000000000002000c1388'],
        expect.stringMatching(/^0x00000001/), // a one-dimensional text[]
        `0x${seen.toString('hex')}`,
        ...['0x01', '0x0001ff', `0x01${Buffer.from('{"k": [1, 2]}').toString('hex')}`],
      ]);
      expect(row(insert3!.newTuple, items).slice(0, 4)).toEqual(['3', 'héllo wörld ✓ 🎉', '', '0']);
      expect(row(insert3!.newTuple, items)[8]).toBe('0x');
      expect(row(insert4!.newTuple, items).slice(0, 4)).toEqual(['4', ROW_4[1], 'L', '-2147483648']);
      expect(row(update2!.newTuple, items).slice(0, 4)).toEqual(['10', 'widget', 'W-1', '11']);
      expect(update3!.newTuple[1]).toEqual({ kind: 'null' });
    }
  });
});

describe.each(MAJORS)('pg%i replica identities', (major) => {
  it.each(fixturesOf('identity', major).map((f) => [label(f), f] as const))('%s', (_name, f) => {
    const decoded = decodeFixture(f);
    const full = relationNamed(decoded, 'full_rows');
    const index = relationNamed(decoded, 'ri_index');
    const nothing = relationNamed(decoded, 'ri_nothing');
    const shapes = relationNamed(decoded, 'shapes');
    expect(full.replicaIdentity).toBe('f');
    expect(full.columns.map((c) => c.isKey)).toEqual([true, true]);
    expect(index.replicaIdentity).toBe('i');
    expect(index.columns.map((c) => [c.name, c.isKey])).toEqual([
      ['id', false],
      ['code', true],
      ['note', false],
    ]);
    expect(nothing.replicaIdentity).toBe('n');
    expect(nothing.columns.map((c) => [c.name, c.isKey])).toEqual([['v', false]]);
    // the dropped column and the generated one are not published
    expect(shapes.columns.map((c) => c.name)).toEqual(['id', 'w', 'h']);
    const changes = decoded
      .map((d) => d.message)
      .filter((m) => m.tag === 'insert' || m.tag === 'update' || m.tag === 'delete');
    const summary = changes.map((m) => {
      const relation = [full, index, nothing, shapes].find((r) => r.relationOid === m.relationOid)!;
      if (m.tag === 'insert') return [relation.name, 'I', row(m.newTuple, relation)];
      if (m.tag === 'delete') return [relation.name, `D${m.oldKind}`, row(m.oldTuple, relation)];
      const old = m.oldTuple ? row(m.oldTuple, relation) : null;
      return [relation.name, `U${m.oldKind ?? ''}`, old, row(m.newTuple, relation)];
    });
    expect(summary).toEqual([
      ['full_rows', 'I', ['1', 'one']],
      ['full_rows', 'I', ['2', 'two']],
      ['full_rows', 'UO', ['1', 'one'], ['1', 'uno']],
      ['full_rows', 'DO', ['2', 'two']],
      ['ri_index', 'I', ['1', 'A-1', 'note']],
      ['ri_index', 'UK', [null, 'A-1', null], ['1', 'A-2', 'note']],
      ['ri_index', 'U', null, ['1', 'A-2', 'changed']],
      ['ri_index', 'DK', [null, 'A-2', null]],
      ['ri_nothing', 'I', ['nothing-1']],
      ['shapes', 'I', ['1', '3', '4']],
    ]);
  });
});

describe.each(MAJORS)('pg%i unchanged TOAST', (major) => {
  const body = Array.from({ length: 100 }, (_, g) =>
    createHash('md5')
      .update(String(g + 1))
      .digest('hex'),
  );
  it.each(fixturesOf('toast', major).map((f) => [label(f), f] as const))('%s', (_name, f) => {
    const decoded = decodeFixture(f);
    const docs = relationNamed(decoded, 'docs');
    const [insert] = only(decoded, 'insert');
    const [renamed, shortened] = only(decoded, 'update');
    const [del] = only(decoded, 'delete');
    expect(row(insert!.newTuple, docs)).toEqual(['1', 'first', body.join('')]);
    expect(row(renamed!.newTuple, docs)).toEqual(['1', 'renamed', UNCHANGED]);
    expect(row(shortened!.newTuple, docs)).toEqual(['1', 'renamed', 'short now']);
    expect(row(del!.oldTuple, docs)).toEqual(['1', null, null]);
  });
});

describe.each(MAJORS)('pg%i truncate', (major) => {
  it.each(fixturesOf('truncate', major).map((f) => [label(f), f] as const))('%s', (_name, f) => {
    const decoded = decodeFixture(f);
    const names = new Map(only(decoded, 'relation').map((r) => [r.relationOid, r.name]));
    expect(
      only(decoded, 'truncate').map((t) => [t.options, t.relationOids.map((oid) => names.get(oid))]),
    ).toEqual([
      [[], ['plain_a']],
      [['restartIdentity'], ['plain_a', 'plain_b']],
      [['cascade'], ['parent', 'child']],
      [
        ['cascade', 'restartIdentity'],
        ['parent', 'child'],
      ],
    ]);
    expect(row(only(decoded, 'insert')[0]!.newTuple, relationNamed(decoded, 'plain_a'))).toEqual(['1', 'a']);
  });
});

describe.each(MAJORS)('pg%i logical messages', (major) => {
  it.each(fixturesOf('messages', major).map((f) => [label(f), f] as const))('%s', (_name, f) => {
    const decoded = decodeFixture(f);
    expect(tags(decoded)).toEqual([
      ...['message', 'begin', 'message', 'message', 'relation', 'insert', 'commit'],
      ...['begin', 'message', 'commit', 'message', 'message'],
    ]);
    const bytes = (text: string) => new Uint8Array(Buffer.from(text));
    expect(only(decoded, 'message').map((m) => [m.transactional, m.prefix, m.content])).toEqual([
      [false, 'tributary.nontx', bytes('outside any transaction')],
      [true, 'tributary.tx', bytes('inside ✓')],
      [true, 'tributary.bytes', new Uint8Array([0x00, 0xff, 0x0a])],
      [true, 'tributary.only', bytes('only a message')],
      [false, 'tributary.nontx', bytes('survives rollback')],
      [false, '', new Uint8Array()],
    ]);
    expect(utf8(only(decoded, 'message')[1]!.content)).toBe('inside ✓');
  });
});

describe.each(MAJORS)('pg%i types', (major) => {
  it.each(fixturesOf('types', major).map((f) => [label(f), f] as const))('%s', (_name, f) => {
    const decoded = decodeFixture(f);
    const types = only(decoded, 'type');
    expect(types.map((t) => [t.schema, t.name, t.xid])).toEqual([
      ['inventory', 'mood', null],
      ['inventory', '_mood', null],
      ['pg_catalog', 'int4', null], // a domain is announced by its base type's name
    ]);
    const feelings = relationNamed(decoded, 'feelings');
    expect(feelings.schema).toBe('inventory');
    expect(feelings.columns.map((c) => c.typeOid)).toEqual([23, ...types.map((t) => t.typeOid)]);
    const [happy, empty] = only(decoded, 'insert');
    expect(row(empty!.newTuple, feelings)).toEqual(['2', null, null, null]);
    const values = row(happy!.newTuple, feelings);
    if (isBinary(f)) expect(values).toEqual(['1', '0x6861707079', expect.any(String), '0x00000007']);
    else expect(values).toEqual(['1', 'happy', '{sad,happy}', '7']);
  });
});

describe.each(MAJORS)('pg%i origin', (major) => {
  it.each(fixturesOf('origin', major).map((f) => [label(f), f] as const))('%s', (_name, f) => {
    const decoded = decodeFixture(f);
    expect(tags(decoded)).toEqual(['begin', 'origin', 'relation', 'insert', 'commit']);
    expect(only(decoded, 'origin')).toEqual([
      { tag: 'origin', originLsn: 0x1_2345_6789n, name: 'upstream-a' },
    ]);
    // the origin's timestamp becomes the transaction's commit time
    const originTime = pgMicros('2024-05-06T07:08:09.5Z');
    expect(only(decoded, 'begin')[0]!.commitTime).toBe(originTime);
    expect(only(decoded, 'commit')[0]!.commitTime).toBe(originTime);
  });
});

describe.each(MAJORS)('pg%i large transaction, committed', (major) => {
  it.each(fixturesOf('stream-commit', major).map((f) => [label(f), f] as const))('%s', (_name, f) => {
    const decoded = decodeFixture(f);
    const streaming = isStreaming(f);
    const first = decoded[0]!.message;
    const last = decoded.at(-1)!.message;
    expect(first.tag).toBe(streaming ? 'streamStart' : 'begin');
    expect(last.tag).toBe(streaming ? 'streamCommit' : 'commit');
    const xid = streaming ? (first as Msg<'streamStart'>).xid : null;
    if (streaming) {
      expect((last as Msg<'streamCommit'>).xid).toBe(xid);
      expect(only(decoded, 'streamStart').length).toBeGreaterThan(1);
      expect(only(decoded, 'streamStart').map((s) => s.xid)).toEqual(
        only(decoded, 'streamStart').map(() => xid),
      );
    }
    const [message] = only(decoded, 'message');
    expect(message).toMatchObject({ xid, transactional: true, prefix: 'tributary.stream' });
    expect(utf8(message!.content)).toBe('inside a stream');
    expect(only(decoded, 'truncate').map((t) => [t.xid, t.options])).toEqual([[xid, []]]);
    expect(only(decoded, 'type').map((t) => [t.xid, t.name])).toEqual([
      [xid, 'mood'],
      [xid, '_mood'],
      [xid, 'int4'],
    ]);
    const rows = changes(decoded);
    expect(rows.every((c) => c.xid === xid)).toBe(true);
    const bulkInserts = rows.filter((c) => c.relation === 'bulk' && c.tag === 'insert');
    const md5 = (n: number) => createHash('md5').update(String(n)).digest('hex');
    expect(bulkInserts.slice(0, 3).map((c) => c.values)).toEqual([1, 2, 3].map((n) => [String(n), md5(n)]));
    expect(bulkInserts.at(-1)!.values).toEqual(['3000', md5(3000)]);
    expect(rows.filter((c) => c.relation !== 'bulk').map((c) => [c.relation, c.values])).toEqual([
      ['scratch', ['1']],
      [
        'feelings',
        isBinary(f) ? ['100', '0x6f6b', expect.any(String), '0x00000005'] : ['100', 'ok', '{ok}', '5'],
      ],
    ]);
    expect(rows.slice(-2).map((c) => [c.tag, c.values])).toEqual([
      ['update', ['1', 'changed']],
      ['delete', ['2', null]],
    ]);
    expect(countWithTrimmed(f, decoded, 'insert')).toBe(3002);
  });
});

describe.each(MAJORS)('pg%i large transaction, rolled back', (major) => {
  it.each(fixturesOf('stream-abort', major).map((f) => [label(f), f] as const))('%s', (_name, f) => {
    const decoded = decodeFixture(f);
    // Postgres 18 no longer streams a transaction it already knows aborted (decoding through SQL
    // runs after the fact); 15 streams it until it notices, then sends Stream Abort.
    if (!isStreaming(f) || major >= 18) {
      expect(decoded).toEqual([]);
      return;
    }
    expect(tags(decoded)).toEqual(['streamStart', 'streamStop', 'streamAbort']);
    const start = only(decoded, 'streamStart')[0]!;
    expect(start.firstSegment).toBe(true);
    expect(only(decoded, 'streamAbort')[0]).toMatchObject({ xid: start.xid, subXid: start.xid });
  });

  it.each(fixturesOf('stream-abort-immediate', major).map((f) => [label(f), f] as const))(
    '%s, streamed change by change',
    (_name, f) => {
      const decoded = decodeFixture(f);
      if (!isStreaming(f)) {
        expect(decoded).toEqual([]);
        return;
      }
      expect(tags(decoded)).toEqual(['streamStart', 'streamStop', 'streamAbort']);
      const start = only(decoded, 'streamStart')[0]!;
      const abort = only(decoded, 'streamAbort')[0]!;
      expect(abort).toMatchObject({ xid: start.xid, subXid: start.xid });
      if (isParallel(f)) {
        expect(abort.abortLsn).toBe(decoded[2]!.lsn);
        expect(abort.abortTime! > pgMicros('2024-01-01T00:00:00Z')).toBe(true);
      }
    },
  );
});

describe.each(MAJORS)('pg%i large transaction with a rolled back savepoint', (major) => {
  it.each(fixturesOf('stream-subabort', major).map((f) => [label(f), f] as const))('%s', (_name, f) => {
    const decoded = decodeFixture(f);
    const rows = changes(decoded);
    const payloads = (p: string) => rows.filter((c) => c.values[1] === p);
    expect(payloads('top')[0]!.values).toEqual(['20001', 'top']);
    expect(payloads('after rollback').map((c) => c.values[0])).toEqual(['24501']);
    if (!isStreaming(f)) {
      expect(payloads('sub')).toEqual([]);
      expect(countWithTrimmed(f, decoded, 'insert')).toBe(1501);
      expect(rows.every((c) => c.xid === null)).toBe(true);
      return;
    }
    const top = only(decoded, 'streamStart')[0]!.xid;
    const [abort] = only(decoded, 'streamAbort');
    const sub = abort!.subXid;
    expect(abort!.xid).toBe(top);
    expect(sub).toBeGreaterThan(top);
    expect(payloads('top').every((c) => c.xid === top)).toBe(true);
    expect(payloads('sub').every((c) => c.xid === sub)).toBe(true);
    expect(payloads('sub')[0]!.values[0]).toBe('21501');
    const after = payloads('after rollback')[0]!.xid!;
    expect(after).toBeGreaterThan(sub);
    // only the savepoint's rows streamed before it was rolled back are sent; the rest are dropped
    expect(payloads('sub').at(-1)!.i).toBeLessThan(decoded.find((d) => d.message === abort)!.i);
    const streamedSub = countWithTrimmed(f, decoded, 'insert') - 1501;
    expect(streamedSub).toBeGreaterThan(0);
    expect(streamedSub).toBeLessThanOrEqual(3000);
    const commit = only(decoded, 'streamCommit')[0]!;
    expect(commit.xid).toBe(top);
    if (isParallel(f)) {
      expect(abort!.abortLsn! < commit.commitLsn).toBe(true);
      expect(abort!.abortTime! <= commit.commitTime).toBe(true);
    }
  });
});

describe.each(MAJORS)('pg%i two-phase commit', (major) => {
  it.each(fixturesOf('two-phase', major).map((f) => [label(f), f] as const))('%s', (_name, f) => {
    const decoded = decodeFixture(f);
    const items = relationNamed(decoded, 'items');
    const values = changes(decoded).map((c) => c.values.slice(0, 2));
    if (!f.twoPhaseSlot) {
      // without two_phase the prepared transaction is decoded at COMMIT PREPARED, like any other
      expect(tags(decoded)).toEqual(['begin', 'relation', 'insert', 'commit']);
      expect(values).toEqual([['100', 'prepared then committed']]);
      return;
    }
    expect(tags(decoded)).toEqual([
      ...['beginPrepare', 'relation', 'insert', 'prepare', 'commitPrepared'],
      ...['beginPrepare', 'insert', 'prepare', 'rollbackPrepared'],
    ]);
    expect(values).toEqual([
      ['100', 'prepared then committed'],
      ['101', 'prepared then rolled back'],
    ]);
    expect(items.columns).toHaveLength(10);
    const gids = decoded.map((d) => ('gid' in d.message ? d.message.gid : null)).filter((g) => g !== null);
    expect(gids).toEqual([...Array(3).fill('tributary-commit ✓'), ...Array(3).fill('tributary-rollback')]);
    const [commitPrepared] = only(decoded, 'commitPrepared');
    const [prepared] = only(decoded, 'prepare');
    expect(commitPrepared!.commitTime >= prepared!.prepareTime).toBe(true);
  });
});

describe.each(MAJORS)('pg%i large prepared transactions', (major) => {
  it.each(fixturesOf('stream-prepare', major).map((f) => [label(f), f] as const))('%s', (_name, f) => {
    const decoded = decodeFixture(f);
    const rows = changes(decoded);
    expect(rows.every((c) => c.values[1] === 'prepared')).toBe(true);
    if (!isStreaming(f)) {
      expect(tags(decoded).filter((t) => t !== 'insert')).toEqual(['begin', 'relation', 'commit']);
      expect(countWithTrimmed(f, decoded, 'insert')).toBe(3000);
      return;
    }
    const big = only(decoded, 'streamStart')[0]!.xid;
    const ends = decoded.filter((d) => !d.inStream && !['streamStart', 'insert'].includes(d.message.tag));
    const endTags = ends.map((d) => d.message.tag).filter((t) => t !== 'streamStop');
    if (!f.twoPhaseSlot) {
      // committed: streamed and committed; rolled back: Postgres 15 streams it and aborts it
      expect(endTags).toEqual(major >= 18 ? ['streamCommit'] : ['streamCommit', 'streamAbort']);
      expect(only(decoded, 'streamCommit')[0]!.xid).toBe(big);
      return;
    }
    const [streamPrepare] = only(decoded, 'streamPrepare');
    expect(streamPrepare).toMatchObject({ xid: big, gid: 'tributary-big', flags: 0 });
    expect(only(decoded, 'commitPrepared')[0]).toMatchObject({ xid: big, gid: 'tributary-big' });
    const rollback = only(decoded, 'rollbackPrepared')[0]!;
    expect(rollback.gid).toBe('tributary-big-rollback');
    expect(rollback.xid).toBeGreaterThan(big);
    // Postgres 18 knows the second one is rolled back when it decodes it: it sends an empty prepare
    expect(endTags).toEqual(
      major >= 18
        ? ['streamPrepare', 'commitPrepared', 'beginPrepare', 'prepare', 'rollbackPrepared']
        : ['streamPrepare', 'commitPrepared', 'streamPrepare', 'rollbackPrepared'],
    );
  });
});

const OUTSIDE: DecodeOptions = { inStream: false };
const INSIDE: DecodeOptions = { inStream: true };
const MAX_U64 = 0xffff_ffff_ffff_ffffn;

describe('hand-built frames', () => {
  it('reads unsigned LSNs, xids and OIDs, and signed times and type modifiers', () => {
    const begin = Frame.tag('B').u64(MAX_U64).i64(-1n).u32(0xffff_ffff).build();
    expect(decodePgoutput(begin, OUTSIDE)).toEqual({
      tag: 'begin',
      finalLsn: MAX_U64,
      commitTime: -1n,
      xid: 0xffff_ffff,
    });
    const relation = Frame.tag('R').u32(0xffff_fffe).str('').str('t').char('f').u16(2);
    relation.u8(1).str('a').u32(0xffff_ffff).i32(-1).u8(0).str('ü').u32(1043).i32(24);
    expect(decodePgoutput(relation.build(), OUTSIDE)).toEqual({
      tag: 'relation',
      xid: null,
      relationOid: 0xffff_fffe,
      schema: 'pg_catalog', // sent as an empty string
      name: 't',
      replicaIdentity: 'f',
      columns: [
        { isKey: true, name: 'a', typeOid: 0xffff_ffff, typeModifier: -1 },
        { isKey: false, name: 'ü', typeOid: 1043, typeModifier: 24 },
      ],
    });
  });

  it('decodes every column kind, sharing frozen markers for null and unchanged', () => {
    const frame = Frame.tag('I').u32(7).char('N').u16(5).char('n').char('u').text('héllo ✓');
    frame.binary([0, 1, 255]).text('');
    const message = decodePgoutput(frame.build(), OUTSIDE);
    expect(message).toEqual({
      tag: 'insert',
      xid: null,
      relationOid: 7,
      newTuple: [
        { kind: 'null' },
        { kind: 'unchanged' },
        { kind: 'text', text: 'héllo ✓' },
        { kind: 'binary', bytes: new Uint8Array([0, 1, 255]) },
        { kind: 'text', text: '' },
      ],
    });
    const again = decodePgoutput(frame.build(), OUTSIDE);
    if (message.tag !== 'insert' || again.tag !== 'insert') throw new Error('not an insert');
    expect(again.newTuple[0]).toBe(message.newTuple[0]);
    expect(again.newTuple[1]).toBe(message.newTuple[1]);
    expect(Object.isFrozen(message.newTuple[0])).toBe(true);
    expect(Object.isFrozen(message.newTuple[1])).toBe(true);
  });

  it('decodes short strings with non-ASCII bytes as UTF-8', () => {
    for (const text of ['é', 'ab✓', '🎉', 'abcdefg€', 'abcdefgh€', 'plain']) {
      const frame = Frame.tag('I').u32(1).char('N').u16(1).text(text).build();
      expect(decodePgoutput(frame, OUTSIDE)).toMatchObject({ newTuple: [{ kind: 'text', text }] });
    }
  });

  it('returns copies, never views of the input', () => {
    const insert = Frame.tag('I').u32(1).char('N').u16(1).binary([1, 2, 3]).build();
    const message = Frame.tag('M').u8(0).u64(5n).str('p').i32(2).raw([9, 8]).build();
    const decodedInsert = decodePgoutput(insert, OUTSIDE);
    const decodedMessage = decodePgoutput(message, OUTSIDE);
    insert.fill(0);
    message.fill(0);
    expect(decodedInsert).toMatchObject({ newTuple: [{ kind: 'binary', bytes: new Uint8Array([1, 2, 3]) }] });
    expect(decodedMessage).toMatchObject({ content: new Uint8Array([9, 8]) });
  });

  it('accepts a plain Uint8Array view at an offset', () => {
    const frame = Frame.tag('E').build();
    const backing = new Uint8Array(16);
    backing.set(frame, 5);
    expect(decodePgoutput(backing.subarray(5, 6), OUTSIDE)).toEqual({ tag: 'streamStop' });
  });

  it('reads the leading xid of data messages only inside a stream', () => {
    const insert = Frame.tag('I').u32(900).u32(16384).char('N').u16(1).text('x').build();
    expect(decodePgoutput(insert, INSIDE)).toMatchObject({ tag: 'insert', xid: 900, relationOid: 16384 });
    expect(() => decodePgoutput(insert, OUTSIDE)).toThrow(TributaryError);
    const type = Frame.tag('Y').u32(901).u32(70000).str('s').str('mood').build();
    expect(decodePgoutput(type, INSIDE)).toEqual({
      tag: 'type',
      xid: 901,
      typeOid: 70000,
      schema: 's',
      name: 'mood',
    });
    const truncate = Frame.tag('T').u32(902).i32(1).u8(3).u32(5).build();
    expect(decodePgoutput(truncate, INSIDE)).toEqual({
      tag: 'truncate',
      xid: 902,
      options: ['cascade', 'restartIdentity'],
      relationOids: [5],
    });
    const message = Frame.tag('M').u32(903).u8(1).u64(10n).str('').i32(0).build();
    expect(decodePgoutput(message, INSIDE)).toEqual({
      tag: 'message',
      xid: 903,
      transactional: true,
      lsn: 10n,
      prefix: '',
      content: new Uint8Array(),
    });
  });

  it('decodes updates and deletes with each old-tuple form', () => {
    const tuple = (f: Frame) => f.u16(1).text('1');
    const decode = (f: Frame) => decodePgoutput(f.build(), OUTSIDE);
    expect(decode(tuple(Frame.tag('U').u32(1).char('N')))).toMatchObject({ oldKind: null, oldTuple: null });
    const key = decode(tuple(tuple(Frame.tag('U').u32(1).char('K')).char('N')));
    expect(key).toMatchObject({ oldKind: 'K', oldTuple: [{ kind: 'text', text: '1' }] });
    expect(decode(tuple(tuple(Frame.tag('U').u32(1).char('O')).char('N')))).toMatchObject({ oldKind: 'O' });
    expect(decode(tuple(Frame.tag('D').u32(1).char('K')))).toMatchObject({ tag: 'delete', oldKind: 'K' });
    expect(decode(tuple(Frame.tag('D').u32(1).char('O')))).toMatchObject({ tag: 'delete', oldKind: 'O' });
    expect(decode(Frame.tag('T').i32(0).u8(0))).toEqual({
      tag: 'truncate',
      xid: null,
      options: [],
      relationOids: [],
    });
  });

  it('decodes the stream and two-phase control messages', () => {
    const decode = (f: Frame) => decodePgoutput(f.build(), OUTSIDE);
    expect(decode(Frame.tag('S').u32(7).u8(1))).toEqual({ tag: 'streamStart', xid: 7, firstSegment: true });
    expect(decode(Frame.tag('S').u32(7).u8(0))).toEqual({ tag: 'streamStart', xid: 7, firstSegment: false });
    expect(decode(Frame.tag('c').u32(7).u8(0).u64(1n).u64(2n).i64(3n))).toEqual({
      tag: 'streamCommit',
      xid: 7,
      flags: 0,
      commitLsn: 1n,
      endLsn: 2n,
      commitTime: 3n,
    });
    expect(decode(Frame.tag('A').u32(7).u32(8))).toEqual({
      tag: 'streamAbort',
      xid: 7,
      subXid: 8,
      abortLsn: null,
      abortTime: null,
    });
    expect(decode(Frame.tag('A').u32(7).u32(7).u64(MAX_U64).i64(-5n))).toEqual({
      tag: 'streamAbort',
      xid: 7,
      subXid: 7,
      abortLsn: MAX_U64,
      abortTime: -5n,
    });
    const gid = 'gïd ✓';
    const times = (f: Frame) => f.u64(10n).u64(20n).i64(30n).u32(40).str(gid);
    const expected = { prepareLsn: 10n, endLsn: 20n, prepareTime: 30n, xid: 40, gid };
    expect(decode(times(Frame.tag('b')))).toEqual({ tag: 'beginPrepare', ...expected });
    expect(decode(times(Frame.tag('P').u8(0)))).toEqual({ tag: 'prepare', flags: 0, ...expected });
    expect(decode(times(Frame.tag('p').u8(0)))).toEqual({ tag: 'streamPrepare', flags: 0, ...expected });
    expect(decode(times(Frame.tag('K').u8(0)))).toEqual({
      tag: 'commitPrepared',
      flags: 0,
      commitLsn: 10n,
      endLsn: 20n,
      commitTime: 30n,
      xid: 40,
      gid,
    });
    expect(decode(Frame.tag('r').u8(0).u64(1n).u64(2n).i64(3n).i64(4n).u32(5).str(gid))).toEqual({
      tag: 'rollbackPrepared',
      flags: 0,
      prepareEndLsn: 1n,
      rollbackEndLsn: 2n,
      prepareTime: 3n,
      rollbackTime: 4n,
      xid: 5,
      gid,
    });
    expect(decode(Frame.tag('C').u8(0).u64(1n).u64(2n).i64(3n))).toEqual({
      tag: 'commit',
      flags: 0,
      commitLsn: 1n,
      endLsn: 2n,
      commitTime: 3n,
    });
    expect(decode(Frame.tag('O').u64(9n).str('up'))).toEqual({ tag: 'origin', originLsn: 9n, name: 'up' });
  });

  const insert = (count: number) => Frame.tag('I').u32(1).char('N').u16(count);
  const malformed: [string, Buffer, RegExp][] = [
    ['empty input', Buffer.alloc(0), /^pgoutput message: empty message at byte offset 0$/],
    ['an unknown tag', Frame.tag('Z').u32(1).build(), /unknown message tag 'Z' \(0x5a\) at byte offset 0/],
    ['a NUL tag', Buffer.from([0]), /unknown message tag 0x00 at byte offset 0/],
    [
      'a truncated Begin',
      Frame.tag('B').u64(1n).u16(0).build(),
      /^pgoutput Begin \('B'\): truncated: commit time needs 8 byte\(s\) but only 2 remain at byte offset 9$/,
    ],
    [
      'trailing bytes',
      Frame.tag('B').u64(1n).i64(2n).u32(3).u8(0).build(),
      /Begin \('B'\): 1 unexpected trailing byte\(s\) at byte offset 21/,
    ],
    [
      'a negative text length',
      insert(1).char('t').i32(-1).build(),
      /Insert \('I'\): negative length -1 .* offset 9/,
    ],
    [
      'a huge text length',
      insert(1).char('t').i32(0x7fff_ffff).raw([1]).build(),
      /length 2147483647 .* exceeds/,
    ],
    ['a binary length past the end', insert(1).char('b').i32(5).raw([1, 2]).build(), /exceeds the 2 byte/],
    [
      'an unknown column kind',
      insert(2).char('n').char('x').build(),
      /unknown column kind 'x' .* column 1 at byte offset 9/,
    ],
    ['a column count past the end', insert(0xffff).char('n').build(), /tuple column count 65535 exceeds/],
    [
      'Insert without N',
      Frame.tag('I').u32(1).char('K').u16(0).build(),
      /expected tuple marker 'N' at byte offset 5/,
    ],
    [
      'Update with a bad marker',
      Frame.tag('U').u32(1).char('X').build(),
      /Update \('U'\): expected tuple marker 'K', 'O' or 'N', got 'X'/,
    ],
    [
      'Update old tuple not followed by N',
      Frame.tag('U').u32(1).char('K').u16(0).char('K').u16(0).build(),
      /expected tuple marker 'N', got 'K'/,
    ],
    [
      'Delete with N',
      Frame.tag('D').u32(1).char('N').u16(0).build(),
      /Delete \('D'\): expected tuple marker 'K' or 'O'/,
    ],
    [
      'an unknown replica identity',
      Frame.tag('R').u32(1).str('s').str('t').char('x').u16(0).build(),
      /unknown replica identity 'x'/,
    ],
    [
      'a relation column count past the end',
      Frame.tag('R').u32(1).str('s').str('t').char('d').u16(3).build(),
      /column count 3 exceeds/,
    ],
    [
      'an unterminated relation name',
      Frame.tag('R').u32(1).str('s').raw([0x74, 0x75]).build(),
      /unterminated string for relation name at byte offset 7/,
    ],
    [
      'a negative truncate count',
      Frame.tag('T').i32(-1).u8(0).build(),
      /negative relation count -1 at byte offset 1/,
    ],
    [
      'a huge truncate count',
      Frame.tag('T').i32(0x7fff_ffff).u8(0).build(),
      /relation count 2147483647 exceeds/,
    ],
    ['an unknown truncate option', Frame.tag('T').i32(0).u8(4).build(), /unknown truncate option bits 0x4/],
    [
      'an unknown message flag',
      Frame.tag('M').u8(2).u64(1n).str('p').i32(0).build(),
      /unknown message flag bits 0x2/,
    ],
    [
      'a negative message length',
      Frame.tag('M').u8(0).u64(1n).str('p').i32(-5).build(),
      /negative length -5 for content/,
    ],
    [
      'a message content past the end',
      Frame.tag('M').u8(0).u64(1n).str('p').i32(3).raw([1]).build(),
      /exceeds/,
    ],
    [
      'a bad first-segment flag',
      Frame.tag('S').u32(1).u8(2).build(),
      /first-segment flag must be 0 or 1, got 2/,
    ],
    [
      'a Stream Abort of 12 bytes',
      Frame.tag('A').u32(1).u32(2).u32(3).build(),
      /expected 8 or 24 bytes after the tag, got 12/,
    ],
    [
      'a short Stream Abort',
      Frame.tag('A').u32(1).build(),
      /Stream Abort \('A'\): truncated: subtransaction xid/,
    ],
    [
      'an unterminated origin name',
      Frame.tag('O').u64(1n).raw([0x61]).build(),
      /unterminated string for origin name/,
    ],
    [
      'an unterminated gid',
      Frame.tag('r').u8(0).u64(1n).u64(2n).i64(3n).i64(4n).u32(5).build(),
      /Rollback Prepared \('r'\): unterminated string for gid at byte offset 38/,
    ],
    [
      'a Stream Stop with a body',
      Frame.tag('E').u8(0).build(),
      /Stream Stop \('E'\): 1 unexpected trailing byte/,
    ],
  ];

  it.each(malformed)('rejects %s with a PROTOCOL error', (_name, bytes, pattern) => {
    let caught: unknown;
    try {
      decodePgoutput(bytes, OUTSIDE);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TributaryError);
    expect((caught as TributaryError).code).toBe('PROTOCOL');
    expect((caught as TributaryError).message).toMatch(pattern);
  });
});
