import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from './config-file.js';
import { modelsSettings } from './models-settings.js';

function configFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'tributary-config-')), 'tributary.yml');
  writeFileSync(path, text);
  return path;
}

describe('modelsSettings: --models, else the config file (relative to it), else ./models', () => {
  it('reads models: { dir, schema } relative to the config file; the flag wins', () => {
    const path = configFile('models: { dir: sql/models, schema: curated }\n');
    const file = loadConfigFile(path, {});
    expect(modelsSettings(undefined, path, file)).toEqual({
      dir: join(path, '..', 'sql', 'models'),
      schema: 'curated',
      explicit: true,
    });
    expect(modelsSettings('elsewhere', path, file)).toEqual({
      dir: 'elsewhere',
      schema: 'curated',
      explicit: true,
    });
    expect(modelsSettings(undefined, undefined, null)).toEqual({
      dir: 'models',
      schema: 'models',
      explicit: false,
    });
  });

  it('refuses a bad models: key, naming it', () => {
    expect(() => loadConfigFile(configFile('models: { schema: Bad-Name }\n'), {})).toThrow(
      /models\.schema: a schema name/,
    );
    expect(() => loadConfigFile(configFile('models: { path: x }\n'), {})).toThrow(/models/);
  });
});
