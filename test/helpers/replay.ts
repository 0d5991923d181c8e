/**
 * Rebuilds tables from a `tributary tail --out` file, as a downstream would: change events are
 * applied in file order to an in-memory map per table (insert and update upsert, with columns
 * listed in `unchanged` kept from the row's previous value; an update whose `before` holds
 * another key moves the row; delete removes; truncate clears). Along the way it checks the file
 * is one uninterrupted stream: positions strictly increase with no repeats, and each
 * transaction's changes are followed by its commit line before the next transaction starts.
 *
 * Values are compared as text: every column value is turned into the text Postgres prints for
 * it (`col::text`), which is what src/core/event-json.ts writes for strings, bigints, numerics
 * and json; plain JSON numbers (int2/int4, finite floats) are printed with String().
 * `tableAsText` reads a table the same way.
 *
 * Reads the file as a stream, so files of millions of lines fit in memory as long as the
 * reconstructed tables do.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type pg from 'pg';
import { comparePositions, type Position, parsePosition } from '../../src/core/position.js';

export type TextRow = Record<string, string | null>;

export interface ReplayResult {
  /** Table (`schema.name`) → key text → row. */
  readonly tables: Map<string, Map<string, TextRow>>;
  readonly counts: {
    lines: number;
    changes: number;
    commits: number;
    messages: number;
    schemas: number;
    byOp: Record<string, number>;
  };
  /** Things that cannot happen in an exact stream (update of a missing row, ...). */
  readonly anomalies: string[];
  /** Transactional messages, by prefix, in file order (content left base64). */
  readonly messages: { prefix: string; position: string }[];
}

/** The text a column value prints as in Postgres. */
export function valueText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  // arrays and objects only appear for array columns; the tests here use none
  return JSON.stringify(value);
}

function textRow(row: Record<string, unknown>): TextRow {
  const out: TextRow = {};
  for (const [name, value] of Object.entries(row)) out[name] = valueText(value);
  return out;
}

export function keyText(key: readonly string[], row: TextRow): string | null {
  const values: (string | null)[] = [];
  for (const name of key) {
    if (!Object.hasOwn(row, name)) return null;
    values.push(row[name] ?? null);
  }
  return JSON.stringify(values);
}

interface Line {
  kind?: string;
  op?: string;
  table?: string;
  position?: string;
  at?: string;
  key?: string[];
  row?: Record<string, unknown> | null;
  before?: Record<string, unknown> | null;
  pk?: Record<string, unknown> | null;
  unchanged?: string[];
  commitLsn?: string;
  prefix?: string;
  transactional?: boolean;
}

const MAX_ANOMALIES = 50;

/**
 * Replays `path`. `keys` gives each table's key columns; the file's schema lines must agree.
 * Tables not in `keys` are an anomaly.
 */
export async function replayFile(
  path: string,
  keys: Readonly<Record<string, readonly string[]>>,
): Promise<ReplayResult> {
  const tables = new Map<string, Map<string, TextRow>>();
  for (const table of Object.keys(keys)) tables.set(table, new Map());
  const counts = {
    lines: 0,
    changes: 0,
    commits: 0,
    messages: 0,
    schemas: 0,
    byOp: {} as Record<string, number>,
  };
  const anomalies: string[] = [];
  const messages: { prefix: string; position: string }[] = [];
  const anomaly = (text: string) => {
    if (anomalies.length < MAX_ANOMALIES) anomalies.push(text);
    else if (anomalies.length === MAX_ANOMALIES) anomalies.push('… (more anomalies left out)');
  };

  let last: Position | null = null;
  let lastText = '';
  /** The commit LSN of the transaction whose changes are being read, until its commit line. */
  let open: string | null = null;
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const text of lines) {
    if (text.length === 0) continue;
    counts.lines++;
    let line: Line;
    try {
      line = JSON.parse(text) as Line;
    } catch {
      anomaly(`line ${counts.lines} is not JSON: ${text.slice(0, 200)}`);
      continue;
    }
    const where = `line ${counts.lines}`;
    if (line.at !== undefined) {
      const at = parsePosition(line.at);
      if (last && comparePositions(at, last) <= 0)
        anomaly(`${where}: position ${line.at} does not come after ${lastText}`);
      last = at;
      lastText = line.at;
    }
    switch (line.kind) {
      case 'schema': {
        counts.schemas++;
        const expected = line.table === undefined ? undefined : keys[line.table];
        if (!expected) anomaly(`${where}: schema of an unexpected table ${line.table}`);
        else if (JSON.stringify(line.key) !== JSON.stringify(expected))
          anomaly(
            `${where}: ${line.table} has key ${JSON.stringify(line.key)}, expected ${JSON.stringify(expected)}`,
          );
        break;
      }
      case 'commit': {
        counts.commits++;
        if (open !== null && open !== line.commitLsn)
          anomaly(`${where}: commit ${line.commitLsn} while the changes read belong to ${open}`);
        open = null;
        break;
      }
      case 'message': {
        counts.messages++;
        if (line.transactional && line.position) {
          const commitLsn = line.position.slice(0, line.position.indexOf('#'));
          if (open !== null && open !== commitLsn)
            anomaly(`${where}: transaction ${open} has no commit line before ${line.position}`);
          open = commitLsn;
          messages.push({ prefix: line.prefix ?? '', position: line.position });
        }
        break;
      }
      case 'change': {
        counts.changes++;
        const op = line.op ?? '?';
        counts.byOp[op] = (counts.byOp[op] ?? 0) + 1;
        const position = line.position ?? '';
        if (line.at !== position) anomaly(`${where}: at ${line.at} differs from position ${position}`);
        const commitLsn = position.slice(0, position.indexOf('#'));
        if (open !== null && open !== commitLsn)
          anomaly(`${where}: transaction ${open} has no commit line before ${position}`);
        open = commitLsn;
        const table = line.table ?? '';
        const rows = tables.get(table);
        const key = keys[table];
        if (!rows || !key) {
          anomaly(`${where}: change to an unexpected table ${table}`);
          break;
        }
        applyChange(line, rows, key, (text) => anomaly(`${where} (${table} ${op} at ${position}): ${text}`));
        break;
      }
      default:
        anomaly(`${where}: unknown kind ${JSON.stringify(line.kind)}`);
    }
  }
  if (open !== null) anomaly(`the file ends inside transaction ${open} (no commit line)`);
  return { tables, counts, anomalies, messages };
}

