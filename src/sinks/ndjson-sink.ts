/**
 * A durable line-per-item file: the simplest downstream that makes the source's promise
 * checkable, and `tributary tail --out`'s writer.
 *
 * Durability: each batch is appended and fsynced before its last position is acknowledged.
 * Idempotence: on open, the last complete line gives the last durable position (a torn last
 * line, left by a crash mid-write, is cut off); items at or before it are not written again.
 * A commit line sits at `(commitLsn, MAX)`, after every item of its transaction.
 */
import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { itemPosition, type StreamItem } from '../core/change-event.js';
import { TributaryError } from '../core/errors.js';
import { itemToJson } from '../core/event-json.js';
import { comparePositions, formatPosition, type Position, parsePosition } from '../core/position.js';

export interface LineWriter {
  /** Writes lines; resolves when they are as durable as this writer makes them. */
  write(items: readonly StreamItem[]): Promise<Position | null>;
  close(): void;
}

export class NdjsonFileSink implements LineWriter {
  readonly #fd: number;
  #size: number;
  #last: Position | null;

  private constructor(fd: number, size: number, last: Position | null) {
    this.#fd = fd;
    this.#size = size;
    this.#last = last;
  }

  static open(path: string): NdjsonFileSink {
    let fd: number;
    try {
      fd = openSync(path, 'a+', 0o640);
    } catch (error) {
      throw new TributaryError('CONFIG', `cannot open ${path} for writing: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const { size, last } = recover(fd, path);
    return new NdjsonFileSink(fd, size, last);
  }

  /** The last durable position in the file. */
  get lastPosition(): Position | null {
    return this.#last;
  }

  async write(items: readonly StreamItem[]): Promise<Position | null> {
    const lines: string[] = [];
    let last: Position | null = null;
    for (const item of items) {
      const position = itemPosition(item);
      if (position && this.#last && comparePositions(position, this.#last) <= 0) continue;
      const json = itemToJson(item);
      if (position) {
        json.at = formatPosition(position);
        last = position;
      }
      lines.push(JSON.stringify(json));
    }
    if (lines.length > 0) {
      const data = Buffer.from(`${lines.join('\n')}\n`);
      let done = 0;
      while (done < data.length) done += writeSync(this.#fd, data, done, data.length - done, null);
      fsyncSync(this.#fd);
      this.#size += data.length;
    }
    if (last) this.#last = last;
    return this.#last;
  }

  close(): void {
    closeSync(this.#fd);
  }
}

/** Reads back from the end to the last complete line; cuts a torn tail. */
function recover(fd: number, path: string): { size: number; last: Position | null } {
  let size = fstatSync(fd).size;
  if (size === 0) return { size, last: null };
  const window = Math.min(size, 1 << 20);
  const buffer = Buffer.alloc(window);
  readSync(fd, buffer, 0, window, size - window);
  let end = buffer.lastIndexOf(0x0a);
  if (end < 0)
    throw new TributaryError(
      'CONFIG',
      `${path} does not look like a tributary NDJSON file (no line in its last MiB)`,
    );
  if (end !== window - 1) {
    size = size - window + end + 1;
    ftruncateSync(fd, size);
  }
  // scan back for the last line that carries a position
  while (end > 0) {
    const start = buffer.lastIndexOf(0x0a, end - 1) + 1;
    const line = buffer.subarray(start, end).toString('utf8');
    const at = /"at":"([^"]+)"/.exec(line);
    if (at) return { size, last: parsePosition(at[1]!) };
    end = start - 1;
  }
  return { size, last: null };
}
