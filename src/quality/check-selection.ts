/**
 * Which declared checks a request runs: all, or those `--only` names (every name must exist).
 * Checks that arrive over the control endpoint are validated again, as the config file is.
 */
import { TributaryError } from '../core/errors.js';
import { type CheckSpec, parseChecks } from './check-spec.js';

export function selectChecks(all: readonly CheckSpec[], only: readonly string[] | null): CheckSpec[] {
  if (only === null) return [...all];
  const known = new Set(all.map((c) => c.name));
  const unknown = only.filter((name) => !known.has(name));
  if (unknown.length > 0)
    throw new TributaryError('USAGE', `--only names no declared check: ${unknown.join(', ')}`, {
      hint: `the checks are: ${[...known].join(', ') || '(none)'}`,
    });
  const wanted = new Set(only);
  return all.filter((c) => wanted.has(c.name));
}

/** Checks sent by `tributary check`, or the process's own when none were sent. */
export function requestedChecks(
  sent: unknown,
  own: readonly CheckSpec[] | null,
  only: readonly string[] | null,
): CheckSpec[] {
  if (sent === null || sent === undefined) {
    if (!own || own.length === 0)
      throw new TributaryError(
        'USAGE',
        'no checks declared: this process was started without a checks: list',
        {
          hint: 'pass --config <file> with a checks: list to tributary check',
        },
      );
    return selectChecks(own, only);
  }
  const parsed = parseChecks(sent);
  if ('problems' in parsed) throw new TributaryError('USAGE', `bad checks: ${parsed.problems.join('; ')}`);
  return selectChecks(parsed.checks, only);
}
