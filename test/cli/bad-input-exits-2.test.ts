/**
 * Bad input, seen from the user's side of the real CLI: every mistake in the command line, the
 * connection URL, the server's configuration, the role or the table list ends the process with
 * exit code 2 and a message that names the thing and says what to change — never the password —
 * and nothing is left half-created on the server (no slot, no publication) by the failed run.
 *
 * One shared cluster serves most cases; clusters with special settings (wal_level=replica, a
 * single replication slot already taken) start their own, on every available major, because
 * those checks read server catalogs that differ between versions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  availableBinaries,
  freePort,
  newestBinaries,
  PostgresCluster,
  SUPERUSER_PASSWORD,
} from '../harness/postgres.js';
import { type CliResult, runCli, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';

/** A password that appears only in URLs handed to the CLI: it must never come back out. */
const URL_SECRET = 'hunter2-never-print-me';
const ROLE = 'plain_reader';
const ROLE_PASSWORD = 'plain-reader-secret-41';

/** The environment of a run that must see no TRIBUTARY_SOURCE (an empty value counts as none). */
const NO_SOURCE_ENV: Record<string, string> =
  process.env.TRIBUTARY_SOURCE === undefined ? {} : { TRIBUTARY_SOURCE: '' };

interface ServerState {
  readonly slots: string[];
  readonly publications: string[];
}

async function serverState(cluster: PostgresCluster): Promise<ServerState> {
  const slots = await cluster.sql<{ name: string }>(
    'SELECT slot_name::text AS name FROM pg_replication_slots ORDER BY 1',
  );
  const publications = await cluster.sql<{ name: string }>(
    'SELECT pubname::text AS name FROM pg_publication ORDER BY 1',
  );
  return { slots: slots.map((r) => r.name), publications: publications.map((r) => r.name) };
}

/**
 * Exit code 2, a `tributary:` message on stderr matching every pattern in `says`, nothing on
 * stdout, and none of the secrets anywhere in the output.
 */
function expectUsageFailure(
  result: CliResult,
  says: readonly RegExp[],
  secrets: readonly string[] = [URL_SECRET, SUPERUSER_PASSWORD],
): void {
  const output = `${result.stdout}\n${result.stderr}`;
  expect(result.code, output).toBe(2);
  expect(result.stdout, output).toBe('');
  for (const pattern of says) expect(result.stderr, output).toMatch(pattern);
  for (const secret of secrets) expect(output).not.toContain(secret);
}

