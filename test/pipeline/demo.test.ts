/** `tributary demo` (what `npm start` runs) tells the whole story on a machine with nothing set up. */
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

describe('tributary demo', () => {
  it('shows the four change events and the analyst answer, then cleans up', async () => {
    const result = await runCli(['demo', '--no-keep-running']);
    expect(result.code, result.stderr).toBe(0);
    const out = result.stdout;
    expect(out.match(/^ {2}(insert|update) +public\.orders @ /gm)).toHaveLength(4);
    expect(out).toMatch(/update +public\.orders .*"id":"102".*"status":"refunded"/);
    expect(out).toMatch(/CA +│ 80\.00/);
    expect(out).toMatch(/US +│ 162\.75/);
    expect(out).toMatch(/warehouse \(DuckDB\): [\d.]+ ms +production \(Postgres\): [\d.]+ ms/);
    expect(out).toMatch(/stopped; the embedded Postgres and the demo warehouse are removed/);
  });
});
