/** `tributary run --config`: a bad file exits 2 naming the key; a good one is used (flags still win). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../harness/postgres.js';
import { runCli } from '../helpers/cli.js';

describe('run --config', () => {
  it('exits 2 naming the bad key of a malformed config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-cfg-'));
    writeFileSync(join(dir, 'bad.yml'), 'source: postgres://x@127.0.0.1/db\nbatch: { size: many }\n');
    const result = await runCli(['run', '--config', join(dir, 'bad.yml')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/batch\.size/);
  });

  it('takes the source from the file, and a typed flag over the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-cfg-'));
    const [filePort, flagPort] = [await freePort(), await freePort()];
    writeFileSync(
      join(dir, 'ok.yml'),
      `source: postgres://app:pw@127.0.0.1:${filePort}/shop\nwarehouse: ${join(dir, 'w.duckdb')}\n`,
    );
    const fromFile = await runCli(['run', '--config', join(dir, 'ok.yml')]);
    expect(fromFile.code).toBe(2);
    expect(fromFile.stderr).toContain(`127.0.0.1:${filePort}`);
    const fromFlag = await runCli([
      'run',
      '--config',
      join(dir, 'ok.yml'),
      '--source',
      `postgres://app:pw@127.0.0.1:${flagPort}/shop`,
    ]);
    expect(fromFlag.code).toBe(2);
    expect(fromFlag.stderr).toContain(`127.0.0.1:${flagPort}`);
    expect(fromFlag.stderr).not.toContain(':pw@');
  });
});
