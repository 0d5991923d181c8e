/**
 * Fails fast, before any test runs, when no Postgres binaries can be found; installs chdb (the
 * ClickHouse tests' engine, not in the default install) when it is missing.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { availableBinaries } from './postgres.js';

export default function setup(): void {
  const found = availableBinaries();
  execFileSync(process.execPath, [fileURLToPath(new URL('../../scripts/ensure-chdb.mjs', import.meta.url))], {
    stdio: 'inherit',
  });
  console.log(`integration tests run against: ${found.map((b) => `${b.label} (${b.binDir})`).join(', ')}`);
}
