/**
 * Names on NATS for a feed: one JetStream stream per source, its subjects split in lanes.
 *
 * A feed is named after its source (the slot's name by default, which is unique per database).
 * Stream `TRIBUTARY_<name>` holds the subjects `tributary.<name>.>`. A feed has a fixed number
 * of lanes (chosen when its stream is created), the unit that loaders share out: each table
 * belongs to one lane (a hash of its name), so one loader at a time applies a table's changes,
 * in order. A table's changes and schema go to `tributary.<name>.l<lane>.t.<schema>.<table>`;
 * the items that belong to no table (commits and logical messages that start a message) go to
 * `tributary.<name>.l<lane>.x` of every lane, so each lane's loader sees the stream's watermarks.
 * Subject tokens cannot hold `.`, `*`, `>` or white space, and stream names not even that much,
 * so names are escaped: every character but `[A-Za-z0-9_-]` becomes `%` and its UTF-8 bytes in
 * hex. The mapping is one to one, so two tables never share a subject.
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
  /** Every subject of one lane: the filter of that lane's consumer. */
  lane(lane: number): string;
  /** The subject of a lane's items of no table. */
  control(lane: number): string;
  /** The subject of a table's items (in the lane `laneOf` gives it). */
  table(ref: TableRef, lanes: number): string;
}

/** The most lanes a feed may have. */
export const MAX_LANES = 256;

/** The lane of a table: FNV-1a of its schema and name, modulo the feed's lanes. */
export function laneOf(ref: TableRef, lanes: number): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(`${ref.schema}\u0000${ref.name}`, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % lanes;
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
    lane: (lane) => `${prefix}.l${lane}.>`,
    control: (lane) => `${prefix}.l${lane}.x`,
    table: (ref, lanes) =>
      `${prefix}.l${laneOf(ref, lanes)}.t.${escapeToken(ref.schema)}.${escapeToken(ref.name)}`,
  };
}
