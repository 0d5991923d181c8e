/** The test harness's clusters are the embedded clusters `tributary demo` uses too. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export * from '../../src/embedded/postgres-cluster.js';

/** The repository root, for tests that need paths in it (the built CLI). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
