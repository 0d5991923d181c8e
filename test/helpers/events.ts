/** Reading `tributary tail --out` files back, and waiting for conditions. */
import { existsSync, readFileSync } from 'node:fs';

export interface ChangeLine {
  readonly kind: 'change';
  readonly op: string;
  readonly table: string;
  readonly position: string;
  readonly pk: Record<string, unknown> | null;
  readonly row: Record<string, unknown> | null;
  readonly before: Record<string, unknown> | null;
  readonly unchanged: string[];
}

export function readLines(path: string): Record<string, unknown>[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  // a line still being written (no newline yet) is not read: the writer appends whole lines
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

export function readChanges(path: string): ChangeLine[] {
  return readLines(path).filter((l): l is Record<string, unknown> & ChangeLine => l.kind === 'change');
}

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
