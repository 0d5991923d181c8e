/** Runs a PostgresSource in the test process into a MemoryTarget, for tests that inspect items. */
import { silentLogger } from '../../src/core/logger.js';
import { PostgresSource, type PostgresSourceOptions } from '../../src/source/postgres/postgres-source.js';
import { parseSourceUrl } from '../../src/source/postgres/setup/connection-config.js';
import type { PostgresCluster } from '../harness/postgres.js';
import { MemoryTarget } from './memory-target.js';

export interface RunningSource {
  readonly source: PostgresSource;
  readonly target: MemoryTarget;
  /** Aborts the run and waits for it to finish draining. */
  stop(): Promise<void>;
}

export async function startSource(
  cluster: PostgresCluster,
  options: Partial<Omit<PostgresSourceOptions, 'connection' | 'logger'>> & { readonly slot: string },
): Promise<RunningSource> {
  const source = new PostgresSource({
    publication: options.slot,
    tables: 'all',
    ...options,
    connection: parseSourceUrl(cluster.url()),
    logger: silentLogger(),
  });
  await source.prepare();
  const target = new MemoryTarget();
  target.source = source;
  const controller = new AbortController();
  const running = source.run(target, controller.signal);
  return {
    source,
    target,
    stop: async () => {
      controller.abort();
      await running;
    },
  };
}
