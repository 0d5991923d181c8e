/** Fails fast, before any test runs, when no Postgres binaries can be found. */
import { availableBinaries } from './postgres.js';

export default function setup(): void {
  const found = availableBinaries();
  console.log(`integration tests run against: ${found.map((b) => `${b.label} (${b.binDir})`).join(', ')}`);
}
