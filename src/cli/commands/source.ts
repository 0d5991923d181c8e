/**
 * `tributary source`: the publishing half of a pipeline split around a NATS JetStream feed. It
 * reads the slot and publishes every committed change to the feed's stream, acknowledging the
 * slot only up to what JetStream has stored; `tributary load` applies them, elsewhere if wanted.
 * On SIGTERM it publishes what it read, acknowledges, and exits 0. See src/pipeline/split.ts.
 */
import { Command } from 'commander';
import { parseDuration } from '../../core/duration.js';
import { createLogger } from '../../core/logger.js';
import { checkNatsUrl, redactNatsUrl } from '../../feed/jetstream/jetstream-feed.js';
import { runSource } from '../../pipeline/split.js';
import { describeTarget } from '../../source/postgres/setup/connection-config.js';
import { laneCount } from '../loader-flags.js';
import { runUntilSignal } from '../run-until-signal.js';
import { addSourceOptions, type SourceFlags, sourceConfig } from '../source-config.js';

interface SourceCommandFlags extends SourceFlags {
  readonly feed: string;
  readonly feedName?: string;
  readonly heartbeat?: string;
  readonly lanes?: string;
}

export function sourceCommand(): Command {
  return addSourceOptions(new Command('source'))
    .description(
      'publish committed changes to a NATS JetStream feed (no warehouse; `tributary load` applies them)',
    )
    .requiredOption('--feed <nats-url>', 'the NATS server with JetStream (nats://host:4222)')
    .option(
      '--feed-name <name>',
      "the feed's name on NATS: its stream and subjects (default the slot's name)",
    )
    .option('--lanes <n>', 'lanes of a feed created now, the unit loaders share out (fixed then; default 1)')
    .option(
      '--heartbeat <duration>',
      'emit a heartbeat message this often so the slot advances on a quiet database',
    )
    .action(async (flags: SourceCommandFlags) => {
      checkNatsUrl(flags.feed);
      const config = sourceConfig(flags);
      const lanes = laneCount(flags.lanes);
      const heartbeatIntervalMs = flags.heartbeat ? parseDuration(flags.heartbeat) : 0;
      await runUntilSignal(async (signal) => {
        const log = createLogger();
        log.info(
          { target: describeTarget(config.connection), slot: config.slot, feed: redactNatsUrl(flags.feed) },
          'starting the source',
        );
        await runSource(
          {
            source: { ...config, heartbeatIntervalMs },
            feed: {
              url: flags.feed,
              ...(flags.feedName ? { name: flags.feedName } : {}),
              ...(lanes === undefined ? {} : { lanes }),
            },
            logger: log,
          },
          signal,
        );
        log.info('stopped');
      });
    });
}
