/**
 * Headless Chromium for the dashboard's browser tests: Debian's `chromium` (installed by
 * .ci/run), driven by playwright-core, which downloads no browser of its own. Each launch gets
 * a fresh profile, and the flags that keep Chromium from calling home (updates, sync, safe
 * browsing lists, QUIC probes): the tests' machine has no network beyond the servers they start.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

export interface Browser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Starts headless Chromium with a fresh profile; fails (never skips) when it is not installed. */
export async function launchChromium(viewport = { width: 1440, height: 1100 }): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `the browser tests need Debian's Chromium at ${CHROMIUM}: install it with "sudo apt-get install -y chromium" (.ci/run does this)`,
    );
  const profile = mkdtempSync(join(tmpdir(), 'tributary-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_ARGS],
      viewport,
    });
    return {
      context,
      close: async () => {
        try {
          await context.close();
        } finally {
          rmSync(profile, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
}