/** Runs the CLI against `cluster` and asserts the run created and dropped nothing there. */
async function runChangingNothing(
  cluster: PostgresCluster,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<CliResult> {
  const before = await serverState(cluster);
  const result = await runCli(args, env);
  expect(await serverState(cluster), result.stderr).toEqual(before);
  return result;
}

let shared: PostgresCluster;

beforeAll(async () => {
  shared = await PostgresCluster.start({ binaries: newestBinaries() });
  await shared.sql('CREATE TABLE public.orders (id bigint PRIMARY KEY, note text)');
  await shared.sql('CREATE TABLE public.no_key (id bigint, note text)');
  await shared.sql(`CREATE ROLE ${ROLE} LOGIN PASSWORD '${ROLE_PASSWORD}'`);
  await shared.sql(`GRANT SELECT ON public.orders TO ${ROLE}`);
});

afterAll(async () => {
  await shared?.stop();
});

/** The shared cluster's URL with URL_SECRET as the password (for runs that fail before connecting). */
function secretUrl(suffix = ''): string {
  return `postgres://postgres:${URL_SECRET}@127.0.0.1:${shared.port}/postgres${suffix}`;
}

describe('bad command-line input exits 2 before touching the server', () => {
  it('a missing --source and TRIBUTARY_SOURCE says how to give one', async () => {
    const result = await runCli(['tail', '--tables', 'public.orders'], NO_SOURCE_ENV);
    expectUsageFailure(result, [/no source database given/, /--source/, /TRIBUTARY_SOURCE/]);
  });

  it('a malformed URL (a port out of range) names the port and the form to use', async () => {
    const result = await runChangingNothing(shared, [
      'tail',
      '--source',
      `postgres://postgres:${URL_SECRET}@127.0.0.1:99999/postgres`,
    ]);
    expectUsageFailure(result, [/port/, /1 to 65535/, /host:5432/]);
  });

  it('a URL that is not postgres:// says so without echoing the password', async () => {
    const result = await runCli(['tail', '--source', `mysql://postgres:${URL_SECRET}@127.0.0.1/postgres`]);
    expectUsageFailure(result, [/postgres:\/\/ or postgresql:\/\//, /write it as postgres:\/\//]);
  });

  const MISTYPED_SCHEMES = [
    `postgres//postgres:${URL_SECRET}@127.0.0.1/postgres`,
    `postgresql:/postgres:${URL_SECRET}@127.0.0.1/postgres`,
    `postgres:${URL_SECRET}@127.0.0.1/postgres`,
    `${URL_SECRET}`,
  ];

  it('a URL with a mistyped scheme separator says what form to use', async () => {
    for (const url of MISTYPED_SCHEMES) {
      const result = await runCli(['tail', '--source', url]);
      expectUsageFailure(result, [/postgres:\/\/ or postgresql:\/\//, /write it as postgres:\/\//], []);
    }
  });

  // A value with no `://` (a typo such as `postgres//` or `postgres:/`) has no reliable place for
  // the password, so the message shows none of it.
  it('a URL with a mistyped scheme separator does not echo the password', async () => {
    for (const url of MISTYPED_SCHEMES) {
      const result = await runCli(['tail', '--source', url]);
      expect(`${result.stdout}${result.stderr}`).not.toContain(URL_SECRET);
    }
  });

  it('an unknown URL parameter is named and the supported ones listed', async () => {
    const result = await runChangingNothing(shared, ['tail', '--source', secretUrl('?sslmod=require')]);
    expectUsageFailure(result, [/unknown parameter "sslmod"/, /supported parameters: .*sslmode/]);
  });

  it('bad --tables syntax points at the unclosed quote and shows the syntax', async () => {
    const result = await runChangingNothing(shared, [
      'tail',
      '--source',
      secretUrl(),
      '--tables',
      'public."unterminated',
    ]);
    expectUsageFailure(result, [/--tables/, /quoted name is never closed/, /character 8/, /schema\.table/]);
  });

  it('an invalid --slot name is refused with a valid name to use instead', async () => {
    const result = await runChangingNothing(shared, [
      'tail',
      '--source',
      secretUrl(),
      '--tables',
      'public.orders',
      '--slot',
      'Bad-Name',
    ]);
    expectUsageFailure(result, [/slot name "Bad-Name" is not valid/, /lower-case/, /--slot bad_name/]);
  });

  it('a bad --heartbeat duration says which durations work', async () => {
    const result = await runChangingNothing(shared, [
      'tail',
      '--source',
      secretUrl(),
      '--tables',
      'public.orders',
      '--heartbeat',
      'ten seconds',
    ]);
    expectUsageFailure(result, [/not a duration: "ten seconds"/, /30s/]);
  });

  it('an unknown command exits 2 and shows the commands', async () => {
    const result = await runCli(['tial', '--source', secretUrl()]);
    expectUsageFailure(result, [/unknown command 'tial'/, /tail/, /teardown/]);
  });

  it('an unknown option exits 2 naming it', async () => {
    const result = await runChangingNothing(shared, ['tail', '--source', secretUrl(), '--tabels', 'x']);
    expectUsageFailure(result, [/unknown option '--tabels'/]);
  });

  it('snapshot settings out of bounds exit 2 naming the flag, before anything is touched', async () => {
    const workers = await runChangingNothing(shared, [
      'run',
      '--source',
      secretUrl(),
      '--snapshot-workers',
      '500',
    ]);
    expectUsageFailure(workers, [/--snapshot-workers is at most 16, not 500/]);
    const mode = await runChangingNothing(shared, [
      'run',
      '--source',
      secretUrl(),
      '--snapshot',
      'sometimes',
    ]);
    expectUsageFailure(mode, [/--snapshot is initial or never, not "sometimes"/]);
  });

  it('--help exits 0 and lists tail and teardown', async () => {
    const result = await runCli(['--help']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^\s*tail\b/m);
    expect(result.stdout).toMatch(/^\s*teardown\b/m);
    const tail = await runCli(['tail', '--help']);
    expect(tail.code, tail.stderr).toBe(0);
    for (const option of [
      '--source',
      '--tables',
      '--slot',
      '--publication',
      '--out',
      '--no-ack',
      '--heartbeat',
    ])
      expect(tail.stdout).toContain(option);
  });
});

describe('a source that cannot be connected to exits 2', () => {
  it('a closed port on 127.0.0.1 is reported as refused, naming host and port', async () => {
    const port = await freePort();
    const result = await runCli([
      'tail',
      '--source',
      `postgres://postgres:${URL_SECRET}@127.0.0.1:${port}/postgres`,
      '--tables',
      'public.orders',
    ]);
    expectUsageFailure(result, [
      new RegExp(`cannot connect to Postgres at 127\\.0\\.0\\.1:${port}`),
      /connection refused/,
      /check host and port in --source/,
    ]);
  });

  it('a wrong password is refused naming the user, and the password is never printed', async () => {
    const wrong = 'wrong-password-0xdeadbeef';
    const result = await runChangingNothing(shared, [
      'tail',
      '--source',
      shared.url({ password: wrong }),
      '--tables',
      'public.orders',
    ]);
    expectUsageFailure(
      result,
      [/refused user "postgres"/, /password/, /check the user name and password in --source/],
      [wrong, SUPERUSER_PASSWORD],
    );
  });

  it('a database that does not exist is named, with how to list them', async () => {
    const result = await runChangingNothing(shared, [
      'tail',
      '--source',
      shared.url({ database: 'no_such_db' }),
      '--tables',
      'public.orders',
    ]);
    expectUsageFailure(result, [/database "no_such_db" does not exist/, /pg_database/]);
  });
});

describe('a source that is reachable but not fit exits 2 and creates nothing', () => {
  it('a role without REPLICATION is named with the ALTER ROLE that fixes it', async () => {
    const result = await runChangingNothing(shared, [
      'tail',
      '--source',
      shared.url({ user: ROLE, password: ROLE_PASSWORD }),
      '--tables',
      'public.orders',
    ]);
    expectUsageFailure(
      result,
      [
        new RegExp(`role "${ROLE}" may not stream changes`),
        new RegExp(`ALTER ROLE "?${ROLE}"? WITH REPLICATION`),
      ],
      [ROLE_PASSWORD, SUPERUSER_PASSWORD],
    );
  });

  it('a table that does not exist is named with the closest existing one', async () => {
    const result = await runChangingNothing(shared, [
      'tail',
      '--source',
      shared.url(),
      '--tables',
      'public.orders,public.ordrs',
    ]);
    expectUsageFailure(result, [
      /table public\.ordrs does not exist in database "postgres"/,
      /did you mean public\.orders\?/,
    ]);
  });

  it('a table without primary key or replica identity is refused before any publication or slot exists', async () => {
    const result = await runChangingNothing(shared, [
      'tail',
      '--source',
      shared.url(),
      '--tables',
      'public.no_key',
      '--slot',
      'no_key_slot',
      '--publication',
      'no_key_pub',
    ]);
    expectUsageFailure(result, [
      /public\.no_key \(no primary key, REPLICA IDENTITY DEFAULT\)/,
      /ADD PRIMARY KEY|REPLICA IDENTITY FULL/,
    ]);
    const state = await serverState(shared);
    expect(state.slots).not.toContain('no_key_slot');
    expect(state.publications).not.toContain('no_key_pub');
  });
});

describe.each(availableBinaries().map((b) => [b.label, b] as const))(
  'server settings that rule out logical replication exit 2 (%s)',
  (_label, binaries) => {
    it('wal_level=replica names the setting and the restart it needs', async () => {
      const cluster = await PostgresCluster.start({ binaries, settings: { wal_level: 'replica' } });
      try {
        await cluster.sql('CREATE TABLE public.orders (id bigint PRIMARY KEY)');
        const result = await runChangingNothing(cluster, [
          'tail',
          '--source',
          cluster.url(),
          '--tables',
          'public.orders',
        ]);
        expectUsageFailure(result, [
          /wal_level is "replica"/,
          /needs "logical"/,
          /ALTER SYSTEM SET wal_level = logical/,
          /restart/,
        ]);
      } finally {
        await cluster.stop();
      }
    });

    it('max_replication_slots exhausted names the limit and the slot that could go', async () => {
      const cluster = await PostgresCluster.start({ binaries, settings: { max_replication_slots: 1 } });
      try {
        await cluster.sql('CREATE TABLE public.orders (id bigint PRIMARY KEY)');
        await cluster.sql("SELECT pg_create_logical_replication_slot('someone_else', 'pgoutput')");
        const result = await runChangingNothing(cluster, [
          'tail',
          '--source',
          cluster.url(),
          '--tables',
          'public.orders',
        ]);
        expectUsageFailure(result, [
          /no free replication slot: 1 of max_replication_slots = 1/,
          /ALTER SYSTEM SET max_replication_slots = 2/,
          /someone_else/,
        ]);
        expect(await serverState(cluster)).toEqual({ slots: ['someone_else'], publications: [] });
      } finally {
        await cluster.stop();
      }
    });
  },
);

describe('TRIBUTARY_SOURCE stands in for --source', () => {
  it('streams from the URL in the environment and exits 0 on SIGTERM', async () => {
    const env = { TRIBUTARY_SOURCE: shared.url() };
    const names = ['--slot', 'env_slot', '--publication', 'env_pub'];
    const cli = startCli(['tail', '--tables', 'public.orders', ...names], env);
    try {
      await waitFor('the slot', () => /created replication slot/.test(cli.stderr()) || undefined, 60_000);
      await shared.sql("INSERT INTO public.orders VALUES (4242, 'from the environment')");
      await waitFor('the change on stdout', () => cli.stdout().includes('from the environment') || undefined);
    } finally {
      cli.child.kill('SIGTERM');
    }
    const result = await cli.exited;
    expect(result.code, result.stderr).toBe(0);
    expect(`${result.stdout}${result.stderr}`).not.toContain(SUPERUSER_PASSWORD);

    const teardown = await runCli(['teardown', ...names], env);
    expect(teardown.code, teardown.stderr).toBe(0);
    const state = await serverState(shared);
    expect(state.slots).not.toContain('env_slot');
    expect(state.publications).not.toContain('env_pub');
  });
});
