/**
 * CPU seconds a throwaway cluster spends, for benchmarks that set a consumer's CPU beside the
 * server's: the postmaster's own, the backends it has reaped (cutime + cstime), and its live
 * children (background processes; on PostgreSQL 18 the I/O workers read pages for the backends).
 * Linux only: `read()` gives null elsewhere.
 */
import type { PostgresCluster } from '../../src/embedded/postgres-cluster.js';
import { childPids, parentPid, processCpu } from './proc-cpu.js';

const POLL_MS = 50;

export class ServerCpu {
  readonly #pid: number | null;
  /** The children the postmaster keeps while nothing runs: they are not waited for. */
  readonly #background: ReadonlySet<number>;

  private constructor(pid: number | null, background: ReadonlySet<number>) {
    this.#pid = pid;
    this.#background = background;
  }

  /** Finds the postmaster through a backend's parent; call while no other session runs. */
  static async of(cluster: PostgresCluster): Promise<ServerCpu> {
    const client = await cluster.connect();
    let pid: number | null = null;
    let own: number | undefined;
    try {
      // read /proc while the backend lives
      const [row] = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
      own = row?.pid;
      pid = own === undefined ? null : parentPid(own);
    } finally {
      await client.end();
    }
    return new ServerCpu(pid, new Set(pid === null ? [] : childPids(pid).filter((c) => c !== own)));
  }

  /**
   * CPU seconds of the whole server so far, once every backend of the last run has exited and
   * been reaped (waits up to 10 s for that, so a run's backends count in full).
   */
  async read(): Promise<number | null> {
    const pid = this.#pid;
    if (pid === null) return null;
    for (let i = 0; i < 200 && childPids(pid).some((c) => !this.#background.has(c)); i++)
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    let total = processCpu(pid, true);
    for (const child of childPids(pid)) {
      const cpu = processCpu(child);
      if (total !== null && cpu !== null) total += cpu;
    }
    return total;
  }
}
