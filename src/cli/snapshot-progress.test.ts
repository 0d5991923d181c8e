import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { JobProgress } from '../pipeline/snapshot-runner.js';
import { SnapshotProgressView } from './snapshot-progress.js';

const progress = (rowsDone: number): JobProgress => ({
  id: 'j1',
  table: 'public.orders',
  reason: 'initial',
  rowsDone,
  rowsEstimated: 1000,
  rowsPerSecond: 250,
  etaSeconds: (1000 - rowsDone) / 250,
  chunksDone: 1,
  chunks: 4,
});

function capture(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  }) as unknown as NodeJS.WriteStream & { isTTY: boolean; columns: number };
  stream.isTTY = isTTY;
  stream.columns = 120;
  (stream as unknown as { cursorTo: () => boolean }).cursorTo = () => true;
  (stream as unknown as { clearLine: () => boolean }).clearLine = () => true;
  (stream as unknown as { moveCursor: () => boolean }).moveCursor = () => true;
  return { stream, text: () => text };
}

describe('SnapshotProgressView', () => {
  it('off a terminal logs a line per job, at most every interval', () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const view = new SnapshotProgressView(log, capture(false).stream, 60_000);
    view.update([progress(250)]);
    view.update([progress(500)]); // within the interval: not logged
    view.stop();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      msg: 'snapshot progress',
      table: 'public.orders',
      rows: 250,
      rowsEstimated: 1000,
      rowsPerSecond: 250,
      etaSeconds: 3,
      chunks: '1/4',
    });
  });

  it('on a terminal draws a bar per table with rows of the estimate and the rate', async () => {
    const out = capture(true);
    const log = pino({ level: 'silent' });
    const view = new SnapshotProgressView(log, out.stream);
    view.update([progress(500)]);
    await new Promise((r) => setTimeout(r, 150));
    view.stop();
    expect(out.text()).toMatch(/public\.orders \[.*\] 50% \| 500\/1000 rows \| 250 rows\/s/);
  });
});
