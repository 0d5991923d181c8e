/**
 * Where the HTTP API listens. `run` serves it by default on DEFAULT_HTTP_ADDRESS (this machine
 * only); `--http host:port` (or the config file's `http:`) picks another address, `--no-http`
 * (`http: false`) none. An address the user gave that cannot be bound is a USAGE error (exit 2)
 * naming it; the default address when taken is not: many runs on one machine (or a second
 * warehouse) are normal, so the API then serves on a free loopback port and says so once.
 *
 * Secure by default: a loopback address needs no token; any other is refused unless
 * TRIBUTARY_HTTP_TOKEN is set.
 */

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TributaryError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

export interface HttpAddress {
  readonly host: string;
  readonly port: number;
}

export const DEFAULT_HTTP_ADDRESS: HttpAddress = Object.freeze({ host: '127.0.0.1', port: 7878 });

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Parses `--http`: `host:port`, `[v6]:port` or `:port` (loopback). USAGE error otherwise. */
export function parseHttpAddress(text: string): HttpAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new TributaryError(
      'USAGE',
      `--http must be host:port (such as 127.0.0.1:8080), not ${JSON.stringify(text)}`,
      {
        hint: 'give --http 127.0.0.1:8080 to serve this machine only, or an address and TRIBUTARY_HTTP_TOKEN; --no-http serves nothing',
      },
    );
  }
  const host = match[1] ?? (match[2] || '127.0.0.1');
  return { host, port };
}

/** Refuses an exposed address without a token. */
export function checkExposure(address: HttpAddress, token: string | null): void {
  if (LOOPBACK.has(address.host) || token) return;
  throw new TributaryError(
    'USAGE',
    `--http ${address.host}:${address.port} would serve other machines without a token`,
    {
      hint: 'set TRIBUTARY_HTTP_TOKEN (callers then send Authorization: Bearer <token>), or bind 127.0.0.1',
    },
  );
}

/**
 * Binds `server` to `address`. With `fallback` (the default address, not one the user gave), a
 * taken port is not an error: it binds a free port of the same host instead and logs one warning.
 */
export async function listenOn(
  server: Server,
  address: HttpAddress,
  fallback: boolean,
  logger: Logger,
): Promise<AddressInfo> {
  try {
    await bind(server, address);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!fallback || (code !== 'EADDRINUSE' && code !== 'EACCES')) {
      throw new TributaryError(
        'USAGE',
        `cannot serve HTTP on ${hostPort(address)}: ${code ?? (error as Error).message}`,
        { hint: 'pick a free port (or another address) for --http, or give --no-http', cause: error },
      );
    }
    await bind(server, { host: address.host, port: 0 }).catch((again: unknown) => {
      throw new TributaryError(
        'USAGE',
        `cannot serve HTTP on ${address.host}: ${(again as NodeJS.ErrnoException).code ?? (again as Error).message}`,
        { hint: 'give --http with an address this machine has, or --no-http', cause: again },
      );
    });
    logger.warn(
      { taken: hostPort(address), http: hostPort(boundOf(server)) },
      'the default HTTP port is taken (another tributary run?): serving on a free port instead',
    );
  }
  return boundOf(server);
}

function bind(server: Server, address: HttpAddress): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const failed = (error: Error) => reject(error);
    server.once('error', failed);
    server.listen(address.port, address.host, () => {
      server.off('error', failed);
      resolve();
    });
  });
}

function boundOf(server: Server): AddressInfo {
  const bound = server.address();
  if (bound === null || typeof bound !== 'object')
    throw new TributaryError('INTERNAL', 'the HTTP server has no address');
  return bound;
}

/** `host:port`, with brackets around an IPv6 host. */
export function hostPort(address: {
  readonly host?: string;
  readonly address?: string;
  readonly port: number;
}) {
  const host = address.host ?? address.address ?? '';
  return host.includes(':') ? `[${host}]:${address.port}` : `${host}:${address.port}`;
}

/** The URL a person opens on this machine (a wildcard address is reached through loopback). */
export function localUrl(bound: AddressInfo): string {
  const host = bound.address === '0.0.0.0' ? '127.0.0.1' : bound.address === '::' ? '::1' : bound.address;
  return `http://${hostPort({ host, port: bound.port })}/`;
}
