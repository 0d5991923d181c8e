import { describe, expect, it } from 'vitest';
import {
  describeTarget,
  parseSourceUrl,
  redactUrl,
} from '../../src/source/postgres/setup/connection-config.js';
import { failure } from './helpers.js';

const env = { PGUSER: undefined, PGHOST: undefined, PGPORT: undefined, PGDATABASE: undefined };

describe('source URL', () => {
  it('reads user, password, host, port and database, percent-decoded', () => {
    const config = parseSourceUrl('postgres://app:p%40ss%2Fw0rd@db.internal:6543/shop%20eu', env);
    expect(config).toMatchObject({
      user: 'app',
      password: 'p@ss/w0rd',
      host: 'db.internal',
      port: 6543,
      database: 'shop eu',
    });
    expect(config.ssl).toBeUndefined();
  });

  it('accepts postgresql://, IPv6 hosts and an unencoded @ in the password', () => {
    expect(parseSourceUrl('postgresql://u:a@b@[::1]:5433/db', env)).toMatchObject({
      user: 'u',
      password: 'a@b',
      host: '::1',
      port: 5433,
    });
  });

  it('takes a unix socket directory from ?host= or an encoded host', () => {
    expect(parseSourceUrl('postgres://app@/shop?host=/var/run/postgresql', env)).toMatchObject({
      host: '/var/run/postgresql',
      user: 'app',
      database: 'shop',
    });
    expect(parseSourceUrl('postgres://%2Ftmp%2Fpg:5999/shop', env)).toMatchObject({
      host: '/tmp/pg',
      port: 5999,
    });
    expect(parseSourceUrl('postgres:///shop?host=/tmp&port=7000', env)).toMatchObject({
      host: '/tmp',
      port: 7000,
    });
  });

  it('defaults the database to the user name, as libpq does', () => {
    expect(parseSourceUrl('postgres://alice@localhost', env)).toMatchObject({
      user: 'alice',
      database: 'alice',
    });
    expect(parseSourceUrl('postgres://localhost', { PGUSER: 'bob' })).toMatchObject({
      user: 'bob',
      database: 'bob',
      port: 5432,
    });
    expect(parseSourceUrl('postgres://alice@localhost', { PGDATABASE: 'main' }).database).toBe('main');
  });

  it('maps sslmode as libpq means it', () => {
    expect(parseSourceUrl('postgres://h/db?sslmode=disable', env).ssl).toBe(false);
    expect(parseSourceUrl('postgres://h/db?sslmode=require', env)).toMatchObject({
      sslmode: 'require',
      ssl: { rejectUnauthorized: false },
    });
    const verifyCa = parseSourceUrl('postgres://h/db?sslmode=verify-ca', env).ssl;
    expect(typeof verifyCa === 'object' && verifyCa.rejectUnauthorized).not.toBe(false);
    expect(typeof verifyCa === 'object' && typeof verifyCa.checkServerIdentity).toBe('function');
    expect(parseSourceUrl('postgres://h/db?sslmode=verify-full', env).ssl).toEqual({});
  });

  it('reads application_name, connect_timeout and options', () => {
    expect(
      parseSourceUrl(
        'postgres://h/db?application_name=etl&connect_timeout=3&options=-c%20work_mem%3D64MB',
        env,
      ),
    ).toMatchObject({ application_name: 'etl', connectionTimeoutMillis: 3000, options: '-c work_mem=64MB' });
  });

  it.each([
    ['', 'empty'],
    ['mysql://u:secret@h/db', 'postgres://'],
    ['host=h dbname=db password=secret', 'postgres://'],
    ['postgres://u:secret@h:99999/db', 'port'],
    ['postgres://u:secret@h:abc/db', 'port'],
    ['postgres://u:secret@h/db?sslmode=sometimes', 'sslmode'],
    ['postgres://u:secret@h/db?ssl_mode=require', 'ssl_mode'],
    ['postgres://u:secret@h1,h2/db', 'several hosts'],
    ['postgres://u:secret@h/db?sslrootcert=/nonexistent/ca.pem&sslmode=verify-full', '/nonexistent/ca.pem'],
  ])('rejects %j with a CONFIG error that names the problem and never the password', async (url, named) => {
    const error = await failure(() => parseSourceUrl(url, env));
    expect(error.code).toBe('CONFIG');
    expect(error.message).toContain(named);
    expect(error.hint).toBeTruthy();
    expect(error.describe()).not.toContain('secret');
  });

  it('redacts the password wherever it is written', () => {
    expect(redactUrl('postgres://app:s3cret@h:5432/db')).toBe('postgres://app:***@h:5432/db');
    expect(redactUrl('postgres://app:a@b/c@h/db')).toBe('postgres://app:***@h/db');
    expect(redactUrl('postgres://h/db?user=app&password=s3cret&sslmode=require')).toBe(
      'postgres://h/db?user=app&password=***&sslmode=require',
    );
    expect(redactUrl('postgres://app:s3cret/db')).toBe('postgres://app:***/db');
    expect(redactUrl('postgres://app@h/db')).toBe('postgres://app@h/db');
    expect(redactUrl('postgres://app:pa?ss@h/db')).toBe('postgres://app:***@h/db');
    expect(redactUrl('postgres://app@h:5432/db?sslmode=require')).toBe(
      'postgres://app@h:5432/db?sslmode=require',
    );
    expect(redactUrl('postgres://[::1]:5432/db')).toBe('postgres://[::1]:5432/db');
  });

  it('describes a target as user@host:port/db', () => {
    expect(describeTarget(parseSourceUrl('postgres://app:s3cret@db.internal:6543/shop', env))).toBe(
      'app@db.internal:6543/shop',
    );
    expect(describeTarget(parseSourceUrl('postgres://app@[::1]/shop', env))).toBe('app@[::1]:5432/shop');
  });
});
