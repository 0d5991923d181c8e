/**
 * What `run` and `load` share: the batch and raw-zone flags, and the status line a running
 * loader logs.
 */
import type { Command } from 'commander';
import { parseDuration } from '../core/duration.js';
import { TributaryError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { formatPosition } from '../core/position.js';
import type { BatchLimits } from '../feed/feed.js';
import { MAX_LANES } from '../feed/jetstream/subjects.js';
import type { PipelineStats } from '../pipeline/pipeline-stats.js';

export function positiveInteger(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new TributaryError('USAGE', `${flag} must be a positive whole number, not ${JSON.stringify(text)}`);
  }
  return n;
}

/** `--lanes`: 1 to 256 (subjects.ts), or undefined when not given. */
export function laneCount(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = positiveInteger(text, '--lanes');
  if (n > MAX_LANES) throw new TributaryError('USAGE', `--lanes is at most ${MAX_LANES}, not ${n}`);
  return n;
}

/** `--batch-size` and `--batch-delay`, as the loader's limits. */
export function batchLimits(flags: {
  readonly batchSize?: string;
  readonly batchDelay?: string;
}): Partial<BatchLimits> {
  return {
    ...(flags.batchSize ? { maxItems: positiveInteger(flags.batchSize, '--batch-size') } : {}),
    ...(flags.batchDelay ? { maxDelayMs: parseDuration(flags.batchDelay) } : {}),
  };
}

/** Logs a `status` line every `everyMs`; returns what stops it. */
export function logStatusEvery(log: Logger, stats: PipelineStats, everyMs: number): () => void {
  const timer = setInterval(() => {
    const s = stats.snapshot();
    log.info(
      {
        changes: s.changes,
        changesPerSecond: s.changesPerSecond,
        lagMs: s.lagMs,
        checkpoint: s.checkpoint ? formatPosition(s.checkpoint) : null,
      },
      'status',
    );
  }, everyMs);
  return () => clearInterval(timer);
}

/** `--no-raw` and `--raw-retention`, on a command that loads a warehouse. */
export function addRawOptions(command: Command): Command {
  return command
    .option(
      '--no-raw',
      'keep no raw landing zone (no history, time travel, replay or export); not for a warehouse that has one',
    )
    .option(
      '--raw-retention <duration>',
      'prune raw-zone changes older than this (e.g. 90d), keeping what the tables held then (default: keep all)',
    );
}

/** The raw-zone retention in milliseconds, or null to keep everything. */
export function rawRetention(flags: {
  readonly raw: boolean;
  readonly rawRetention?: string;
}): number | null {
  const retentionMs = flags.rawRetention === undefined ? null : parseDuration(flags.rawRetention);
  if (retentionMs !== null && !flags.raw)
    throw new TributaryError('USAGE', '--raw-retention is for the raw zone: drop --no-raw');
  return retentionMs;
}
