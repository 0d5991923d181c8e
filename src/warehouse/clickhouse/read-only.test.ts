import { describe, expect, it } from 'vitest';
import { freshClickHouse } from '../../../test/helpers/clickhouse.js';
import { TributaryError } from '../../core/errors.js';
import { readClickHouseQuery, readOnlyClickHouse } from './read-only.js';

describe('readOnlyClickHouse (every query on a ClickHouse warehouse)', () => {
  it('answers a SELECT, cuts it at maxRows and refuses writes, DDL and a second statement', async () => {
    const ch = await freshClickHouse();
    try {
      const { client } = ch.connection;
      await client.command({ query: 'CREATE TABLE t (n UInt32) ENGINE = MergeTree ORDER BY n' });
      await client.command({ query: 'INSERT INTO t SELECT number FROM numbers(10)' });
      const options = { maxRows: 3, timeoutMs: 5_000 };
      const answer = await readOnlyClickHouse(
        client,
        'SELECT n, toString(n) AS s FROM t ORDER BY n;',
        options,
      );
      expect(answer).toEqual({
        columns: [
          { name: 'n', type: 'UInt32' },
          { name: 's', type: 'String' },
        ],
        rows: [
          [0, '0'],
          [1, '1'],
          [2, '2'],
        ],
        truncated: true,
      });
      for (const sql of [
        'INSERT INTO t VALUES (99)',
        'DROP TABLE t',
        'SELECT 1; DROP TABLE t',
        'ALTER TABLE t DELETE WHERE 1',
        'SELECT 1 SETTINGS readonly = 0',
        "SELECT * FROM file('/etc/hostname', 'LineAsString')",
        "SELECT file('/etc/hostname') AS f",
        "SELECT n FROM t WHERE n IN (SELECT toUInt32(c1) FROM url('http://127.0.0.1:9/', 'CSV'))",
      ]) {
        await expect(readOnlyClickHouse(client, sql, options), sql).rejects.toThrow(TributaryError);
        // `tributary query` and the warehouse's query() take the same road, without limits
        await expect(readClickHouseQuery(client, sql), sql).rejects.toThrow(TributaryError);
      }
      const whole = await readClickHouseQuery(
        client,
        'SELECT n, toDecimal64(n, 2) AS d, toInt64(n) * 1000000000000 AS big FROM t ORDER BY n',
      );
      expect(whole.columns).toEqual(['n', 'd', 'big']);
      expect(whole.rows).toHaveLength(10);
      expect(whole.rows[9]).toEqual([9, '9.00', '9000000000000']);
      expect(await ch.rows('SELECT count() AS n FROM t')).toEqual([{ n: '10' }]);
      expect(
        (await readOnlyClickHouse(client, 'SELECT sum(number) AS s FROM numbers(4)', options)).rows,
      ).toEqual([['6']]);
      // the refusals did not stay on the connection
      await client.command({ query: 'INSERT INTO t VALUES (10)' });
    } finally {
      await ch.drop();
    }
  });
});
