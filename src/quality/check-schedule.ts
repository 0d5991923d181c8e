/**
 * Runs checks continuously inside `tributary run`, each on its own schedule (`every`), first
 * after min(every, 30 s). A check runs again `every` after its previous run started (or at
 * once when that run took longer), never twice at the same time. Results are recorded by the
 * warehouse; a check that does not pass is logged (warn or error), one that passes again after
 * that says so; nothing here stops the pipeline. `onResult` sees every result (the alerts of
 * src/server/alerts.ts). `stop()` waits for the runs in flight.
 */
import type { Logger } from 'pino';
import type { CheckResult } from './check-result.js';
import { type CheckSpec, everyMs } from './check-spec.js';

export interface CheckRunner {
  check(specs: readonly CheckSpec[]): Promise<CheckResult[]>;
}

const FIRST_RUN_MAX_MS = 30_000;

export function scheduleChecks(
  runner: CheckRunner,
  specs: readonly CheckSpec[],
  log: Logger,
  onResult?: (result: CheckResult) => void,
): () => Promise<void> {
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  const inFlight = new Set<Promise<void>>();
  for (const spec of specs) {
    const every = everyMs(spec);
    let failing = false;
    const run = async () => {
      const started = Date.now();
      try {
        const [result] = await runner.check([spec]);
        if (result && !stopped) {
          failing = report(log, result, failing);
          onResult?.(result);
        }
      } catch (error) {
        if (!stopped) log.error({ check: spec.name, err: (error as Error).message }, 'check could not run');
      }
      if (!stopped) later(Math.max(0, every - (Date.now() - started)));
    };
    const later = (ms: number) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (stopped) return;
        const flight = run();
        inFlight.add(flight);
        void flight.finally(() => inFlight.delete(flight));
      }, ms);
      timer.unref();
      timers.add(timer);
    };
    later(Math.min(every, FIRST_RUN_MAX_MS));
  }
  return async () => {
    stopped = true;
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    await Promise.allSettled([...inFlight]);
  };
}

/** Logs a result; returns whether the check is failing now. */
function report(log: Logger, result: CheckResult, wasFailing: boolean): boolean {
  const fields = { check: result.name, type: result.type, status: result.status, observed: result.observed };
  switch (result.status) {
    case 'pass':
      if (wasFailing) log.info(fields, `check passes again: ${result.message}`);
      return false;
    case 'warn':
      log.warn(fields, `check warns: ${result.message}`);
      return true;
    case 'fail':
      log.error(fields, `check fails: ${result.message}`);
      return true;
    case 'error':
      log.error(fields, result.message);
      return true;
  }
}
