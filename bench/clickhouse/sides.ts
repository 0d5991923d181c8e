/**
 * The two warehouses bench/clickhouse sets side by side, opened as `tributary run` opens them
 * (`ClickHouseWarehouse.open(url, { typeInfo })`, `DuckDBWarehouse.open(path, { typeInfo })`),
 * each fresh, each removed again by `discard()`.
 *
 * chdb admits ONE data directory per process, for the life of the process: every ClickHouse
 * side of a bench run is a fresh database in the one directory `Sides` was given (created
 * with the warehouse, dropped by `discard()`), so the bench never opens a second directory.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TypeRegistry } from '../../src/source/postgres/values/type-registry.js';
import { ClickHouseWarehouse } from '../../src/warehouse/clickhouse/clickhouse-warehouse.js';
import { quoteName } from '../../src/warehouse/clickhouse/connect.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { fileBytes } from '../common/report.js';

export type Side = 'clickhouse' | 'duckdb';

export const SIDE_NAMES: Readonly<Record<Side, string>> = { clickhouse: 'ClickHouse', duckdb: 'DuckDB' };

export interface OpenSide {
  readonly side: Side;
  readonly warehouse: ClickHouseWarehouse | DuckDBWarehouse;
  /** Where it lives: the chdb database's URL or the DuckDB file. */
  readonly where: string;
  /** Closes the warehouse and removes its data (drops the database / deletes the file). */
  discard(): Promise<void>;
}

/** Opens fresh warehouses of either kind under one work directory (see the header). */
export class Sides {
  readonly #workDir: string;
  readonly #chdbDir: string;
  readonly #open = new Set<OpenSide>();

  constructor(workDir: string) {
    this.#workDir = workDir;
    this.#chdbDir = join(workDir, 'chdb');
  }

  /** The process's one chdb data directory. */
  get chdbDir(): string {
    return this.#chdbDir;
  }

  async open(side: Side, name: string, types: TypeRegistry): Promise<OpenSide> {
    const typeInfo = (oid: number) => types.info(oid);
    let opened: OpenSide;
    if (side === 'clickhouse') {
      const where = `chdb://${this.#chdbDir}?database=${name}`;
      const warehouse = await ClickHouseWarehouse.open(where, { typeInfo });
      opened = {
        side,
        warehouse,
        where,
        discard: async () => {
          this.#open.delete(opened);
          try {
            await warehouse.client.command({ query: `DROP DATABASE IF EXISTS ${quoteName(name)} SYNC` });
          } finally {
            await warehouse.close();
          }
        },
      };
    } else {
      const where = join(this.#workDir, `${name}.duckdb`);
      const warehouse = await DuckDBWarehouse.open(where, { typeInfo });
      opened = {
        side,
        warehouse,
        where,
        discard: async () => {
          this.#open.delete(opened);
          await warehouse.close();
          rmSync(where, { force: true });
          rmSync(`${where}.wal`, { force: true });
        },
      };
    }
    this.#open.add(opened);
    return opened;
  }

  /** Discards every side still open (on failure or Ctrl-C). */
  async discardAll(): Promise<void> {
    for (const side of [...this.#open]) await side.discard().catch(() => {});
  }
}

/** Bytes a side's data takes on disk: the DuckDB file with its WAL, or the chdb database's parts. */
export async function sideBytes(open: OpenSide, database: string): Promise<number> {
  if (open.warehouse instanceof DuckDBWarehouse) return fileBytes(open.where);
  const result = await open.warehouse.client.query({
    query:
      'SELECT toString(sum(bytes_on_disk)) AS bytes FROM system.parts WHERE database = {db:String} AND active',
    query_params: { db: database },
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ bytes: string }>();
  return Number(row?.bytes ?? 0);
}

/** Active parts of a ClickHouse table (how much FINAL has to merge at read time). */
export async function activeParts(
  warehouse: ClickHouseWarehouse,
  database: string,
  table: string,
): Promise<number> {
  const result = await warehouse.client.query({
    query:
      'SELECT toString(count()) AS parts FROM system.parts WHERE database = {db:String} AND table = {table:String} AND active',
    query_params: { db: database, table },
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ parts: string }>();
  return Number(row?.parts ?? 0);
}

/** A decimal string as an exact integer of hundredths. */
export function cents(text: string): bigint {
  const negative = text.startsWith('-');
  const [whole = '0', fraction = ''] = (negative ? text.slice(1) : text).split('.');
  const value = BigInt(whole) * 100n + BigInt(fraction.padEnd(2, '0').slice(0, 2));
  return negative ? -value : value;
}
