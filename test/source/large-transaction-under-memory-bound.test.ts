/**
 * One transaction of 2 million rows streams through with the process's peak resident memory
 * under 300 MB: in-progress chunks (protocol ≥ 2 streaming) are spooled to disk until Stream
 * Commit, then replayed in bounded batches with backpressure.
 */
import {
  closeSync,
  createReadStream,
  existsSync,
  fstatSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newestBinaries, PostgresCluster } from '../harness/postgres.js';
import { peakRss, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';

const ROWS = 2_000_000;

function tailOf(path: string): string {
  if (!existsSync(path)) return '';
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, 4096);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } finally {
    closeSync(fd);
  }
}
const LIMIT_BYTES = 300 * 1024 * 1024;

async function countChanges(
  path: string,
): Promise<{ changes: number; commits: number; firstId: number; lastId: number }> {
  let changes = 0;
  let commits = 0;
  let firstId = -1;
  let lastId = -1;
  const lines = createInterface({ input: createReadStream(path) });
  for await (const line of lines) {
    if (line.startsWith('{"kind":"change"')) {
      changes++;
      const id = Number(/"id":"?(\d+)/.exec(line)?.[1]);
      if (firstId < 0) firstId = id;
      lastId = id;
    } else if (line.startsWith('{"kind":"commit"')) commits++;
  }
  return { changes, commits, firstId, lastId };
}

describe('2M-row transaction under the memory bound', () => {
  let cluster: PostgresCluster;
  let dir: string;
  beforeAll(async () => {
    // the server's default logical_decoding_work_mem (64MB), as in production
    cluster = await PostgresCluster.start({
      binaries: newestBinaries(),
      settings: { logical_decoding_work_mem: '64MB' },
    });
    await cluster.sql(
      'CREATE TABLE big (id bigint PRIMARY KEY, amount numeric(12,2), label text, at timestamptz)',
    );
    dir = mkdtempSync(join(tmpdir(), 'tributary-big-'));
  });
  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`streams ${ROWS} rows in one transaction with peak RSS < 300 MB`, async () => {
    const out = join(dir, 'events.ndjson');
    const cli = startCli(['tail', '--source', cluster.url(), '--tables', 'public.big', '--out', out]);
    await waitFor('the slot', () => /created replication slot/.test(cli.stderr()) || undefined);
    await waitFor(
      'the slot',
      async () => (await cluster.sql('SELECT 1 FROM pg_replication_slots')).length > 0 || undefined,
    );
    await cluster.sql(
      `INSERT INTO big SELECT g, (g % 100000) / 100.0, 'label ' || g, '2024-01-01'::timestamptz + g * interval '1 second'
         FROM generate_series(1, ${ROWS}) g`,
    );
    let peak = 0;
    const done = await waitFor(
      'the whole transaction in the file',
      async () => {
        peak = Math.max(peak, peakRss(cli.child.pid!));
        return tailOf(out).includes('{"kind":"commit"') || undefined;
      },
      600_000,
    );
    expect(done).toBe(true);
    peak = Math.max(peak, peakRss(cli.child.pid!));
    cli.child.kill('SIGTERM');
    const result = await cli.exited;
    expect(result.code, result.stderr).toBe(0);
    const counted = await countChanges(out);
    expect(counted).toEqual({ changes: ROWS, commits: 1, firstId: 1, lastId: ROWS });
    expect(peak, `peak RSS ${Math.round(peak / 1048576)} MB`).toBeLessThan(LIMIT_BYTES);
  }, 900_000);
});