function applyChange(
  line: Line,
  rows: Map<string, TextRow>,
  key: readonly string[],
  anomaly: (text: string) => void,
): void {
  switch (line.op) {
    case 'truncate':
      rows.clear();
      return;
    case 'insert': {
      const row = textRow(line.row ?? {});
      const at = keyText(key, row);
      if (at === null) {
        anomaly('the row lacks a key column');
        return;
      }
      if (rows.has(at)) anomaly(`insert of key ${at}, which is already there`);
      if ((line.unchanged ?? []).length > 0) anomaly(`an insert with unchanged columns ${line.unchanged}`);
      rows.set(at, row);
      return;
    }
    case 'update': {
      const row = textRow(line.row ?? {});
      const before = line.before ? textRow(line.before) : null;
      const oldKey = (before && keyText(key, before)) ?? keyText(key, row);
      if (oldKey === null) {
        anomaly('neither row nor before holds the key');
        return;
      }
      const previous = rows.get(oldKey);
      if (!previous) {
        anomaly(`update of key ${oldKey}, which is not there`);
        return;
      }
      for (const name of line.unchanged ?? []) {
        if (!Object.hasOwn(previous, name)) anomaly(`unchanged column ${name} has no previous value`);
        row[name] = previous[name] ?? null;
      }
      // the key of the new row: from the row, or (an unchanged key column) from before
      const newKey = keyText(key, row) ?? oldKey;
      if (newKey !== oldKey) {
        if (rows.has(newKey)) anomaly(`key update ${oldKey} → ${newKey} onto a row that is there`);
        rows.delete(oldKey);
      }
      rows.set(newKey, row);
      return;
    }
    case 'delete': {
      const source = line.before ?? line.pk;
      const at = source ? keyText(key, textRow(source)) : null;
      if (at === null) {
        anomaly('a delete without its key');
        return;
      }
      if (!rows.delete(at)) anomaly(`delete of key ${at}, which is not there`);
      return;
    }
    default:
      anomaly(`unknown op ${JSON.stringify(line.op)}`);
  }
}

/** Every row of `table` with each column as `col::text`, keyed like `replayFile` keys them. */
export async function tableAsText(
  client: pg.Client,
  table: { schema: string; name: string },
  key: readonly string[],
): Promise<Map<string, TextRow>> {
  const { rows: columns } = await client.query<{ name: string }>(
    `SELECT a.attname::text AS name FROM pg_attribute a
     WHERE a.attrelid = format('%I.%I', $1::text, $2::text)::regclass AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY a.attnum`,
    [table.schema, table.name],
  );
  const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;
  const list = columns.map((c) => `${quote(c.name)}::text AS ${quote(c.name)}`).join(', ');
  const { rows } = await client.query<TextRow>(
    `SELECT ${list} FROM ${quote(table.schema)}.${quote(table.name)}`,
  );
  const out = new Map<string, TextRow>();
  for (const row of rows) out.set(keyText(key, row) ?? '', { ...row });
  return out;
}

/** Differences between two tables as text (missing, extra, different rows), at most `limit`. */
export function tableDifferences(
  expected: ReadonlyMap<string, TextRow>,
  actual: ReadonlyMap<string, TextRow>,
  limit = 10,
): string[] {
  const out: string[] = [];
  const short = (row: TextRow | undefined) =>
    JSON.stringify(row, (_k, v: unknown) =>
      typeof v === 'string' && v.length > 80 ? `${v.slice(0, 40)}…(${v.length})` : v,
    );
  for (const [key, row] of expected) {
    if (out.length >= limit) break;
    const other = actual.get(key);
    if (!other) out.push(`missing ${key}: ${short(row)}`);
    else {
      const names = new Set([...Object.keys(row), ...Object.keys(other)]);
      const differing = [...names].filter((n) => row[n] !== other[n]);
      if (differing.length > 0)
        out.push(
          `different ${key} in ${differing.join(', ')}: expected ${short(row)}, replayed ${short(other)}`,
        );
    }
  }
  for (const [key, row] of actual) {
    if (out.length >= limit) break;
    if (!expected.has(key)) out.push(`extra ${key}: ${short(row)}`);
  }
  return out;
}
