/**
 * The bytes of one feed message: a batch of stream items, as the source publishes them to NATS
 * JetStream and loaders in other processes read them back. Decoding gives items equal to the
 * ones encoded, value for value (DESIGN.md, "ChangeEvent": full fidelity).
 *
 * A message is two header bytes, then one MessagePack document:
 *
 * - byte 0: 0xc1, a byte MessagePack never uses, so neither a plain MessagePack document nor
 *   JSON is mistaken for a feed message;
 * - byte 1: the format version, `FEED_FORMAT_VERSION`. A reader refuses versions it does not
 *   know instead of guessing; a change to the layout below takes a new version.
 * - then `[tables, shapes, items]`, all arrays (the format has no MessagePack maps):
 *   - `tables`: `[schema, name, version]` for each table and schema version the items use;
 *   - `shapes`: each a list of column names, in the row's key order;
 *   - `items`: each an array starting with its kind:
 *     - schema  `[0, table, relationOid, replicaIdentity, key, columns]`, a column being
 *       `[name, typeOid, typeModifier, isKey]`, plus `missingValue` as a fifth element when the
 *       column has one (so an absent value stays absent and a null one stays null); and, as a
 *       seventh element when any column has one, the columns' attribute numbers (`attnum`, a
 *       number or null each; messages written before it have six elements and read as before);
 *     - change  `[1, op, table, commitLsn, ordinal, xid, commitTime, pk, row, before, unchanged]`,
 *       plus `[cascade, restartIdentity]` as a twelfth element when the event has `truncate`;
 *     - message `[2, transactional, lsn, prefix, content, commitLsn, ordinal]`;
 *     - commit  `[3, commitLsn, endLsn, xid, commitTime, changes]`;
 *     where `table` indexes `tables` (its version is the change's `schemaVersion`), `op` is
 *     0 insert, 1 update, 2 delete, 3 truncate, and a row (`pk`, `row`, `before`) is null or
 *     `[shape, ...values]` with `shape` indexing `shapes`.
 *
 * Rows are a shape index plus values rather than MessagePack maps for two reasons. Every row of a
 * table repeats the same column names, so naming them once per message makes messages much
 * smaller. And a decoded row must be a null-prototype object in which `__proto__` or
 * `constructor` is just a column: the decoder here builds each row itself with
 * `Object.create(null)`, where a generic map decoder would build plain objects. Values are
 * MessagePack's own types or the extension types of value-extensions.ts.
 *
 * Decoding trusts nothing: a message that is not one (garbage, truncated, wrong version, a field
 * of the wrong type, an index out of range) throws `TributaryError('PROTOCOL')` saying what is
 * wrong, and lengths are checked against the bytes present before anything is allocated
 * (msgpack-bounds.ts).
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import type {
  ChangeEvent,
  ColumnSchema,
  Operation,
  Row,
  StreamItem,
  TableSchema,
} from '../core/change-event.js';
import { TributaryError } from '../core/errors.js';
import type { Position } from '../core/position.js';
import type { TableRef } from '../core/table-ref.js';
import { PgTimestampTz } from '../core/values.js';
import { checkBounds } from './msgpack-bounds.js';
import {
  describe,
  fromWire,
  isFeedExtension,
  toWire,
  valueExtensions,
  wireBigInt,
  wireNumber,
} from './value-extensions.js';

/** The layout version this code writes and the only one it reads. */
export const FEED_FORMAT_VERSION = 1;
const MARKER = 0xc1;
const HEADER_BYTES = 2;

const SCHEMA = 0;
const CHANGE = 1;
const MESSAGE = 2;
const COMMIT = 3;

const OPERATIONS: readonly Operation[] = ['insert', 'update', 'delete', 'truncate'];
const OPERATION_CODES: Readonly<Record<Operation, number>> = { insert: 0, update: 1, delete: 2, truncate: 3 };
const REPLICA_IDENTITIES: ReadonlySet<string> = new Set<TableSchema['replicaIdentity']>([
  'default',
  'nothing',
  'full',
  'index',
]);

export function encodeItems(items: readonly StreamItem[]): Uint8Array {
  const tables = new TableIndex();
  const shapes = new ShapeIndex();
  const wired = items.map((item) => wireItem(item, tables, shapes));
  const encoder = new Encoder({
    extensionCodec: valueExtensions,
    useBigInt64: true,
    initialBufferSize: 1024 + items.length * 64,
  });
  const body = encoder.encodeSharedRef([tables.list, shapes.list, wired]);
  const out = new Uint8Array(HEADER_BYTES + body.length);
  out[0] = MARKER;
  out[1] = FEED_FORMAT_VERSION;
  out.set(body, HEADER_BYTES);
  return out;
}

