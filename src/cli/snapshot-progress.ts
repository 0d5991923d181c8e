/**
 * Progress of snapshots and backfills, per table: rows done of the planner's estimate, rows/s
 * and ETA. On a terminal, one bar per running job (cli-progress); anywhere else, a log line per
 * job at most every `plainEveryMs`, since logs and tests read lines, not redraws.
 */
import cliProgress from 'cli-progress';
import type { Logger } from '../core/logger.js';
import type { JobProgress } from '../pipeline/snapshot-runner.js';

export class SnapshotProgressView {
  readonly #bars: cliProgress.MultiBar | null;
  readonly #shown = new Map<string, cliProgress.SingleBar>();
  readonly #log: Logger;
  readonly #plainEveryMs: number;
  #lastPlain = 0;

  constructor(log: Logger, stream: NodeJS.WriteStream = process.stderr, plainEveryMs = 5000) {
    this.#log = log;
    this.#plainEveryMs = plainEveryMs;
    this.#bars = stream.isTTY
      ? new cliProgress.MultiBar(
          {
            stream,
            format:
              ' {table} [{bar}] {percentage}% | {value}/{total} rows | {rate} rows/s | ETA {eta_formatted}',
            hideCursor: false,
            clearOnComplete: false,
            stopOnComplete: false,
            etaBuffer: 50,
          },
          cliProgress.Presets.shades_classic,
        )
      : null;
  }

  update(progress: readonly JobProgress[]): void {
    if (this.#bars) {
      for (const p of progress) {
        const total = Math.max(p.rowsEstimated ?? p.rowsDone, p.rowsDone, 1);
        const payload = { table: p.table, rate: Math.round(p.rowsPerSecond) };
        const bar = this.#shown.get(p.id);
        if (bar) {
          bar.setTotal(total);
          bar.update(p.rowsDone, payload);
        } else this.#shown.set(p.id, this.#bars.create(total, p.rowsDone, payload));
      }
      return;
    }
    const now = Date.now();
    if (now - this.#lastPlain < this.#plainEveryMs) return;
    this.#lastPlain = now;
    for (const p of progress) {
      this.#log.info(
        {
          table: p.table,
          job: p.id,
          rows: p.rowsDone,
          rowsEstimated: p.rowsEstimated,
          rowsPerSecond: Math.round(p.rowsPerSecond),
          etaSeconds: p.etaSeconds === null ? null : Math.round(p.etaSeconds),
          chunks: `${p.chunksDone}/${p.chunks}`,
        },
        'snapshot progress',
      );
    }
  }

  stop(): void {
    this.#bars?.stop();
  }
}
