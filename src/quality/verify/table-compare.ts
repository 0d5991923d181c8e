/**
 * Compares one table of the warehouse with its source, both at the same point (verify.ts pins
 * them), without moving the rows: each side computes, per bucket of keys, the row count and
 * the sum of a 60-bit hash of each row's canonical form (canonical.ts), and only those
 * aggregates cross the network. Buckets that agree are done; a bucket that differs is split
 * and compared again (bisection), down to buckets small enough to compare row by row, where
 * each differing key is reported as missing (in the source only), extra (in the warehouse
 * only), or changed (naming the columns that differ).
 *
 * Buckets are key ranges when both engines order the key the same way (integers, decimals,
 * uuids, text of the "C" collation): a range is read on the source through its primary key's
 * index, one statement per bucket, so a bucket that matches is never read again and a bisection
 * reads only its own range. Other keys (text under a linguistic collation, timestamps, composite
 * keys of those) are bucketed by a hash of the key instead: the source is scanned in chunks of
 * heap pages, each statement grouping by bucket, with buckets small enough to compare row by row
 * at once. A table without a primary key (a multiset) is compared as a whole: count and hash sum.
 *
 * Every query is recorded (`QueryLog`) so a caller can see what was read where.
 */
import type { DuckDBValue } from '@duckdb/node-api';
import { quoteIdentifier as q } from '../../core/table-ref.js';
import { type ColumnCanon, rowHash } from './canonical.js';

/** The source's rows at the verification snapshot, read on any of its connections. */
export interface SourceSide {
  /** Runs one statement on a free snapshot connection; every value comes back as text (or null). */
  query(sql: string, values?: readonly unknown[]): Promise<(string | null)[][]>;
}

/** The warehouse at the pinned point. */
export interface WarehouseSide {
  rows(sql: string, values?: DuckDBValue[]): Promise<DuckDBValue[][]>;
}

export interface CompareSettings {
  /** Rows per first-level bucket (range buckets). */
  readonly bucketRows: number;
  /** A bucket with at most this many rows on each side is compared row by row. */
  readonly leafRows: number;
  /** How many parts a differing bucket is split into. */
  readonly fanout: number;
  /** Differing keys listed per table; the rest are counted. */
  readonly maxReported: number;
}

export type DifferenceKind = 'missing' | 'extra' | 'changed';

export interface KeyDifference {
  /** The key's columns as the source prints them (the warehouse's, for an extra row). */
  readonly key: Readonly<Record<string, string | null>>;
  readonly kind: DifferenceKind;
  /** For `changed`: the columns whose values differ. */
  readonly columns?: readonly string[];
}

export interface QueryLog {
  readonly side: 'source' | 'warehouse';
  readonly table: string;
  /** `buckets`: first-level aggregates; `bisect`: a differing bucket split; `rows`: row by row; `bounds`: split points. */
  readonly purpose: 'buckets' | 'bisect' | 'rows' | 'bounds' | 'count';
  /** The key range read, as `[from, to)` in key text, or `all` / a hash-bucket list. */
  readonly range: string;
  /** The first-level bucket the range lies in (bisections and rows read only inside differing ones). */
  readonly root: string;
  readonly depth: number;
}

export interface TableComparison {
  readonly mode: 'range' | 'hash' | 'multiset';
  readonly sourceRows: number;
  readonly warehouseRows: number;
  readonly buckets: number;
  /** First-level buckets that differed (their ranges, as logged). */
  readonly differingBuckets: readonly string[];
  readonly differences: readonly KeyDifference[];
  /** Differences beyond `maxReported`, or rows that differ in a multiset (no keys to list). */
  readonly unlisted: number;
}

/** One table's shape as both sides see it (verify.ts prepares it). */
export interface ComparedTable {
  /** For the query log and messages. */
  readonly display: string;
  /** `SELECT <columns> FROM <table> [WHERE <publication filter>]` on the source. */
  readonly sourceSelect: string;
  readonly sourceFiltered: boolean;
  /** Heap pages of the source table (hash-mode chunks). */
  readonly sourcePages: number;
  /** `"schema"."table"` in DuckDB. */
  readonly warehouseTable: string;
  /** The columns compared (key columns included), canonical on both sides. */
  readonly columns: readonly ColumnCanon[];
  /** The primary key's columns (names), empty for a table without one. */
  readonly key: readonly string[];
  /** Per key column: the source's SQL type (format_type) and the warehouse's type. */
  readonly keyTypes: readonly { readonly source: string; readonly warehouse: string }[];
  /** Whether the key is ordered the same way by both engines (range buckets). */
  readonly ordered: boolean;
}

