/**
 * Runs checks once, one after another, each in its own read-only transaction on `reader`'s
 * connection (never the loader's). A check that cannot run is an `error` result, never a thrown
 * error: one broken check does not hide the others. `now` is passed in, so ages and buckets
 * are judged against the clock the caller chooses.
 */
import { randomUUID } from 'node:crypto';
import { isTributaryError } from '../core/errors.js';
import type { CheckReader } from './check-reader.js';
import { type CheckResult, type Outcome, statusOf } from './check-result.js';
import type { CheckSpec } from './check-spec.js';
import { freshness } from './freshness.js';
import { acceptedValues, custom, notNull, relationships, unique } from './row-checks.js';
import { volume } from './volume.js';

export async function runChecks(
  reader: CheckReader,
  specs: readonly CheckSpec[],
  now: () => Date = () => new Date(),
): Promise<CheckResult[]> {
  const runId = randomUUID();
  const results: CheckResult[] = [];
  for (const spec of specs) {
    const started = now();
    let outcome: Outcome | null = null;
    let problem: string | null = null;
    try {
      outcome = await reader.readOnly(() => judge(reader, spec, started));
    } catch (error) {
      problem = isTributaryError(error) ? error.describe() : `${(error as Error).message ?? String(error)}`;
    }
    const common = {
      runId,
      name: spec.name,
      type: spec.type,
      severity: spec.severity,
      startedAt: started.toISOString(),
      finishedAt: new Date().toISOString(),
    };
    results.push(
      outcome
        ? {
            ...common,
            status: statusOf(spec, outcome.level),
            observed: outcome.observed,
            message: outcome.message,
            sample: outcome.sample ?? [],
          }
        : {
            ...common,
            status: 'error',
            observed: {},
            message: `the check could not run: ${problem}`,
            sample: [],
          },
    );
  }
  return results;
}

function judge(reader: CheckReader, spec: CheckSpec, now: Date): Promise<Outcome> {
  switch (spec.type) {
    case 'freshness':
      return freshness(reader, spec, now);
    case 'unique':
      return unique(reader, spec);
    case 'not_null':
      return notNull(reader, spec);
    case 'accepted_values':
      return acceptedValues(reader, spec);
    case 'relationships':
      return relationships(reader, spec, now);
    case 'custom':
      return custom(reader, spec);
    case 'volume':
      return volume(reader, spec, now);
  }
}
