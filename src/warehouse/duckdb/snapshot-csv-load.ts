/**
 * A chunk of a first-run snapshot loaded from Postgres' own CSV by DuckDB (../snapshot.ts,
 * `SnapshotFile`): the table is fresh (empty when the attempt began, nothing but this job writes
 * it), so rows are INSERTed without a conflict check. Columns csv-columns.ts converts are cast
 * in SQL; a row with a field that did not convert, and every row of a table with a column it
 * does not convert, is read back as text and goes through the source's decoders and the
 * column writers like any snapshot row. All in the caller's transaction, with the chunk marked
 * done: a chunk is written whole or not at all.
 */
import { TributaryError } from '../../core/errors.js';
import { displayName, quoteIdentifier as q } from '../../core/table-ref.js';
import type { SnapshotRaw } from '../../landing/raw-zone.js';
import type { SnapshotFile, SnapshotFileResult } from '../snapshot.js';
import { type CsvConversion, csvConversion, readPostgresCsv } from './csv-columns.js';
import type { Db } from './db.js';
import { recordProgress, writeRows } from './snapshot-store.js';
import { LSN_COLUMN, SYNCED_COLUMN, type TableState } from './tables.js';

const CSV_STAGE = '_tributary_csv_stage';

/** Whether every column converts in SQL (`loadCsv` may then be tried `strict`). */
export function convertsEveryColumn(table: TableState): boolean {
  return table.schema.columns.every((c, i) => csvConversion(c, table.writers[i]!.type) !== null);
}

/**
 * `strict`: every row converted in SQL or the statement fails (the caller then rolls back and
 * loads again, not strict); otherwise rows with a text that does not convert go to the decoders.
 */
export async function loadCsv(
  db: Db,
  table: TableState,
  file: SnapshotFile,
  strict: boolean,
  raw: SnapshotRaw | null,
): Promise<SnapshotFileResult> {
  const source = file.schema.columns;
  if (table.schema.version !== file.schema.version) {
    throw new TributaryError(
      'INTERNAL',
      `${displayName(table.schema.table)}: the snapshot's shape is not the table's; it cannot be loaded from CSV`,
    );
  }
  const conversions = source.map((c, i) => csvConversion(c, table.writers[i]!.type));
  const csv = readPostgresCsv(file.path, source.length);
  const field = (i: number) => `c${i}`;
  let inserted = 0;
  if (conversions.every((c): c is CsvConversion => c !== null)) {
    const names = [...source.map((c) => c.name), LSN_COLUMN, SYNCED_COLUMN].map(q).join(', ');
    const insert = `INSERT INTO ${table.sql} (${names}) SELECT ${source.map((_, i) => `v${i}`).join(', ')}, $1::UBIGINT, now()`;
    const fits = conversions
      .map((c, i) => (c.exact || strict ? null : `(v${i} IS NOT NULL OR ${field(i)} IS NULL)`))
      .filter((s) => s !== null);
    const values = conversions
      .map((c, i) => `${strict ? c.strict(field(i)) : c.lenient(field(i))} AS v${i}`)
      .join(', ');
    const converted = `FROM (SELECT ${values}, ${source.map((_, i) => field(i)).join(', ')} FROM ${csv})
        ${fits.length > 0 ? `WHERE ${fits.join(' AND ')}` : ''}`;
    const vs = source.map((_, i) => `v${i}`).join(', ');
    if (strict && raw) {
      // every row converts or the statement fails: the CSV is read once, into the raw zone's
      // copied rows, and the table takes them from there. DuckDB stores a copied row's few
      // columns for less than a temporary table stages it (bench/snapshot); no INSERT here
      // inserts nothing and no temporary table is made (DuckDB's lost insert: see below).
      const recorded = await raw.record(`SELECT ${vs} ${converted}`, []);
      const from = raw.recorded(2);
      const copied =
        recorded === 0
          ? 0
          : Number(
              (await db.read(`${insert} FROM (${from.sql}) AS r(${vs})`, [file.snapshotLsn, ...from.params]))
                .rowsChanged,
            );
      if (copied !== recorded) {
        throw new TributaryError(
          'INTERNAL',
          `${displayName(table.schema.table)}: of ${recorded} rows recorded in the raw zone, ${copied} went to the table`,
        );
      }
      inserted = copied;
    } else if (strict) {
      inserted = Number((await db.read(`${insert} ${converted}`, [file.snapshotLsn])).rowsChanged);
    } else {
      // the CSV is read once, into a temporary table, and from there into the raw zone and the
      // table. Not straight into the table: a chunk whose rows all go to the decoders would make
      // that an INSERT of no row, after which DuckDB loses a large insert into the same table in
      // the transaction (the decoders' rows: see raw-zone.ts, isEmpty); nor the table from the
      // raw zone's rows by their batch, which hit the same loss.
      await db.run(`CREATE OR REPLACE TEMP TABLE ${q(CSV_STAGE)} AS SELECT ${vs} ${converted}`);
      try {
        const count = Number((await db.rows(`SELECT count(*) FROM temp.main.${q(CSV_STAGE)}`))[0]?.[0] ?? 0);
        if (count > 0) {
          const copied = Number(
            (await db.read(`${insert} FROM temp.main.${q(CSV_STAGE)}`, [file.snapshotLsn])).rowsChanged,
          );
          const recorded = raw ? await raw.record(`SELECT * FROM temp.main.${q(CSV_STAGE)}`, []) : copied;
          if (copied !== count || recorded !== count) {
            throw new TributaryError(
              'INTERNAL',
              `${displayName(table.schema.table)}: of ${count} rows converted, ${copied} went to the table and ${recorded} to the raw zone`,
            );
          }
        }
        inserted = count;
      } finally {
        await db.run(`DROP TABLE IF EXISTS temp.main.${q(CSV_STAGE)}`);
      }
    }
  } else if (strict) {
    throw new TributaryError('INTERNAL', 'a strict CSV load of a table with columns it does not convert');
  }
  let rest = 0;
  if (inserted < file.rows && !strict) {
    // the rows (or all of them) not converted in SQL: their texts, as the decoders take them
    const misfit = conversions.map((c, i) =>
      c === null
        ? 'true'
        : c.exact
          ? 'false'
          : `(${c.lenient(field(i))} IS NULL AND ${field(i)} IS NOT NULL)`,
    );
    const texts = await db.rows(
      `SELECT ${source.map((_, i) => field(i)).join(', ')} FROM ${csv} WHERE ${misfit.join(' OR ')}`,
    );
    rest = texts.length;
    if (rest > 0) {
      // a fresh table: no row of the chunk meets another, a plain INSERT (its key may be deferred)
      await writeRows(
        db,
        table,
        { keyless: true, truncatedLsn: null },
        null,
        {
          job: file.job,
          schema: file.schema,
          snapshotLsn: file.snapshotLsn,
          snapshotTime: file.snapshotTime,
          rows: texts.map((fields) => file.decode(fields as (string | null)[])),
          chunk: null,
          last: false,
        },
        raw,
      );
    }
  }
  if (inserted + rest !== file.rows) {
    throw new TributaryError(
      'SINK',
      `${displayName(table.schema.table)}: DuckDB read ${inserted + rest} rows of the CSV Postgres wrote ${file.rows} rows to`,
    );
  }
  await recordProgress(db, file.job, file.chunk, file.rows, true, file.snapshotLsn);
  return { rows: file.rows, converted: inserted };
}
