/**
 * The source options every command shares: `--source` (or TRIBUTARY_SOURCE), `--tables`,
 * `--slot`, `--publication`. Parsed once, validated with errors that say what to change.
 */
import type { Command } from 'commander';
import { TributaryError } from '../core/errors.js';
import type { TableRef } from '../core/table-ref.js';
import {
  type SourceConfig as ConnectionConfig,
  parseSourceUrl,
} from '../source/postgres/setup/connection-config.js';
import { slotNameIsValid } from '../source/postgres/setup/slot.js';
import { parseTableList } from '../source/postgres/setup/tables.js';

export interface SourceFlags {
  readonly source?: string;
  readonly tables?: string;
  readonly slot: string;
  readonly publication: string;
}

export interface SourceConfig {
  readonly connection: ConnectionConfig;
  readonly tables: readonly TableRef[] | 'all';
  readonly slot: string;
  readonly publication: string;
}

export function addSourceOptions(command: Command): Command {
  return command
    .option('--source <postgres-url>', 'the source database (default: $TRIBUTARY_SOURCE)')
    .option(
      '--tables <list>',
      'schema-qualified tables to replicate, comma-separated (default: every user table)',
    )
    .option('--slot <name>', 'logical replication slot', 'tributary')
    .option('--publication <name>', 'publication', 'tributary');
}

export function sourceConfig(flags: SourceFlags): SourceConfig {
  const url = flags.source ?? process.env.TRIBUTARY_SOURCE;
  if (!url) {
    throw new TributaryError('USAGE', 'no source database given', {
      hint: 'pass --source postgres://user@host:5432/db or set TRIBUTARY_SOURCE',
    });
  }
  slotNameIsValid(flags.slot);
  if (flags.publication.length === 0 || flags.publication.length > 63) {
    throw new TributaryError(
      'USAGE',
      `publication name ${JSON.stringify(flags.publication)} must be 1 to 63 characters`,
    );
  }
  return {
    connection: parseSourceUrl(url),
    tables: flags.tables ? parseTableList(flags.tables) : 'all',
    slot: flags.slot,
    publication: flags.publication,
  };
}
