/**
 * "Did you mean …?" for table names that do not exist. Pure: given the name asked for and the
 * relations that do exist, returns the likeliest intended ones, best first. The usual mistakes
 * are case (an unquoted `Orders` folds to `orders`, while the table was created as "Orders"),
 * the wrong schema, and a typo.
 */
import { sameTable, type TableRef } from '../../../core/table-ref.js';

/** Levenshtein distance, case-sensitive. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function score(wanted: TableRef, candidate: TableRef): number | null {
  const sameSchema = candidate.schema === wanted.schema;
  const schemaCaseOnly = candidate.schema.toLowerCase() === wanted.schema.toLowerCase();
  const nameCaseOnly = candidate.name.toLowerCase() === wanted.name.toLowerCase();
  if (schemaCaseOnly && nameCaseOnly) return 0;
  if (nameCaseOnly) return 1;
  const distance = editDistance(wanted.name.toLowerCase(), candidate.name.toLowerCase());
  const allowed = Math.max(1, Math.floor(wanted.name.length / 4));
  if (distance <= allowed) return (sameSchema || schemaCaseOnly ? 2 : 4) + distance;
  return null;
}

export function closeMatches(wanted: TableRef, candidates: readonly TableRef[], limit = 3): TableRef[] {
  return candidates
    .filter((c) => !sameTable(c, wanted))
    .map((table) => ({ table, score: score(wanted, table) }))
    .filter((s): s is { table: TableRef; score: number } => s.score !== null)
    .sort((a, b) => a.score - b.score)
    .slice(0, limit)
    .map((s) => s.table);
}
