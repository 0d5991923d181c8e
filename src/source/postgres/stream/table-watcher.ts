/**
 * Without `--tables`, Tributary replicates every user table, including tables created later.
 * The publication lists tables explicitly (see setup/publication.ts), so this watcher adds
 * new tables to it. A table without a usable replica identity is left out and warned about
 * once: publishing it would make the application's own UPDATE and DELETE on it fail.
 *
 * Changes are streamed from the moment a table joins the publication; rows it held before
 * that moment are not in the stream (copying them is the snapshot/backfill's job).
 */
import type { Logger } from '../../../core/logger.js';
import { displayName, sameTable, type TableRef } from '../../../core/table-ref.js';
import { ensurePublication } from '../setup/publication.js';
import { publishedTables } from '../setup/publication-catalog.js';
import { describeIdentityProblem, findTablesWithoutReplicaIdentity } from '../setup/replica-identity.js';
import { listUserTables } from '../setup/tables.js';
import type { CatalogConnection } from './catalog-connection.js';

export class TableWatcher {
  readonly #catalog: CatalogConnection;
  readonly #publication: string;
  readonly #log: Logger;
  readonly #warned = new Set<string>();

  constructor(catalog: CatalogConnection, publication: string, log: Logger) {
    this.#catalog = catalog;
    this.#publication = publication;
    this.#log = log;
  }

  /** Adds new replicable tables to the publication; returns the tables added. */
  check(): Promise<TableRef[]> {
    return this.#catalog.use(async (client) => {
      const published = await publishedTables(client, this.#publication);
      const candidates = (await listUserTables(client)).filter(
        (t) => !published.some((p) => sameTable(p, t)),
      );
      if (candidates.length === 0) return [];
      const problems = await findTablesWithoutReplicaIdentity(client, candidates);
      const refused = (t: TableRef) => problems.some((p) => sameTable(p.partitionOf ?? p.table, t));
      for (const problem of problems) {
        const name = displayName(problem.partitionOf ?? problem.table);
        if (this.#warned.has(name)) continue;
        this.#warned.add(name);
        this.#log.warn(
          { table: name, problem: describeIdentityProblem(problem) },
          'new table left unreplicated',
        );
      }
      const added = candidates.filter((t) => !refused(t));
      if (added.length === 0) return [];
      await ensurePublication(client, this.#publication, [...published, ...added]);
      for (const table of added) {
        this.#log.info(
          { table: displayName(table) },
          'new table added to the publication; changes stream from now',
        );
      }
      return added;
    });
  }
}