export function decodeItems(bytes: Uint8Array): StreamItem[] {
  if (bytes.length < HEADER_BYTES || bytes[0] !== MARKER) {
    const start = Buffer.from(bytes.subarray(0, 8)).toString('hex');
    throw new TributaryError(
      'PROTOCOL',
      `not a feed message: it should start with 0x${MARKER.toString(16)}, the version, then MessagePack (${bytes.length} bytes, starting ${start || 'with nothing'})`,
      { hint: 'is something other than Tributary publishing to this stream?' },
    );
  }
  if (bytes[1] !== FEED_FORMAT_VERSION) {
    throw new TributaryError(
      'PROTOCOL',
      `feed message of format version ${bytes[1]}, but this Tributary reads only version ${FEED_FORMAT_VERSION}`,
      { hint: 'run the loader with the Tributary version that publishes to this stream' },
    );
  }
  // a plain Uint8Array view, so decoded bytes are Uint8Arrays (not Buffers, whose slice() is a view)
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  checkBounds(view, HEADER_BYTES, isFeedExtension);
  let document: unknown;
  try {
    document = new Decoder({ extensionCodec: valueExtensions, useBigInt64: true }).decode(
      view.subarray(HEADER_BYTES),
    );
  } catch (error) {
    // a TributaryError from an extension's payload, else MessagePack's own complaint
    const problem =
      error instanceof TributaryError ? error.message : `not valid MessagePack (${String(error)})`;
    throw new TributaryError('PROTOCOL', `feed message: ${problem}`, { cause: error });
  }
  try {
    return readDocument(document);
  } catch (error) {
    if (error instanceof TributaryError) throw malformed(`feed message: ${error.message}`);
    throw error;
  }
}

