/** Where the nats-server binary is, and the `setpriv` that ties a server's life to its starter's. */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { TributaryError } from '../core/errors.js';

const FALLBACK_BINARIES = ['/usr/sbin/nats-server', '/usr/bin/nats-server'];
const INSTALL_HINT =
  'install nats-server (`apt-get install nats-server` on Debian or Ubuntu) or set NATS_SERVER_BIN to its path';

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string, env: NodeJS.ProcessEnv): string[] {
  return (env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir.length > 0)
    .map((dir) => join(dir, name));
}

/** `NATS_SERVER_BIN`, else `nats-server` on PATH, else `/usr/sbin` or `/usr/bin` (often not on a user's PATH). */
export function findNatsServerBinary(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.NATS_SERVER_BIN;
  if (fromEnv) {
    if (isExecutableFile(fromEnv)) return fromEnv;
    throw new TributaryError('CONFIG', `NATS_SERVER_BIN=${fromEnv} is not an executable file`, {
      hint: INSTALL_HINT,
    });
  }
  const found = [...onPath('nats-server', env), ...FALLBACK_BINARIES].find(isExecutableFile);
  if (found) return found;
  throw new TributaryError('CONFIG', 'nats-server not found on PATH, in /usr/sbin or in /usr/bin', {
    hint: INSTALL_HINT,
  });
}

/**
 * util-linux's `setpriv --pdeathsig KILL` (Linux) has the kernel kill the server when the process
 * that started it dies, however it dies: vitest ends its workers with SIGTERM, which runs no
 * 'exit' handler. setpriv then execs the server, so the child's pid is the server's. Where there
 * is no setpriv, the starter's 'exit' handler is the only cleanup.
 */
export function findSetpriv(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  return [...onPath('setpriv', process.env), '/usr/bin/setpriv'].find(isExecutableFile);
}
