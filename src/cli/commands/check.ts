/**
 * `tributary check [--config <file>] [--only a,b] [--json]`: runs the data checks the config
 * file declares (`checks:`, src/quality/check-spec.ts) once, prints their results, and records
 * them in `_tributary.check_results`. While `tributary run` holds the warehouse the checks run
 * in that process (through its control endpoint; without --config, the checks it was started
 * with); otherwise the file is opened for writing. Exit 1 when an error-severity check fails or
 * cannot run, 0 otherwise (warnings print but pass), 2 for a bad config or --only.
 */
import { Command } from 'commander';
import { TributaryError } from '../../core/errors.js';
import { anyFailed, type CheckResult } from '../../quality/check-result.js';
import { selectChecks } from '../../quality/check-selection.js';
import type { CheckSpec } from '../../quality/check-spec.js';
import { remoteCheck } from '../../server/control-client.js';
import { loadConfigFile } from '../config-file.js';
import { writeStdout } from '../output.js';
import { withWarehouse } from '../with-warehouse.js';
import { DEFAULT_WAREHOUSE } from './run.js';

interface CheckFlags {
  readonly warehouse?: string;
  readonly config?: string;
  readonly only?: string;
  readonly json?: boolean;
}

export function checkCommand(): Command {
  return new Command('check')
    .description("run the config file's data checks once, print and record their results")
    .option('--config <file>', 'the YAML or JSON config file whose checks: to run')
    .option(
      '--warehouse <path.duckdb>',
      "the DuckDB warehouse file (default the config file's warehouse:, else tributary.duckdb)",
    )
    .option('--only <names>', 'run only these checks (comma-separated names)')
    .option('--json', 'print JSON: {"runId", "ok", "results": [...]}')
    .addHelpText(
      'after',
      '\nExit codes: 0 every check passed or only warned; 1 an error-severity check failed or could not\n' +
        'run; 2 bad usage or a malformed config. Results are kept in _tributary.check_results. While\n' +
        '`tributary run` holds the warehouse, the checks run in it (without --config: the checks it was\n' +
        'started with).',
    )
    .action(async (flags: CheckFlags) => {
      const file = flags.config ? loadConfigFile(flags.config) : null;
      if (file && !file.checks)
        throw new TributaryError('USAGE', `${flags.config} declares no checks`, {
          hint: 'add a checks: list (see the README, "Checks")',
        });
      const only = flags.only === undefined ? null : names(flags.only);
      const declared: CheckSpec[] | null = file?.checks ?? null;
      const selected = declared ? selectChecks(declared, only) : null;
      // --warehouse has no default, so it is set only when typed: it wins over the file's
      const warehouse = flags.warehouse ?? file?.warehouse ?? DEFAULT_WAREHOUSE;
      const results = (await withWarehouse(
        warehouse,
        (running) => remoteCheck(running, { checks: selected, only: selected ? null : only }),
        (local) => {
          if (!selected)
            throw new TributaryError('USAGE', 'no checks to run: nothing runs on this warehouse to ask', {
              hint: 'pass --config <file> with a checks: list',
            });
          return local.check(selected);
        },
        { write: true },
      )) as CheckResult[];
      const ok = !anyFailed(results);
      await writeStdout(
        flags.json
          ? `${JSON.stringify({ runId: results[0]?.runId ?? null, ok, results }, null, 2)}\n`
          : describe(results),
      );
      if (!ok) {
        const failed = results.filter(
          (r) => r.status === 'fail' || (r.status === 'error' && r.severity === 'error'),
        );
        throw new TributaryError(
          'CHECK_FAILED',
          `${failed.length} check(s) failed: ${failed.map((r) => r.name).join(', ')}`,
        );
      }
    });
}

function names(text: string): string[] {
  const list = text
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n.length > 0);
  if (list.length === 0) throw new TributaryError('USAGE', '--only takes check names separated by commas');
  return list;
}

/** Failing rows printed under a check that did not pass. */
const SHOWN_ROWS = 3;

const MARK: Readonly<Record<CheckResult['status'], string>> = {
  pass: 'pass',
  warn: 'WARN',
  fail: 'FAIL',
  error: 'ERROR',
};

function describe(results: readonly CheckResult[]): string {
  const rows = results.map((r) => [MARK[r.status], r.name, r.type, r.message]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => (r[i] as string).length), 0));
  const lines: string[] = [];
  for (const [i, r] of rows.entries()) {
    lines.push(
      r
        .map((c, j) => (j < 3 ? c.padEnd(widths[j] as number) : c))
        .join('  ')
        .trimEnd(),
    );
    // a few of the failing rows, to start looking (all of the sample: --json, or check_results)
    const result = results[i] as CheckResult;
    if (result.status !== 'pass')
      for (const row of result.sample.slice(0, SHOWN_ROWS)) lines.push(`    ${JSON.stringify(row)}`);
  }
  const count = (s: CheckResult['status']) => results.filter((r) => r.status === s).length;
  lines.push(
    `${results.length} check(s): ${count('pass')} passed, ${count('warn')} warned, ${count('fail')} failed, ${count('error')} could not run`,
  );
  return `${lines.join('\n')}\n`;
}
