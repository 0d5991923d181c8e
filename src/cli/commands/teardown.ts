/** `tributary teardown`: drops the slot and the publication, so the source keeps no WAL for us. */
import { Command } from 'commander';
import { createLogger } from '../../core/logger.js';
import { connectClient } from '../../source/postgres/setup/connect.js';
import { dropPublication, dropSlot } from '../../source/postgres/setup/slot.js';
import { addSourceOptions, type SourceFlags, sourceConfig } from '../source-config.js';

export function teardownCommand(): Command {
  return addSourceOptions(new Command('teardown'))
    .description('drop the replication slot and the publication')
    .action(async (flags: SourceFlags) => {
      const config = sourceConfig(flags);
      const log = createLogger();
      const client = await connectClient(config.connection, { applicationName: 'tributary' });
      try {
        await dropSlot(client, config.slot);
        await dropPublication(client, config.publication);
        log.info({ slot: config.slot, publication: config.publication }, 'dropped slot and publication');
      } finally {
        await client.end();
      }
    });
}