/** A bucket of keys: a range of the key, or of the key's hash. */
interface Bucket {
  /** Inclusive lower bound (null: unbounded): key texts, or the hash as text. */
  readonly from: readonly string[] | null;
  /** Exclusive upper bound (null: unbounded). */
  readonly to: readonly string[] | null;
  readonly depth: number;
  /** The first-level bucket it lies in, as `rangeText` shows it. */
  readonly root: string;
}

interface Aggregate {
  count: bigint;
  sum: bigint;
}

const HASH_SPACE = 1n << 60n;
const NULL_MARK = '\u0000null';

export async function compareTable(
  table: ComparedTable,
  source: SourceSide,
  warehouse: WarehouseSide,
  settings: CompareSettings,
  log: (entry: QueryLog) => void,
): Promise<TableComparison> {
  const comparer = new Comparer(table, source, warehouse, settings, log);
  if (table.key.length === 0) return comparer.multiset();
  return table.ordered ? comparer.byRange() : comparer.byHash();
}

class Comparer {
  readonly #t: ComparedTable;
  readonly #source: SourceSide;
  readonly #warehouse: WarehouseSide;
  readonly #s: CompareSettings;
  readonly #log: (entry: QueryLog) => void;
  readonly #hash: { source: string; warehouse: string };
  readonly #keyHash: { source: string; warehouse: string };
  readonly #keyColumns: readonly ColumnCanon[];
  readonly #differences: KeyDifference[] = [];
  #unlisted = 0;

