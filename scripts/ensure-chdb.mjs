#!/usr/bin/env node
/**
 * Installs chdb — ClickHouse's engine embedded in the process, ~550 MB — into `.chdb/` beside
 * the project, when it is missing or at another version. The ClickHouse tests and the `chdb:`
 * warehouse run on it; the default install (`npm install`) leaves it out, so users who never
 * use ClickHouse do not download it. Called by the test setup and `.ci/run`; idempotent.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CHDB_VERSION = '3.4.0';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const prefix = join(root, '.chdb');
const manifest = join(prefix, 'node_modules', 'chdb', 'package.json');

function installedVersion() {
  if (!existsSync(manifest)) return null;
  try {
    return JSON.parse(readFileSync(manifest, 'utf8')).version;
  } catch {
    return null;
  }
}

export function ensureChdb({ quiet = false } = {}) {
  if (installedVersion() === CHDB_VERSION) return prefix;
  mkdirSync(prefix, { recursive: true });
  if (!quiet) console.log(`installing chdb@${CHDB_VERSION} into ${prefix} (about 550 MB, once)`);
  execFileSync(
    'npm',
    [
      'install',
      '--prefix',
      prefix,
      '--no-save',
      '--no-package-lock',
      '--no-audit',
      '--no-fund',
      `chdb@${CHDB_VERSION}`,
    ],
    { stdio: quiet ? 'ignore' : 'inherit' },
  );
  if (installedVersion() !== CHDB_VERSION)
    throw new Error(`chdb@${CHDB_VERSION} did not install into ${prefix}`);
  return prefix;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) ensureChdb();
