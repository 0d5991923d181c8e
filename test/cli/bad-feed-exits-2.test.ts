/**
 * A feed that cannot be used — not a NATS URL, nothing listening, a server without JetStream, a
 * lane count out of range or not the feed's — exits 2 with a message that says what to change,
 * never prints the NATS password, and creates nothing on the source (no slot, no publication).
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { freePort } from '../../src/embedded/free-port.js';
import { JetStreamFeed } from '../../src/feed/jetstream/jetstream-feed.js';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { useNatsServer } from '../harness/use-nats-server.js';
import { type CliResult, runCli } from '../helpers/cli.js';

const SECRET = 'nats-pass-never-print-me';

function expectExit2(result: CliResult, says: readonly RegExp[]): void {
  const output = `${result.stdout}\n${result.stderr}`;
  expect(result.code, output).toBe(2);
  for (const pattern of says) expect(result.stderr, output).toMatch(pattern);
  expect(output).not.toContain(SECRET);
}

describe('a feed that cannot be used exits 2', () => {
  const cluster = useCluster({
    binaries: newestBinaries(),
    setup: (c) => c.sql('CREATE TABLE items (id bigint PRIMARY KEY)'),
  });
  const noJetStream = useNatsServer({ jetstream: false });
  const jetStream = useNatsServer();

  async function slotsAndPublications(): Promise<string[]> {
    const rows = await cluster().sql<{ name: string }>(
      `SELECT slot_name::text AS name FROM pg_replication_slots UNION ALL SELECT pubname::text FROM pg_publication`,
    );
    return rows.map((r) => r.name);
  }

  it('a URL that is not nats:// says which form to use, for run, source and load', async () => {
    const url = `http://user:${SECRET}@127.0.0.1:4222`;
    for (const args of [
      ['run', '--source', cluster().url(), '--feed', url],
      ['source', '--source', cluster().url(), '--feed', url],
      ['load', '--feed', url],
    ]) {
      expectExit2(await runCli(args), [/is not a NATS URL/, /nats:\/\/host:4222/]);
    }
    expect(await slotsAndPublications()).toEqual([]);
  });

  it('a lane count out of range, or lanes without a feed, says what is allowed and creates nothing', async () => {
    for (const lanes of ['0', '300', 'four']) {
      expectExit2(
        await runCli([
          'source',
          '--source',
          cluster().url(),
          '--feed',
          'nats://127.0.0.1:4222',
          '--lanes',
          lanes,
        ]),
        [/--lanes/],
      );
    }
    expectExit2(await runCli(['run', '--source', cluster().url(), '--lanes', '2']), [
      /--lanes is for a feed: add --feed/,
    ]);
    expect(await slotsAndPublications()).toEqual([]);
  });

  it('lanes other than those the feed was made with are refused, naming the number to use', async () => {
    const feed = jetStream().url;
    // the feed's stream, made with three lanes (as a first `source --lanes 3` makes it)
    const made = await JetStreamFeed.connect({
      url: feed,
      name: 'fixedlanes',
      logger: silentLogger(),
      lanes: 3,
    });
    await made.close();
    const result = await runCli([
      'source',
      '--source',
      cluster().url(),
      '--feed',
      feed,
      '--feed-name',
      'fixedlanes',
      '--slot',
      'fixedlanes',
      '--lanes',
      '2',
    ]);
    expectExit2(result, [/has 3 lane\(s\), not 2/, /--lanes 3/]);
    expect(await slotsAndPublications()).toEqual([]);
  });

  it('nothing listening names the server, without its password, and creates nothing', async () => {
    const port = await freePort();
    const result = await runCli([
      'source',
      '--source',
      cluster().url(),
      '--feed',
      `nats://user:${SECRET}@127.0.0.1:${port}`,
    ]);
    expectExit2(result, [
      new RegExp(`cannot connect to NATS at nats://user:\\*\\*\\*@127\\.0\\.0\\.1:${port}`),
    ]);
    expect(await slotsAndPublications()).toEqual([]);
  });

  it('a server without JetStream says to start it with -js', async () => {
    const result = await runCli(['source', '--source', cluster().url(), '--feed', noJetStream().url]);
    expectExit2(result, [/has no JetStream/, /-js/]);
    expect(await slotsAndPublications()).toEqual([]);
  });
});
