/**
 * What running a check gives: its status, what it observed, a message a person reads, and a
 * bounded sample of the failing rows. Statuses:
 *
 * - `pass`: the data meets the check;
 * - `warn`: it does not, at warn level (a warn-severity check, or a freshness `warn:` threshold);
 * - `fail`: it does not, at error level (`tributary check` exits 1);
 * - `error`: the check could not run (a missing table, SQL that fails): an error-severity check
 *   that cannot vouch for the data also makes `tributary check` exit 1.
 *
 * `severity` is the most a failure counts for: a warn-severity check never fails, it warns.
 */
import type { CheckSpec, CheckType } from './check-spec.js';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'error';

export interface CheckResult {
  readonly runId: string;
  readonly name: string;
  readonly type: CheckType;
  readonly severity: 'warn' | 'error';
  readonly status: CheckStatus;
  /** What the check measured, by name (counts, ages in seconds, buckets): JSON. */
  readonly observed: Record<string, unknown>;
  readonly message: string;
  /** ISO 8601 times. */
  readonly startedAt: string;
  readonly finishedAt: string;
  /** Up to SAMPLE_ROWS failing rows (or buckets), as JSON objects. */
  readonly sample: readonly Record<string, unknown>[];
}

/** The most failing rows a result keeps. */
export const SAMPLE_ROWS = 20;

/** What a check's own logic decides: the level it reached (before severity caps it), and what it saw. */
export interface Outcome {
  readonly level: 'pass' | 'warn' | 'fail';
  readonly observed: Record<string, unknown>;
  readonly message: string;
  readonly sample?: readonly Record<string, unknown>[];
}

/** A warn-severity check warns where an error-severity one fails. */
export function statusOf(spec: CheckSpec, level: Outcome['level']): CheckStatus {
  return level === 'fail' && spec.severity === 'warn' ? 'warn' : level;
}

/** Whether `tributary check` exits 1 for these results: a failure, or an error-severity check that could not run. */
export function anyFailed(results: readonly CheckResult[]): boolean {
  return results.some((r) => r.status === 'fail' || (r.status === 'error' && r.severity === 'error'));
}
