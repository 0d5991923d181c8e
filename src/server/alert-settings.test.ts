import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../cli/config-file.js';
import { alertSettings } from './alert-settings.js';

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'tributary-alerts-')), 'tributary.yml');
  writeFileSync(path, text);
  return path;
}

describe('alerts: in the config file', () => {
  it('reads sizes with units, lag in seconds or as a duration, checks on by default', () => {
    const config = loadConfigFile(
      file(`
alerts:
  webhook: \${HOOK}
  walRetainedBytes: 10GB
  lagSeconds: 5m
`),
      { HOOK: 'https://hooks.example.com/tributary' },
    );
    expect(alertSettings(config.alerts, {})).toEqual({
      thresholds: { walRetainedBytes: 10 * 1024 ** 3, lagSeconds: 300, checks: true },
      webhook: 'https://hooks.example.com/tributary',
    });
    const plain = loadConfigFile(
      file('alerts: { walRetainedBytes: 1048576, lagSeconds: 2.5, checks: false }'),
    );
    expect(alertSettings(plain.alerts, {})).toEqual({
      thresholds: { walRetainedBytes: 1_048_576, lagSeconds: 2.5, checks: false },
      webhook: null,
    });
  });

  it('is off without alerts: unless TRIBUTARY_ALERT_WEBHOOK is set', () => {
    expect(alertSettings(undefined, {})).toBeNull();
    expect(alertSettings(undefined, { TRIBUTARY_ALERT_WEBHOOK: 'http://127.0.0.1:9/x' })).toEqual({
      thresholds: { walRetainedBytes: null, lagSeconds: null, checks: true },
      webhook: 'http://127.0.0.1:9/x',
    });
    expect(
      alertSettings({ webhook: 'https://a.example/1' }, { TRIBUTARY_ALERT_WEBHOOK: 'https://b.example/2' })
        ?.webhook,
    ).toBe('https://a.example/1');
    expect(() => alertSettings(undefined, { TRIBUTARY_ALERT_WEBHOOK: 'ftp://user:secret@host/x' })).toThrow(
      /TRIBUTARY_ALERT_WEBHOOK is not an http/,
    );
    try {
      alertSettings(undefined, { TRIBUTARY_ALERT_WEBHOOK: 'nope://user:secret@host/x' });
    } catch (error) {
      expect((error as { code: string }).code).toBe('CONFIG');
      expect(String(error)).not.toContain('secret');
    }
  });

  it('names each bad key and what it takes, without echoing the webhook', () => {
    const path = file(`
alerts:
  webhook: 'mailto:ops:hunter2@example.com'
  walRetainedBytes: lots
  lagSeconds: -1
  check: true
`);
    let message = '';
    try {
      loadConfigFile(path, {});
    } catch (error) {
      expect((error as { code: string }).code).toBe('CONFIG');
      message = String(error);
    }
    expect(message).toMatch(/alerts\.webhook: an http:\/\/ or https:\/\/ URL/);
    expect(message).toMatch(/alerts\.walRetainedBytes: .*a size such as 10GB/);
    expect(message).toMatch(/alerts\.lagSeconds: .*more than 0 seconds/);
    expect(message).toMatch(/check/);
    expect(message).not.toContain('hunter2');
  });
});