function readDocument(document: unknown): StreamItem[] {
  const [rawTables, rawShapes, rawItems] = tuple(document, 'the message', 3);
  const tables = list(rawTables, 'the table list').map(readTable);
  const shapes = list(rawShapes, 'the shape list').map(readShape);
  const items = list(rawItems, 'the item list');
  const out: StreamItem[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    try {
      out[i] = readItem(items[i], tables, shapes);
    } catch (error) {
      if (error instanceof TributaryError) throw malformed(`item ${i}: ${error.message}`);
      throw error;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// encoding

/** The entry under `key`, made and stored first if there is none. */
function child<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let found = map.get(key);
  if (found === undefined) {
    found = make();
    map.set(key, found);
  }
  return found;
}

/** The message's `[schema, name, version]` list, each entry once. */
class TableIndex {
  readonly list: [string, string, string][] = [];
  readonly #index = new Map<string, Map<string, Map<string, number>>>();

  indexOf(table: TableRef, version: string): number {
    const names = child(this.#index, table.schema, () => new Map<string, Map<string, number>>());
    const versions = child(names, table.name, () => new Map<string, number>());
    return child(versions, version, () => this.list.push([table.schema, table.name, version]) - 1);
  }
}

interface ShapeNode {
  index: number; // -1 while no shape ends here
  readonly next: Map<string, ShapeNode>;
}

/** The message's column-name lists, each once: a trie on the names, so no key string is built. */
class ShapeIndex {
  readonly list: string[][] = [];
  readonly #root: ShapeNode = { index: -1, next: new Map() };

  indexOf(names: string[]): number {
    let node = this.#root;
    for (const name of names) node = child(node.next, name, () => ({ index: -1, next: new Map() }));
    if (node.index < 0) node.index = this.list.push(names) - 1;
    return node.index;
  }
}

function wireRow(row: Row | null, shapes: ShapeIndex): unknown[] | null {
  if (row === null) return null;
  const names = Object.keys(row);
  const out: unknown[] = new Array(names.length + 1);
  out[0] = shapes.indexOf(names);
  for (let i = 0; i < names.length; i++) {
    try {
      out[i + 1] = toWire(row[names[i]!]!);
    } catch (error) {
      if (!(error instanceof TributaryError)) throw error;
      throw new TributaryError('INTERNAL', `column ${JSON.stringify(names[i])}: ${error.message}`);
    }
  }
  return out;
}

function wireItem(item: StreamItem, tables: TableIndex, shapes: ShapeIndex): unknown[] {
  switch (item.kind) {
    case 'change': {
      const e = item.event;
      const out = [
        CHANGE,
        OPERATION_CODES[e.op],
        tables.indexOf(e.table, e.schemaVersion),
        wireBigInt(e.position.commitLsn),
        wireNumber(e.position.ordinal),
        wireNumber(e.xid),
        e.commitTime,
        wireRow(e.pk, shapes),
        wireRow(e.row, shapes),
        wireRow(e.before, shapes),
        e.unchanged,
      ];
      if (e.truncate) out.push([e.truncate.cascade, e.truncate.restartIdentity]);
      return out;
    }
    case 'commit':
      return [
        COMMIT,
        wireBigInt(item.commitLsn),
        wireBigInt(item.endLsn),
        wireNumber(item.xid),
        item.commitTime,
        wireNumber(item.changes),
      ];
    case 'message': {
      const m = item.message;
      return [
        MESSAGE,
        m.transactional,
        wireBigInt(m.lsn),
        m.prefix,
        m.content,
        wireBigInt(m.position.commitLsn),
        wireNumber(m.position.ordinal),
      ];
    }
    case 'schema': {
      const s = item.schema;
      return [
        SCHEMA,
        tables.indexOf(s.table, s.version),
        wireNumber(s.relationOid),
        s.replicaIdentity,
        s.key,
        s.columns.map((c) => {
          const column = [c.name, wireNumber(c.typeOid), wireNumber(c.typeModifier), c.isKey];
          if (c.missingValue !== undefined) column.push(toWire(c.missingValue));
          return column;
        }),
        // the attribute numbers, when any column has one (older messages have no seventh element)
        ...(s.columns.some((c) => c.attnum !== undefined) ? [s.columns.map((c) => c.attnum ?? null)] : []),
      ];
    }
  }
}

// ---------------------------------------------------------------------------------------------
// decoding: every read checks the type it expects

function malformed(problem: string): TributaryError {
  return new TributaryError('PROTOCOL', problem);
}

function list(raw: unknown, what: string): unknown[] {
  if (!Array.isArray(raw)) throw malformed(`${what} is ${describe(raw)}, not an array`);
  return raw;
}

function tuple(raw: unknown, what: string, length: number, orLength = length): unknown[] {
  const array = list(raw, what);
  if (array.length !== length && array.length !== orLength) {
    const expected = length === orLength ? `${length}` : `${length} or ${orLength}`;
    throw malformed(`${what} has ${array.length} fields (expected ${expected})`);
  }
  return array;
}

function text(raw: unknown, what: string): string {
  if (typeof raw !== 'string') throw malformed(`${what} is ${describe(raw)}, not a string`);
  return raw;
}

function number(raw: unknown, what: string): number {
  if (typeof raw !== 'number') throw malformed(`${what} is ${describe(raw)}, not a number`);
  return raw;
}

function bigint(raw: unknown, what: string): bigint {
  if (typeof raw !== 'bigint') throw malformed(`${what} is ${describe(raw)}, not a bigint`);
  return raw;
}

function boolean(raw: unknown, what: string): boolean {
  if (typeof raw !== 'boolean') throw malformed(`${what} is ${describe(raw)}, not a boolean`);
  return raw;
}

function timestampTz(raw: unknown, what: string): PgTimestampTz {
  if (!(raw instanceof PgTimestampTz)) throw malformed(`${what} is ${describe(raw)}, not a timestamptz`);
  return raw;
}

function texts(raw: unknown, what: string): string[] {
  const array = list(raw, what);
  for (const element of array) text(element, `an element of ${what}`);
  return array as string[];
}

function at<T>(array: readonly T[], index: unknown, what: string): T {
  const found = typeof index === 'number' && Number.isInteger(index) ? array[index] : undefined;
  if (found === undefined)
    throw malformed(`${what} index ${String(index)} is out of range (${array.length})`);
  return found;
}

interface TableEntry {
  readonly table: TableRef;
  readonly version: string;
}

function readTable(raw: unknown): TableEntry {
  const [schema, name, version] = tuple(raw, 'a table entry', 3);
  return {
    table: { schema: text(schema, 'a table schema'), name: text(name, 'a table name') },
    version: text(version, 'a table version'),
  };
}

function readShape(raw: unknown): readonly string[] {
  const names = texts(raw, 'a shape');
  if (new Set(names).size !== names.length) throw malformed('a shape names a column twice');
  return names;
}

function readRow(raw: unknown, shapes: readonly (readonly string[])[], what: string): Row | null {
  if (raw === null) return null;
  const array = list(raw, what);
  const names = at(shapes, array[0], `${what}'s shape`);
  if (array.length !== names.length + 1) {
    throw malformed(`${what} has ${array.length - 1} values for its ${names.length} columns`);
  }
  const row: Record<string, unknown> = Object.create(null);
  for (let i = 0; i < names.length; i++) row[names[i]!] = fromWire(array[i + 1]);
  return row as Row;
}

function readPosition(commitLsn: unknown, ordinal: unknown): Position {
  return { commitLsn: bigint(commitLsn, 'the commit LSN'), ordinal: number(ordinal, 'the ordinal') };
}

function readItem(
  raw: unknown,
  tables: readonly TableEntry[],
  shapes: readonly (readonly string[])[],
): StreamItem {
  const kind = list(raw, 'the item')[0];
  switch (kind) {
    case CHANGE: {
      const [, op, table, commitLsn, ordinal, xid, commitTime, pk, row, before, unchanged, truncate] = tuple(
        raw,
        'a change',
        11,
        12,
      );
      const entry = at(tables, table, 'the table');
      const event: ChangeEvent = {
        op: at(OPERATIONS, op, 'the operation'),
        table: entry.table,
        pk: readRow(pk, shapes, 'pk'),
        row: readRow(row, shapes, 'row'),
        before: readRow(before, shapes, 'before'),
        unchanged: texts(unchanged, 'unchanged'),
        position: readPosition(commitLsn, ordinal),
        xid: number(xid, 'the xid'),
        commitTime: timestampTz(commitTime, 'the commit time'),
        schemaVersion: entry.version,
      };
      if ((raw as unknown[]).length === 11) return { kind: 'change', event };
      const [cascade, restartIdentity] = tuple(truncate, 'the truncate options', 2);
      const options = {
        cascade: boolean(cascade, 'cascade'),
        restartIdentity: boolean(restartIdentity, 'restartIdentity'),
      };
      return { kind: 'change', event: { ...event, truncate: options } };
    }
    case COMMIT: {
      const [, commitLsn, endLsn, xid, commitTime, changes] = tuple(raw, 'a commit', 6);
      return {
        kind: 'commit',
        commitLsn: bigint(commitLsn, 'the commit LSN'),
        endLsn: bigint(endLsn, 'the end LSN'),
        xid: number(xid, 'the xid'),
        commitTime: timestampTz(commitTime, 'the commit time'),
        changes: number(changes, 'the change count'),
      };
    }
    case MESSAGE: {
      const [, transactional, lsn, prefix, content, commitLsn, ordinal] = tuple(raw, 'a message', 7);
      if (!(content instanceof Uint8Array)) throw malformed(`the content is ${describe(content)}, not bytes`);
      return {
        kind: 'message',
        message: {
          transactional: boolean(transactional, 'transactional'),
          lsn: bigint(lsn, 'the LSN'),
          prefix: text(prefix, 'the prefix'),
          content: content.slice(),
          position: readPosition(commitLsn, ordinal),
        },
      };
    }
    case SCHEMA: {
      const [, table, relationOid, replicaIdentity, key, columns, attnums] = tuple(raw, 'a schema', 6, 7);
      const entry = at(tables, table, 'the table');
      const identity = text(replicaIdentity, 'the replica identity');
      if (!REPLICA_IDENTITIES.has(identity))
        throw malformed(`unknown replica identity ${JSON.stringify(identity)}`);
      const schema: TableSchema = {
        table: entry.table,
        relationOid: number(relationOid, 'the relation OID'),
        version: entry.version,
        columns: withAttnums(list(columns, 'the columns').map(readColumn), attnums),
        key: texts(key, 'the key'),
        replicaIdentity: identity as TableSchema['replicaIdentity'],
      };
      return { kind: 'schema', schema };
    }
    default:
      throw malformed(`unknown item kind ${typeof kind === 'number' ? kind : describe(kind)}`);
  }
}

/** The schema item's optional attribute numbers (a number or null per column) onto its columns. */
function withAttnums(columns: ColumnSchema[], raw: unknown): ColumnSchema[] {
  if (raw === undefined) return columns;
  const attnums = list(raw, 'the attribute numbers');
  if (attnums.length !== columns.length)
    throw malformed(`${attnums.length} attribute numbers for ${columns.length} columns`);
  return columns.map((column, i) => {
    const attnum = attnums[i];
    return attnum === null ? column : { ...column, attnum: number(attnum, 'an attribute number') };
  });
}

function readColumn(raw: unknown): ColumnSchema {
  const [name, typeOid, typeModifier, isKey, missingValue] = tuple(raw, 'a column', 4, 5);
  const column: ColumnSchema = {
    name: text(name, 'a column name'),
    typeOid: number(typeOid, 'a type OID'),
    typeModifier: number(typeModifier, 'a type modifier'),
    isKey: boolean(isKey, 'isKey'),
  };
  return (raw as unknown[]).length === 5 ? { ...column, missingValue: fromWire(missingValue) } : column;
}
