/** The server's version as `server_version_num` (e.g. 150004, 180001), for version-dependent SQL. */
import type pg from 'pg';

export async function serverVersionNum(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ v: number }>(
    "SELECT current_setting('server_version_num')::int AS v",
  );
  return rows[0]!.v;
}
