/**
 * Which tables to replicate. `parseTableList` reads `--tables` with SQL's identifier rules:
 * unquoted names fold to lower case, quoted names keep case and may hold anything (`""` is a
 * quote), an unqualified name is in schema `public`, and no name may exceed Postgres's 63 bytes.
 * Duplicates collapse; anything malformed is a USAGE error saying where.
 *
 * `listUserTables` is the set `--tables` defaults to: every permanent (logged, not temporary)
 * ordinary or partitioned table outside the system schemas, partitions left out because their
 * root is in the set (Tributary publishes with publish_via_partition_root). Unlogged tables are
 * left out because their changes never reach the WAL; `listUnloggedTables` names them so the
 * caller can say so. So are tables in schemas the warehouse keeps for itself (`_tributary…`,
 * `main`, and tables named `_tributary…`: table-checks.ts `reservedName`), named by
 * `listReservedNameTables`.
 */
import type pg from 'pg';
import { TributaryError } from '../../../core/errors.js';
import { sameTable, type TableRef } from '../../../core/table-ref.js';
import { reservedName } from './table-checks.js';

const MAX_IDENTIFIER_BYTES = 63;
const UNQUOTED = /^[A-Za-z_\u0080-\u{10FFFF}][A-Za-z0-9_$\u0080-\u{10FFFF}]*/u;
const SYNTAX_HINT =
  'list tables as schema.table separated by commas, quoting names that have capitals, spaces or punctuation: --tables \'public.orders, "Sales"."Order Items"\'';

export function parseTableList(text: string): TableRef[] {
  let at = 0;
  const fail = (what: string) =>
    new TributaryError('USAGE', `--tables ${JSON.stringify(text)}: ${what} at character ${at + 1}`, {
      hint: SYNTAX_HINT,
    });
  const skipSpace = () => {
    while (at < text.length && /\s/.test(text[at]!)) at++;
  };
  const checked = (name: string): string => {
    if (Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES)
      throw fail(
        `the name ${JSON.stringify(name)} is longer than the ${MAX_IDENTIFIER_BYTES} bytes Postgres allows`,
      );
    return name;
  };
  const identifier = (): string => {
    skipSpace();
    if (text[at] === '"') {
      const start = at;
      let name = '';
      at++;
      for (;;) {
        if (at >= text.length) {
          at = start;
          throw fail('a quoted name is never closed');
        }
        if (text[at] === '"' && text[at + 1] === '"') {
          name += '"';
          at += 2;
        } else if (text[at] === '"') {
          at++;
          break;
        } else {
          name += text[at++];
        }
      }
      if (name === '') throw fail('an empty quoted name ""');
      return checked(name);
    }
    const match = UNQUOTED.exec(text.slice(at));
    if (!match) {
      const next = text[at];
      throw fail(
        next === undefined || next === ',' ? 'a table name is missing' : `unexpected ${JSON.stringify(next)}`,
      );
    }
    at += match[0].length;
    return checked(match[0].replace(/[A-Z]/g, (c) => c.toLowerCase()));
  };

  if (text.trim() === '') throw fail('no table named');
  const tables: TableRef[] = [];
  for (;;) {
    const first = identifier();
    skipSpace();
    let table: TableRef = { schema: 'public', name: first };
    if (text[at] === '.') {
      at++;
      table = { schema: first, name: identifier() };
      skipSpace();
      if (text[at] === '.') throw fail('too many dots (expected schema.table)');
    }
    if (!tables.some((t) => sameTable(t, table))) tables.push(table);
    if (at >= text.length) return tables;
    if (text[at] !== ',')
      throw fail(`unexpected ${JSON.stringify(text[at])} (names are separated by commas)`);
    at++;
  }
}

const USER_RELATIONS = `
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
    AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'`;

export async function listUserTables(client: pg.Client): Promise<TableRef[]> {
  return (await listPermanentTables(client)).filter((t) => reservedName(t) === null);
}

/** Permanent tables whose names the warehouse keeps for itself (`reservedName`): never in the default set. */
export async function listReservedNameTables(client: pg.Client): Promise<TableRef[]> {
  return (await listPermanentTables(client)).filter((t) => reservedName(t) !== null);
}

async function listPermanentTables(client: pg.Client): Promise<TableRef[]> {
  const { rows } = await client.query<TableRef>(
    `SELECT n.nspname AS schema, c.relname AS name ${USER_RELATIONS} AND c.relpersistence = 'p'
     ORDER BY 1, 2`,
  );
  return rows.map(({ schema, name }) => ({ schema, name }));
}

/** Unlogged user tables: they exist, but logical replication cannot carry their changes. */
export async function listUnloggedTables(client: pg.Client): Promise<TableRef[]> {
  const { rows } = await client.query<TableRef>(
    `SELECT n.nspname AS schema, c.relname AS name ${USER_RELATIONS} AND c.relpersistence = 'u'
     ORDER BY 1, 2`,
  );
  return rows.map(({ schema, name }) => ({ schema, name }));
}
