/**
 * Builds event rows from pgoutput tuples with a relation's column decoders. Unchanged TOASTed
 * columns are left out of the row and reported by name; they are never null.
 */
import type { Row } from '../../../core/change-event.js';
import { TributaryError } from '../../../core/errors.js';
import type { Value } from '../../../core/values.js';
import type { TupleData } from '../pgoutput/messages.js';

export type ColumnDecoder = (text: string) => Value;

export interface DecodedTuple {
  row: Record<string, Value>;
  unchanged: string[];
}

export interface RowShape {
  readonly tableName: string;
  readonly names: readonly string[];
  readonly decoders: readonly ColumnDecoder[];
}

export function decodeTuple(
  shape: RowShape,
  tuple: TupleData,
  onlyColumns?: ReadonlySet<string>,
): DecodedTuple {
  if (tuple.length !== shape.names.length) {
    throw new TributaryError(
      'PROTOCOL',
      `a tuple of ${shape.tableName} has ${tuple.length} columns but its relation has ${shape.names.length}`,
    );
  }
  const row: Record<string, Value> = Object.create(null);
  const unchanged: string[] = [];
  for (let i = 0; i < tuple.length; i++) {
    const name = shape.names[i]!;
    if (onlyColumns && !onlyColumns.has(name)) continue;
    const value = tuple[i]!;
    switch (value.kind) {
      case 'text':
        row[name] = shape.decoders[i]!(value.text);
        break;
      case 'null':
        row[name] = null;
        break;
      case 'unchanged':
        unchanged.push(name);
        break;
      case 'binary':
        throw new TributaryError(
          'PROTOCOL',
          `column ${name} of ${shape.tableName} arrived in binary format, which Tributary never asks for`,
        );
    }
  }
  return { row, unchanged };
}

/** The key's values, taken from the first row that has each key column. */
export function keyOf(
  key: readonly string[],
  ...rows: readonly (Readonly<Record<string, Value>> | null)[]
): Row | null {
  if (key.length === 0) return null;
  const pk: Record<string, Value> = Object.create(null);
  for (const name of key) {
    let found = false;
    for (const row of rows) {
      if (row && Object.hasOwn(row, name)) {
        pk[name] = row[name]!;
        found = true;
        break;
      }
    }
    if (!found) return null;
  }
  return pk;
}
