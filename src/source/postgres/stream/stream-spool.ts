/**
 * Spools the chunks of in-progress streamed transactions (pgoutput protocol ≥ 2, `streaming`)
 * to disk until their Stream Commit, so a transaction of any size is held in bounded memory.
 * One file per top-level xid, records of `[u32 length][pgoutput message]`.
 *
 * Stream Abort of the whole transaction drops its file. Stream Abort of a subtransaction
 * (ROLLBACK TO SAVEPOINT) truncates the file at the subtransaction's first change: while a
 * subtransaction is open its parent cannot write, so everything after that point belongs to it
 * or to its own children, which abort with it. (Postgres' own apply worker does the same.)
 *
 * The spool lives only as long as one walsender session: after a reconnect the server streams
 * in-progress transactions again from the start, so the directory is emptied on `reset`.
 */
import { closeSync, ftruncateSync, mkdirSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { TributaryError } from '../../../core/errors.js';

const FLUSH_BYTES = 1 << 20;
const READ_BYTES = 4 << 20;

interface SpoolFile {
  readonly path: string;
  readonly fd: number;
  /** Bytes written to the file. */
  written: number;
  pending: Buffer[];
  pendingBytes: number;
  readonly subXactStart: Map<number, number>;
}

export class StreamSpool {
  readonly #dir: string;
  readonly #files = new Map<number, SpoolFile>();

  /** Empties `dir` first: whatever a previous (killed) process left there is stale. */
  constructor(dir: string) {
    this.#dir = dir;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /** Total bytes held in memory across open transactions (bounded by FLUSH_BYTES each). */
  get bufferedBytes(): number {
    let total = 0;
    for (const file of this.#files.values()) total += file.pendingBytes;
    return total;
  }

  /** Appends one message of transaction `xid`, made by (sub)transaction `subXid`. Copies `message`. */
  append(xid: number, subXid: number, message: Buffer): void {
    const file = this.#file(xid);
    if (subXid !== xid && !file.subXactStart.has(subXid)) {
      file.subXactStart.set(subXid, file.written + file.pendingBytes);
    }
    const record = Buffer.allocUnsafe(4 + message.length);
    record.writeUInt32BE(message.length, 0);
    message.copy(record, 4);
    file.pending.push(record);
    file.pendingBytes += record.length;
    if (file.pendingBytes >= FLUSH_BYTES) this.#flush(file);
  }

  abort(xid: number, subXid: number): void {
    const file = this.#files.get(xid);
    if (!file) return;
    if (subXid === xid) {
      this.#remove(xid, file);
      return;
    }
    const start = file.subXactStart.get(subXid);
    if (start === undefined) return; // the subtransaction had no changes streamed yet
    this.#flush(file);
    ftruncateSync(file.fd, start);
    file.written = start;
    for (const [sub, offset] of file.subXactStart) if (offset >= start) file.subXactStart.delete(sub);
  }

  /** Yields the transaction's messages in order, then removes its file. */
  *replay(xid: number): Generator<Buffer> {
    const file = this.#files.get(xid);
    if (!file) return;
    this.#flush(file);
    let carry = Buffer.alloc(0);
    let offset = 0;
    const chunk = Buffer.allocUnsafe(READ_BYTES);
    try {
      while (offset < file.written) {
        const read = readSync(file.fd, chunk, 0, Math.min(READ_BYTES, file.written - offset), offset);
        if (read <= 0) throw new TributaryError('SPOOL', `spool file ${file.path} ended early at ${offset}`);
        offset += read;
        let data =
          carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, read)]) : chunk.subarray(0, read);
        let at = 0;
        while (at + 4 <= data.length) {
          const length = data.readUInt32BE(at);
          if (at + 4 + length > data.length) break;
          // the chunk buffer is reused for the next read: hand out a copy
          yield Buffer.from(data.subarray(at + 4, at + 4 + length));
          at += 4 + length;
        }
        carry = Buffer.from(data.subarray(at));
        data = carry;
      }
      if (carry.length > 0)
        throw new TributaryError('SPOOL', `spool file ${file.path} ends in a partial record`);
    } finally {
      this.#remove(xid, file);
    }
  }

  /** Drops every spooled transaction (a new walsender session resends them). */
  reset(): void {
    for (const [xid, file] of this.#files) this.#remove(xid, file);
  }

  close(): void {
    this.reset();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #file(xid: number): SpoolFile {
    let file = this.#files.get(xid);
    if (!file) {
      const path = join(this.#dir, `xid-${xid}.spool`);
      file = {
        path,
        fd: openSync(path, 'w+', 0o600),
        written: 0,
        pending: [],
        pendingBytes: 0,
        subXactStart: new Map(),
      };
      this.#files.set(xid, file);
    }
    return file;
  }

  #flush(file: SpoolFile): void {
    if (file.pendingBytes === 0) return;
    const data =
      file.pending.length === 1 ? file.pending[0]! : Buffer.concat(file.pending, file.pendingBytes);
    let done = 0;
    while (done < data.length)
      done += writeSync(file.fd, data, done, data.length - done, file.written + done);
    file.written += data.length;
    file.pending = [];
    file.pendingBytes = 0;
  }

  #remove(xid: number, file: SpoolFile): void {
    this.#files.delete(xid);
    try {
      closeSync(file.fd);
    } finally {
      rmSync(file.path, { force: true });
    }
  }
}
