#!/usr/bin/env node
/**
 * The `tributary` command line: thin commands over the library. Exit codes: 0 success, 1 a
 * check or verify found a problem (or the job failed), 2 bad usage or configuration, with a
 * message that says what to change.
 */
import { Command, CommanderError } from 'commander';
import { exitCodeFor, TributaryError } from '../core/errors.js';
import { backfillCommand } from './commands/backfill.js';
import { checkCommand } from './commands/check.js';
import { demoCommand } from './commands/demo.js';
import { exportCommand } from './commands/export.js';
import { loadCommand } from './commands/load.js';
import { metricsCommand } from './commands/metrics.js';
import { modelsCommand } from './commands/models.js';
import { queryCommand } from './commands/query.js';
import { replayCommand } from './commands/replay.js';
import { runCommand } from './commands/run.js';
import { sourceCommand } from './commands/source.js';
import { statusCommand } from './commands/status.js';
import { tailCommand } from './commands/tail.js';
import { teardownCommand } from './commands/teardown.js';
import { verifyCommand } from './commands/verify.js';
import { isClosedReader } from './run-until-signal.js';

export function program(): Command {
  const root = new Command('tributary')
    .description('Keep a column-store copy of a PostgreSQL database fresh from its write-ahead log')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError()
    .addHelpText(
      'after',
      '\nExit codes: 0 success; 1 a check found a problem, or the job failed; 2 bad usage or configuration\n' +
        '(the message says what to change). TRIBUTARY_SOURCE may stand in for --source.',
    );
  root.addCommand(runCommand());
  root.addCommand(sourceCommand());
  root.addCommand(loadCommand());
  root.addCommand(demoCommand());
  root.addCommand(queryCommand());
  root.addCommand(statusCommand());
  root.addCommand(checkCommand());
  root.addCommand(metricsCommand());
  root.addCommand(modelsCommand());
  root.addCommand(backfillCommand());
  root.addCommand(verifyCommand());
  root.addCommand(replayCommand());
  root.addCommand(exportCommand());
  root.addCommand(tailCommand());
  root.addCommand(teardownCommand());
  for (const command of root.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
  }
  return root;
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    await program().parseAsync([...argv], { from: 'user' });
    // a command that found a problem (verify, check) set 1 after printing its report
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.exitCode === 0
      )
        return 0;
      return 2;
    }
    if (error instanceof TributaryError) {
      process.stderr.write(`tributary: ${error.describe()}\n`);
    } else {
      process.stderr.write(
        `tributary: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
    }
    return exitCodeFor(error);
  }
}

// a reader that went away (`tributary query ... | head`) is not an error: the rest of the output
// has nowhere to go; long jobs stop cleanly on it (runUntilSignal)
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (!isClosedReader(error)) throw error;
});

main(process.argv.slice(2)).then((code) => {
  // every command awaits its own output; exit now rather than wait on a stray handle
  process.exit(code);
});