  constructor(
    table: ComparedTable,
    source: SourceSide,
    warehouse: WarehouseSide,
    settings: CompareSettings,
    log: (entry: QueryLog) => void,
  ) {
    this.#t = table;
    this.#source = source;
    this.#warehouse = warehouse;
    this.#s = settings;
    this.#log = log;
    this.#hash = rowHash(table.columns);
    this.#keyColumns = table.key.map((name) => {
      const column = table.columns.find((c) => c.name === name);
      if (!column) throw new Error(`key column ${name} is not among the compared columns`);
      return column;
    });
    this.#keyHash = rowHash(this.#keyColumns);
  }

  // ---- multiset: the whole table at once -------------------------------------------------

  async multiset(): Promise<TableComparison> {
    const all: Bucket = { from: null, to: null, depth: 0, root: 'all' };
    const [src, wh] = await Promise.all([this.#sourceChunked(null), this.#warehouseAggregate(all, 'count')]);
    const source = src.get(0n) ?? { count: 0n, sum: 0n };
    const differs = source.count !== wh.count || source.sum !== wh.sum;
    const gap = source.count > wh.count ? source.count - wh.count : wh.count - source.count;
    return {
      mode: 'multiset',
      sourceRows: Number(source.count),
      warehouseRows: Number(wh.count),
      buckets: 1,
      differingBuckets: differs ? ['all'] : [],
      differences: [],
      unlisted: differs ? Math.max(1, Number(gap)) : 0,
    };
  }

  // ---- key ranges --------------------------------------------------------------------------

  async byRange(): Promise<TableComparison> {
    const total = await this.#warehouseCount();
    const bounds =
      total > this.#s.bucketRows ? await this.#warehouseBounds(null, this.#s.bucketRows, total, 0) : [];
    const buckets = bucketsFrom(bounds, null, 0);
    const [src, wh] = await Promise.all([
      Promise.all(buckets.map((b) => this.#sourceAggregate(b, 'buckets'))),
      this.#warehouseGrouped(bounds, null, 0, 'buckets'),
    ]);
    let sourceRows = 0n;
    let warehouseRows = 0n;
    const differing: Bucket[] = [];
    for (const [i, bucket] of buckets.entries()) {
      const s = src[i]!;
      const w = wh[i] ?? { count: 0n, sum: 0n };
      sourceRows += s.count;
      warehouseRows += w.count;
      if (s.count !== w.count || s.sum !== w.sum) differing.push(bucket);
    }
    // each differing bucket's halves are read one bucket at a time: a table that differs
    // everywhere is not read all at once
    for (const bucket of differing) {
      const s = src[buckets.indexOf(bucket)]!;
      const w = wh[buckets.indexOf(bucket)] ?? { count: 0n, sum: 0n };
      await this.#bisect(bucket, s, w);
    }
    return this.#result('range', sourceRows, warehouseRows, buckets.length, differing);
  }

  async #bisect(bucket: Bucket, source: Aggregate, warehouse: Aggregate): Promise<void> {
    if (this.#differences.length >= this.#s.maxReported) {
      this.#unlisted += Number(source.count > warehouse.count ? source.count : warehouse.count);
      return;
    }
    const most = source.count > warehouse.count ? source.count : warehouse.count;
    if (most <= BigInt(this.#s.leafRows)) return this.#rowByRow(bucket);
    const step = Number((most + BigInt(this.#s.fanout) - 1n) / BigInt(this.#s.fanout));
    // split where the side with more rows has them
    const bounds =
      warehouse.count >= source.count
        ? await this.#warehouseBounds(bucket, step, Number(warehouse.count), bucket.depth + 1)
        : await this.#sourceBounds(bucket, step, bucket.depth + 1);
    if (bounds.length === 0) return this.#rowByRow(bucket);
    const parts = bucketsFrom(bounds, bucket, bucket.depth + 1);
    const [src, wh] = await Promise.all([
      Promise.all(parts.map((b) => this.#sourceAggregate(b, 'bisect'))),
      this.#warehouseGrouped(bounds, bucket, bucket.depth + 1, 'bisect'),
    ]);
    for (const [i, part] of parts.entries()) {
      const s = src[i]!;
      const w = wh[i] ?? { count: 0n, sum: 0n };
      if (s.count !== w.count || s.sum !== w.sum) await this.#bisect(part, s, w);
    }
  }

  /** Records a query about to run over `bucket` (null: the whole table). */
  #logRange(
    side: QueryLog['side'],
    purpose: QueryLog['purpose'],
    bucket: Bucket | null,
    depth: number,
  ): void {
    this.#log({
      side,
      table: this.#t.display,
      purpose,
      range: rangeText(bucket),
      root: bucket?.root ?? 'all',
      depth,
    });
  }

  async #warehouseCount(): Promise<number> {
    this.#log({
      side: 'warehouse',
      table: this.#t.display,
      purpose: 'count',
      range: 'all',
      root: 'all',
      depth: 0,
    });
    const rows = await this.#warehouse.rows(`SELECT count(*) FROM ${this.#t.warehouseTable}`);
    return Number(rows[0]?.[0] ?? 0);
  }

  /** Every `step`-th key of the warehouse's rows in `within` (first excluded): split points. */
  async #warehouseBounds(
    within: Bucket | null,
    step: number,
    rows: number,
    depth: number,
  ): Promise<string[][]> {
    const keys = this.#t.key.map(q);
    const where = this.#warehouseRange(within);
    // bounds need not be exact quantiles, only keys in order: among many rows, every 100th of a
    // fixed-seed sample of 100 per part (sorting the sample, not the table)
    const parts = Math.ceil(rows / Math.max(1, step));
    const sampled = rows > parts * 400;
    const scope = sampled
      ? `(SELECT ${keys.join(', ')} FROM ${this.#t.warehouseTable} WHERE ${where.sql}) AS s USING SAMPLE reservoir(${parts * 100} ROWS) REPEATABLE (1)`
      : `${this.#t.warehouseTable} WHERE ${where.sql}`;
    const every = sampled ? 100 : Math.max(1, Math.floor(step));
    this.#logRange('warehouse', 'bounds', within, depth);
    const found = await this.#warehouse.rows(
      `SELECT ${keys.map((k) => `${k}::VARCHAR`).join(', ')} FROM (
         SELECT ${keys.join(', ')}, row_number() OVER (ORDER BY ${keys.join(', ')}) AS _tributary_rn FROM ${scope})
        WHERE _tributary_rn > 1 AND (_tributary_rn - 1) % ${every} = 0 ORDER BY _tributary_rn`,
      where.values,
    );
    return found.map((row) => row.map((v) => String(v)));
  }

  async #sourceBounds(within: Bucket, step: number, depth: number): Promise<string[][]> {
    const keys = this.#t.key.map(q);
    const where = this.#sourceRange(within, 0);
    this.#logRange('source', 'bounds', within, depth);
    return (
      await this.#source.query(
        `SELECT ${keys.map((k) => `${k}::text`).join(', ')} FROM (
           SELECT ${keys.join(', ')}, row_number() OVER (ORDER BY ${keys.join(', ')}) AS _tributary_rn
             FROM (${this.#t.sourceSelect}) AS s WHERE ${where.sql}) AS r
          WHERE _tributary_rn > 1 AND (_tributary_rn - 1) % ${Math.max(1, Math.floor(step))} = 0 ORDER BY _tributary_rn`,
        where.values,
      )
    ).map((row) => row.map((v) => v ?? ''));
  }

  async #sourceAggregate(bucket: Bucket, purpose: QueryLog['purpose']): Promise<Aggregate> {
    const where = this.#sourceRange(bucket, 0);
    this.#logRange('source', purpose, bucket, bucket.depth);
    const rows = await this.#source.query(
      `SELECT count(*), coalesce(sum(${this.#hash.source}), 0) FROM (${this.#t.sourceSelect}) AS s WHERE ${where.sql}`,
      where.values,
    );
    return { count: BigInt(rows[0]?.[0] ?? 0), sum: BigInt(rows[0]?.[1] ?? 0) };
  }

  async #warehouseAggregate(bucket: Bucket, purpose: QueryLog['purpose']): Promise<Aggregate> {
    const where = this.#warehouseRange(bucket);
    this.#logRange('warehouse', purpose, bucket, bucket.depth);
    const rows = await this.#warehouse.rows(
      `SELECT count(*)::VARCHAR, coalesce(sum(${this.#hash.warehouse}), 0)::VARCHAR FROM ${this.#t.warehouseTable} WHERE ${where.sql}`,
      where.values,
    );
    return { count: BigInt(String(rows[0]?.[0] ?? 0)), sum: BigInt(String(rows[0]?.[1] ?? 0)) };
  }

  /**
   * Count and hash sum per part of `within` cut at `bounds`, in one pass: each row's part is
   * found by a balanced tree of comparisons with the bounds (a binary search in SQL: about
   * log2(parts) comparisons a row; a join with the bounds costs several times more).
   */
  async #warehouseGrouped(
    bounds: readonly string[][],
    within: Bucket | null,
    depth: number,
    purpose: QueryLog['purpose'],
  ): Promise<Aggregate[]> {
    const where = this.#warehouseRange(within);
    this.#logRange('warehouse', purpose, within, depth);
    const values: DuckDBValue[] = [...where.values];
    // part i holds keys in [bounds[i-1], bounds[i]): below bounds[m] it is at most m
    const part = (low: number, high: number): string => {
      if (low === high) return String(low);
      const middle = (low + high) >> 1;
      const below = this.#keyComparison('<', bounds[middle]!, values, 'warehouse', 0);
      return `CASE WHEN ${below} THEN ${part(low, middle)} ELSE ${part(middle + 1, high)} END`;
    };
    const rows = await this.#warehouse.rows(
      `SELECT ${part(0, bounds.length)} AS _tributary_part, count(*)::VARCHAR,
              coalesce(sum(${this.#hash.warehouse}), 0)::VARCHAR
         FROM ${this.#t.warehouseTable} WHERE ${where.sql} GROUP BY 1`,
      values,
    );
    const out: Aggregate[] = [];
    for (const row of rows)
      out[Number(row[0])] = { count: BigInt(String(row[1])), sum: BigInt(String(row[2])) };
    return out;
  }

  /** `key >= from AND key < to` on the source, with the bounds as parameters from `$first+1`. */
  #sourceRange(bucket: Bucket, first: number): { sql: string; values: unknown[] } {
    const values: unknown[] = [];
    return { sql: this.#range(bucket, values, 'source', first), values };
  }

  #warehouseRange(bucket: Bucket | null): { sql: string; values: DuckDBValue[] } {
    const values: DuckDBValue[] = [];
    return { sql: this.#range(bucket, values, 'warehouse', 0), values };
  }

  /** `key >= from AND key < to` (TRUE when unbounded, or no bucket) on one side, the bounds appended to `values`. */
  #range(bucket: Bucket | null, values: unknown[], side: 'source' | 'warehouse', first: number): string {
    const parts: string[] = [];
    if (bucket?.from) parts.push(this.#keyComparison('>=', bucket.from, values, side, first));
    if (bucket?.to) parts.push(this.#keyComparison('<', bucket.to, values, side, first));
    return parts.length ? parts.join(' AND ') : 'TRUE';
  }

  /**
   * `(k1, k2, ...) <op> (bound)` with the bound's texts as parameters (appended to `values`,
   * numbered after `first` more), cast to each key column's type on that side (a one-column tuple
   * is the value itself on both engines).
   */
  #keyComparison(
    op: '<' | '>=',
    bound: readonly string[],
    values: unknown[],
    side: 'source' | 'warehouse',
    first: number,
  ): string {
    const params = bound.map((text, k) => {
      values.push(text);
      const type = this.#t.keyTypes[k]![side];
      return side === 'source' ? `$${first + values.length}::text::${type}` : `$${values.length}::${type}`;
    });
    return `(${this.#t.key.map(q).join(', ')}) ${op} (${params.join(', ')})`;
  }

  // ---- key hashes ----------------------------------------------------------------------------

  async byHash(): Promise<TableComparison> {
    const total = await this.#warehouseCount();
    const n = BigInt(Math.max(1, Math.ceil(total / Math.max(1, this.#s.leafRows))));
    const width = (HASH_SPACE + n - 1n) / n;
    const [src, wh] = await Promise.all([this.#sourceChunked(width), this.#warehouseByHash(width)]);
    let sourceRows = 0n;
    let warehouseRows = 0n;
    const differing: bigint[] = [];
    const all = new Set([...src.keys(), ...wh.keys()]);
    for (const b of all) {
      const s = src.get(b) ?? { count: 0n, sum: 0n };
      const w = wh.get(b) ?? { count: 0n, sum: 0n };
      sourceRows += s.count;
      warehouseRows += w.count;
      if (s.count !== w.count || s.sum !== w.sum) differing.push(b);
    }
    differing.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const buckets = differing.map((b) => ({
      from: [String(b * width)],
      to: [String((b + 1n) * width)],
    }));
    // the differing buckets' rows, a bounded number of buckets per pass over the source
    const perPass = Math.max(1, Math.floor((this.#s.maxReported * 4) / Math.max(1, this.#s.leafRows)) || 1);
    for (let i = 0; i < differing.length; i += perPass) {
      if (this.#differences.length >= this.#s.maxReported) {
        for (const b of differing.slice(i)) {
          const s = src.get(b)?.count ?? 0n;
          const w = wh.get(b)?.count ?? 0n;
          this.#unlisted += Number(s > w ? s : w);
        }
        break;
      }
      await this.#hashRows(differing.slice(i, i + perPass), width);
    }
    const differingText = buckets.map((b) => `hash [${b.from[0]}, ${b.to[0]})`);
    return {
      mode: 'hash',
      sourceRows: Number(sourceRows),
      warehouseRows: Number(warehouseRows),
      buckets: Number(n),
      differingBuckets: differingText,
      differences: this.#differences,
      unlisted: this.#unlisted,
    };
  }

  /**
   * Count and hash sum per hash bucket of `width` (null: one bucket), read in chunks of heap
   * pages: each statement is bounded, and the partial sums add up.
   */
  async #sourceChunked(width: bigint | null): Promise<Map<bigint, Aggregate>> {
    const bucket = width === null ? '0' : `(${this.#keyHash.source}) / ${width}`;
    const chunks = pageChunks(this.#t.sourcePages, this.#s.bucketRows);
    const out = new Map<bigint, Aggregate>();
    await Promise.all(
      chunks.map(async (chunk) => {
        this.#log({
          side: 'source',
          table: this.#t.display,
          purpose: 'buckets',
          range: `pages [${chunk.from}, ${chunk.to ?? '∞'})`,
          root: 'all',
          depth: 0,
        });
        const rows = await this.#source.query(
          `SELECT ${bucket} AS part, count(*), coalesce(sum(${this.#hash.source}), 0)
             FROM (${this.#withPages(chunk)}) AS s GROUP BY 1`,
        );
        for (const row of rows) {
          const b = BigInt(row[0] ?? 0);
          const a = out.get(b) ?? { count: 0n, sum: 0n };
          a.count += BigInt(row[1] ?? 0);
          a.sum += BigInt(row[2] ?? 0);
          out.set(b, a);
        }
      }),
    );
    return out;
  }

  async #warehouseByHash(width: bigint): Promise<Map<bigint, Aggregate>> {
    this.#log({
      side: 'warehouse',
      table: this.#t.display,
      purpose: 'buckets',
      range: 'all',
      root: 'all',
      depth: 0,
    });
    const rows = await this.#warehouse.rows(
      `SELECT ((${this.#keyHash.warehouse}) // ${width})::VARCHAR AS part, count(*)::VARCHAR,
              coalesce(sum(${this.#hash.warehouse}), 0)::VARCHAR
         FROM ${this.#t.warehouseTable} GROUP BY 1`,
    );
    const out = new Map<bigint, Aggregate>();
    for (const row of rows)
      out.set(BigInt(String(row[0])), { count: BigInt(String(row[1])), sum: BigInt(String(row[2])) });
    return out;
  }

  #withPages(chunk: { from: number; to: number | null }): string {
    const conditions = [`ctid >= '(${chunk.from},0)'::tid`];
    if (chunk.to !== null) conditions.push(`ctid < '(${chunk.to},0)'::tid`);
    if (chunk.from === 0 && chunk.to === null) return this.#t.sourceSelect;
    return `${this.#t.sourceSelect} ${this.#t.sourceFiltered ? 'AND' : 'WHERE'} ${conditions.join(' AND ')}`;
  }

  async #hashRows(buckets: readonly bigint[], width: bigint): Promise<void> {
    const list = buckets.map(String).join(', ');
    const chunks = pageChunks(this.#t.sourcePages, this.#s.bucketRows);
    const sourceRows: (string | null)[][] = [];
    await Promise.all(
      chunks.map(async (chunk) => {
        this.#log({
          side: 'source',
          table: this.#t.display,
          purpose: 'rows',
          range: `hash buckets ${list} of pages [${chunk.from}, ${chunk.to ?? '∞'})`,
          root: `hash buckets ${list}`,
          depth: 1,
        });
        const rows = await this.#source.query(
          `SELECT ${this.#rowColumns('source')} FROM (${this.#withPages(chunk)}) AS s
            WHERE (${this.#keyHash.source}) / ${width} IN (${list})`,
        );
        sourceRows.push(...rows);
      }),
    );
    this.#log({
      side: 'warehouse',
      table: this.#t.display,
      purpose: 'rows',
      range: `hash buckets ${list}`,
      root: `hash buckets ${list}`,
      depth: 1,
    });
    const warehouseRows = await this.#warehouse.rows(
      `SELECT ${this.#rowColumns('warehouse')} FROM ${this.#t.warehouseTable}
        WHERE (${this.#keyHash.warehouse}) // ${width} IN (${list})`,
    );
    this.#diffRows(
      sourceRows,
      warehouseRows.map((row) => row.map(textOf)),
    );
  }

  // ---- row by row ----------------------------------------------------------------------------

  async #rowByRow(bucket: Bucket): Promise<void> {
    const where = this.#sourceRange(bucket, 0);
    this.#logRange('source', 'rows', bucket, bucket.depth);
    const wWhere = this.#warehouseRange(bucket);
    this.#logRange('warehouse', 'rows', bucket, bucket.depth);
    const [src, wh] = await Promise.all([
      this.#source.query(
        `SELECT ${this.#rowColumns('source')} FROM (${this.#t.sourceSelect}) AS s WHERE ${where.sql}`,
        where.values,
      ),
      this.#warehouse.rows(
        `SELECT ${this.#rowColumns('warehouse')} FROM ${this.#t.warehouseTable} WHERE ${wWhere.sql}`,
        wWhere.values,
      ),
    ]);
    this.#diffRows(
      src,
      wh.map((row) => row.map(textOf)),
    );
  }

  /**
   * Per row: the key's canonical texts, the key as printed, the row hash, then one digest per
   * compared column (md5 of its canonical text; a null stays null).
   */
  #rowColumns(side: 'source' | 'warehouse'): string {
    const display = side === 'source' ? (k: string) => `${q(k)}::text` : (k: string) => `${q(k)}::VARCHAR`;
    return [
      ...this.#keyColumns.map((c) => c[side]),
      ...this.#t.key.map(display),
      `(${this.#hash[side]})${side === 'source' ? '::text' : '::VARCHAR'}`,
      ...this.#t.columns.map((c) => `md5(${c[side]})`),
    ].join(', ');
  }

  #diffRows(source: readonly (string | null)[][], warehouse: readonly (string | null)[][]): void {
    const k = this.#t.key.length;
    const id = (row: readonly (string | null)[]) =>
      JSON.stringify(row.slice(0, k).map((v) => v ?? NULL_MARK));
    const theirs = new Map(warehouse.map((row) => [id(row), row]));
    const keyOf = (row: readonly (string | null)[]) =>
      Object.fromEntries(this.#t.key.map((name, i) => [name, row[k + i] ?? null]));
    const report = (difference: KeyDifference) => {
      if (this.#differences.length < this.#s.maxReported) this.#differences.push(difference);
      else this.#unlisted++;
    };
    const hashAt = 2 * k;
    for (const row of source) {
      const key = id(row);
      const other = theirs.get(key);
      theirs.delete(key);
      if (!other) {
        report({ key: keyOf(row), kind: 'missing' });
        continue;
      }
      if (other[hashAt] === row[hashAt]) continue;
      const columns = this.#t.columns
        .filter((_, i) => other[hashAt + 1 + i] !== row[hashAt + 1 + i])
        .map((c) => c.name);
      report({ key: keyOf(row), kind: 'changed', columns });
    }
    for (const row of theirs.values()) report({ key: keyOf(row), kind: 'extra' });
  }

  #result(
    mode: TableComparison['mode'],
    sourceRows: bigint,
    warehouseRows: bigint,
    buckets: number,
    differing: readonly Bucket[],
  ): TableComparison {
    return {
      mode,
      sourceRows: Number(sourceRows),
      warehouseRows: Number(warehouseRows),
      buckets,
      differingBuckets: differing.map(rangeText),
      differences: this.#differences,
      unlisted: this.#unlisted,
    };
  }
}

