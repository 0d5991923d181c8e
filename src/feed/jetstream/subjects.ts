/**
 * Names on NATS for a feed: one JetStream stream per source, one subject per table.
 *
 * A feed is named after its source (the slot's name by default, which is unique per database).
 * Stream `TRIBUTARY_<name>` holds the subjects `tributary.<name>.>`; a table's changes and
 * schema go to `tributary.<name>.t.<schema>.<table>`, and the items that belong to no table
 * (commits and logical messages that start a message) to `tributary.<name>.x`. Subject tokens
 * cannot hold `.`, `*`, `>` or white space, and stream names not even that much, so names are
 * escaped: every character but `[A-Za-z0-9_-]` becomes `%` and its UTF-8 bytes in hex. The
 * mapping is one to one, so two tables never share a subject.
 */
import { TributaryError } from '../../core/errors.js';
import type { TableRef } from '../../core/table-ref.js';

const PLAIN = /^[A-Za-z0-9_-]$/;

/** One subject token (or stream name part) for any string. */
export function escapeToken(text: string): string {
  let out = '';
  for (const ch of text) {
    if (PLAIN.test(ch)) out += ch;
    else
      for (const byte of Buffer.from(ch, 'utf8'))
        out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out.length > 0 ? out : '%';
}

export interface FeedNames {
  readonly stream: string;
  /** Every subject of the feed: the filter of a consumer that reads all of it. */
  readonly all: string;
  /** The subject of the items of no table. */
  readonly control: string;
  table(ref: TableRef): string;
}

/** Stream names: at most 255 characters of [A-Za-z0-9_-] (the escaped name must fit). */
export function feedNames(name: string): FeedNames {
  if (name.length === 0)
    throw new TributaryError('CONFIG', 'the feed needs a name (the slot name by default)');
  const token = escapeToken(name);
  const stream = `TRIBUTARY_${token.replaceAll('%', '_')}`;
  if (stream.length > 200) {
    throw new TributaryError(
      'CONFIG',
      `the feed name "${name}" is too long for a JetStream stream name; pick a shorter one`,
    );
  }
  const prefix = `tributary.${token}`;
  return {
    stream,
    all: `${prefix}.>`,
    control: `${prefix}.x`,
    table: (ref) => `${prefix}.t.${escapeToken(ref.schema)}.${escapeToken(ref.name)}`,
  };
}
