/**
 * `tributary tail`: streams change events as JSON lines, to stdout or durably to a file.
 * With `--out`, each batch is fsynced before the slot is acknowledged, and a restart continues
 * the file exactly (nothing lost, nothing twice). On stdout a batch is acknowledged once written
 * (`--no-ack` leaves the slot where it is, to peek).
 */
import { Command } from 'commander';
import { itemPosition, type StreamItem } from '../../core/change-event.js';
import { parseDuration } from '../../core/duration.js';
import { itemToJson } from '../../core/event-json.js';
import { createLogger } from '../../core/logger.js';
import type { Position } from '../../core/position.js';
import { NdjsonFileSink } from '../../sinks/ndjson-sink.js';
import { PostgresSource } from '../../source/postgres/postgres-source.js';
import { describeTarget } from '../../source/postgres/setup/connection-config.js';
import { startAgainOnConnectionLoss } from '../../source/postgres/start-again.js';
import { writeStdout } from '../output.js';
import { runUntilSignal } from '../run-until-signal.js';
import { addSourceOptions, type SourceFlags, sourceConfig } from '../source-config.js';

interface TailFlags extends SourceFlags {
  readonly out?: string;
  readonly ack: boolean;
  readonly heartbeat?: string;
}

export function tailCommand(): Command {
  return addSourceOptions(new Command('tail'))
    .description('stream committed changes as JSON lines (stdout, or durably to --out)')
    .option(
      '--out <file>',
      'append to this file, fsynced before acknowledging; a restart continues it exactly',
    )
    .option('--no-ack', 'never acknowledge the slot (peek: a restart sees the same changes again)')
    .option(
      '--heartbeat <duration>',
      'emit a heartbeat message this often (e.g. 30s) so the slot advances on a quiet database',
    )
    .action(async (flags: TailFlags) => {
      const config = sourceConfig(flags);
      const heartbeatIntervalMs = flags.heartbeat ? parseDuration(flags.heartbeat) : 0;
      await runUntilSignal(async (signal) => {
        const log = createLogger();
        const file = flags.out ? NdjsonFileSink.open(flags.out) : null;
        try {
          const source = new PostgresSource({
            ...config,
            logger: log,
            resumeAfter: file?.lastPosition ?? null,
            heartbeatIntervalMs,
          });
          log.info(
            { target: describeTarget(config.connection), slot: config.slot, out: flags.out ?? 'stdout' },
            'starting',
          );
          const prepared = await startAgainOnConnectionLoss(() => source.prepare(), signal, {
            logger: log,
            what: 'the stream',
          });
          if (prepared === undefined || signal.aborted) return;
          let durable: Position | null = null;
          const write = async (items: readonly StreamItem[]) => {
            if (file) {
              durable = await file.write(items);
            } else {
              const text = items.map((item) => JSON.stringify(itemToJson(item))).join('\n');
              if (text) await writeStdout(`${text}\n`);
              for (const item of items) durable = itemPosition(item) ?? durable;
            }
            if (durable && flags.ack) source.acknowledge(durable);
          };
          await source.run({ write, flush: async () => {} }, signal);
        } finally {
          file?.close();
        }
      });
    });
}