/** The parts of `within` cut at `bounds` (ascending). */
function bucketsFrom(bounds: readonly string[][], within: Bucket | null, depth: number): Bucket[] {
  const edges: (readonly string[] | null)[] = [within?.from ?? null, ...bounds, within?.to ?? null];
  const out: Bucket[] = [];
  for (let i = 0; i + 1 < edges.length; i++) {
    const bucket = { from: edges[i]!, to: edges[i + 1]!, depth, root: '' };
    out.push({ ...bucket, root: within?.root ?? rangeText(bucket) });
  }
  return out;
}

export function rangeText(bucket: Omit<Bucket, 'root'> | null): string {
  if (!bucket || (!bucket.from && !bucket.to)) return 'all';
  const show = (b: readonly string[] | null, none: string) =>
    b ? (b.length === 1 ? b[0]! : `(${b.join(', ')})`) : none;
  return `[${show(bucket.from, '-∞')}, ${show(bucket.to, '∞')})`;
}

/** Page ranges of about `rows` rows each (assuming ~100 rows a page), the last open-ended. */
function pageChunks(pages: number, rows: number): { from: number; to: number | null }[] {
  const per = Math.max(1, Math.floor(rows / 100));
  const out: { from: number; to: number | null }[] = [];
  for (let from = 0; from < pages; from += per)
    out.push({ from, to: from + per < pages ? from + per : null });
  if (out.length === 0) out.push({ from: 0, to: null });
  return out;
}

function textOf(value: DuckDBValue): string | null {
  if (value === null) return null;
  return typeof value === 'string' ? value : String(value);
}
