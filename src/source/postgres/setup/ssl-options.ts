/**
 * What `sslmode` means, as libpq (and psql, which users test their URLs with) reads it, not as pg
 * reads it:
 *
 * - `disable`: plain;
 * - `allow`, `prefer`: encrypted without checking the certificate when the server offers SSL,
 *   plain otherwise (connectClient makes the second attempt);
 * - `require`: encrypted without checking the certificate, unless `sslrootcert` is given, which
 *   then checks the chain (as `verify-ca`);
 * - `verify-ca`: the chain is checked against `sslrootcert` (or the system CAs), not the host name;
 * - `verify-full`: chain and host name.
 *
 * Certificate files (sslrootcert, sslcert, sslkey) are read here; a missing one is a CONFIG error
 * naming the file.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type pg from 'pg';
import { TributaryError } from '../../../core/errors.js';

export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

const SSL_MODES: readonly string[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

export function parseSslMode(text: string): SslMode {
  if (SSL_MODES.includes(text)) return text as SslMode;
  throw new TributaryError('CONFIG', `sslmode=${text} in --source is not an sslmode`, {
    hint: `use one of ${SSL_MODES.join(', ')}`,
  });
}

function readPem(path: string, name: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new TributaryError('CONFIG', `cannot read the ${name} file ${path} named in --source`, {
      cause: error,
      hint: 'check the path and its permissions',
    });
  }
}

export function sslOptions(
  mode: SslMode | undefined,
  params: ReadonlyMap<string, string>,
): pg.ClientConfig['ssl'] {
  if (mode === undefined || mode === 'disable') return mode === 'disable' ? false : undefined;
  const rootcert = params.get('sslrootcert');
  const files: ConnectionOptions = {
    ...(rootcert !== undefined && rootcert !== 'system' ? { ca: readPem(rootcert, 'sslrootcert') } : {}),
    ...(params.has('sslcert') ? { cert: readPem(params.get('sslcert')!, 'sslcert') } : {}),
    ...(params.has('sslkey') ? { key: readPem(params.get('sslkey')!, 'sslkey') } : {}),
  };
  const chainOnly = { checkServerIdentity: () => undefined };
  switch (mode) {
    case 'allow':
    case 'prefer':
      return { ...files, rejectUnauthorized: false };
    case 'require':
      return rootcert === undefined ? { ...files, rejectUnauthorized: false } : { ...files, ...chainOnly };
    case 'verify-ca':
      return { ...files, ...chainOnly };
    case 'verify-full':
      return files;
  }
}
