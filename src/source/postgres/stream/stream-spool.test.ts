import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StreamSpool } from './stream-spool.js';

const message = (xid: number, text: string) => {
  const body = Buffer.from(text);
  const out = Buffer.alloc(5 + body.length);
  out[0] = 0x49; // 'I'
  out.writeUInt32BE(xid, 1);
  body.copy(out, 5);
  return out;
};
const texts = (spool: StreamSpool, xid: number) =>
  [...spool.replay(xid)].map((b) => b.subarray(5).toString());

describe('StreamSpool', () => {
  it('replays a transaction in order, across flushes to disk', () => {
    const spool = new StreamSpool(mkdtempSync(join(tmpdir(), 'spool-test-')));
    const expected: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const text = `row ${i} ${'x'.repeat(i % 300)}`;
      expected.push(text);
      spool.append(7, 7, message(7, text));
    }
    expect(spool.bufferedBytes).toBeLessThan(1 << 21);
    expect(texts(spool, 7)).toEqual(expected);
    expect(texts(spool, 7)).toEqual([]); // replay removes the file
    spool.close();
  });

  it('drops a rolled-back subtransaction and everything after it, keeps the rest', () => {
    const spool = new StreamSpool(mkdtempSync(join(tmpdir(), 'spool-test-')));
    spool.append(10, 10, message(10, 'top 1'));
    spool.append(10, 11, message(11, 'sub 11 released'));
    spool.append(10, 12, message(12, 'sub 12 a'));
    spool.append(10, 13, message(13, 'sub 13 nested'));
    spool.abort(10, 12);
    spool.append(10, 10, message(10, 'top 2'));
    spool.abort(10, 99); // a subtransaction with nothing spooled
    expect(texts(spool, 10)).toEqual(['top 1', 'sub 11 released', 'top 2']);
    spool.close();
  });

  it('forgets an aborted transaction and keeps others apart', () => {
    const spool = new StreamSpool(mkdtempSync(join(tmpdir(), 'spool-test-')));
    spool.append(1, 1, message(1, 'a'));
    spool.append(2, 2, message(2, 'b'));
    spool.abort(1, 1);
    expect(texts(spool, 1)).toEqual([]);
    expect(texts(spool, 2)).toEqual(['b']);
    spool.close();
  });

  it('empties what a killed process left in its directory', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'spool-test-')), 'spool');
    mkdirSync(dir);
    writeFileSync(join(dir, 'xid-5.spool'), 'stale');
    const spool = new StreamSpool(dir);
    expect(existsSync(join(dir, 'xid-5.spool'))).toBe(false);
    spool.close();
    expect(existsSync(dir)).toBe(false);
  });
});
