/**
 * Which catalog column each column of a Relation message is. The message names the columns as
 * they were where it sits in the WAL; the catalog is read later, as it is now. Between the two,
 * a column may have been renamed (so its old name is gone, or — after a swap — names another
 * column), added, or dropped.
 *
 * pgoutput lists a relation's columns in attribute-number order, leaving out dropped (and,
 * unless published, generated) columns. So when nothing that was live at the message's point
 * has been dropped since, the message's i-th column is the i-th such column of the catalog
 * (columns added since have larger attribute numbers and come after): matched by position,
 * renames and swaps in between are seen for what they are. A dropped column in that range is
 * known to predate the message only when the previous message of the same relation was matched
 * by position too (by this process) and already lacked it; otherwise the match falls back to
 * names, right unless a column was renamed, or dropped and added again under its name, in
 * between (the warehouse then sees a drop and an add, or misses the re-add).
 */

export interface CatalogColumn {
  readonly name: string;
  readonly attnum: number;
  readonly dropped: boolean;
  readonly generated: boolean;
}

/**
 * The catalog column of each message column, by the message column's name (absent when none
 * matches), and whether they were matched by position. `earlier` holds the attribute numbers the
 * previous message of this relation was matched to by position (null when it was not).
 */
export function matchColumns<C extends CatalogColumn>(
  names: readonly string[],
  catalog: readonly C[],
  earlier: ReadonlySet<number> | null,
): { readonly columns: Map<string, C>; readonly byPosition: boolean } {
  const ordered = [...catalog].sort((a, b) => a.attnum - b.attnum);
  for (const withGenerated of [false, true]) {
    const live = ordered.filter((c) => !c.dropped && (withGenerated || !c.generated));
    if (live.length < names.length || names.length === 0) continue;
    const last = (live[names.length - 1] as C).attnum;
    const droppedSince = ordered.some(
      (c) => c.dropped && c.attnum < last && (earlier === null || earlier.has(c.attnum)),
    );
    if (droppedSince) break;
    return { columns: new Map(names.map((name, i) => [name, live[i] as C])), byPosition: true };
  }
  const byName = new Map<string, C>();
  for (const c of ordered) if (!c.dropped && names.includes(c.name)) byName.set(c.name, c);
  return { columns: byName, byPosition: false };
}
