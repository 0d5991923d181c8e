/** The live line: rewritten in place on a terminal, plain lines without control characters elsewhere. */
import { describe, expect, it } from 'vitest';
import { LiveLine } from './live-line.js';

function output(isTTY: boolean, columns = 80) {
  const chunks: string[] = [];
  return { isTTY, columns, write: (text: string) => chunks.push(text), text: () => chunks.join('') };
}

const CONTROL = /[\r\u001b]/;

describe('LiveLine', () => {
  it('off a terminal writes the step and its outcome as plain lines', async () => {
    const out = output(false);
    let clock = 0;
    const live = new LiveLine(out, { now: () => clock });
    const result = await live.step(
      'starting',
      async () => {
        live.say('a line printed meanwhile');
        clock = 2_345;
        return 42;
      },
      (n, seconds) => `started ${n} in ${seconds} s`,
    );
    expect(result).toBe(42);
    expect(out.text()).toBe('starting\na line printed meanwhile\nstarted 42 in 2.3 s\n');
  });

  it('off a terminal prints a changing status at most every plainStatusEveryMs', () => {
    const out = output(false);
    let clock = 0;
    const live = new LiveLine(out, { now: () => clock, plainStatusEveryMs: 5_000 });
    for (let i = 0; i < 12; i++) {
      live.status(`${i} applied`);
      clock += 1_000;
    }
    live.end();
    expect(out.text()).toBe('0 applied\n5 applied\n10 applied\n');
    expect(out.text()).not.toMatch(CONTROL);
  });

  it('says a failed step failed, off a terminal too, and rethrows', async () => {
    const out = output(false);
    const live = new LiveLine(out, { now: () => 0 });
    await expect(
      live.step(
        'starting',
        () => Promise.reject(new Error('boom')),
        () => 'never',
      ),
    ).rejects.toThrow('boom');
    expect(out.text()).toBe('starting\n✖ starting failed after 0.0 s\n');
  });

  it('on a terminal rewrites one line in place, keeps printed lines above it, and ends with the outcome', async () => {
    const out = output(true, 40);
    let clock = 0;
    const live = new LiveLine(out, { now: () => clock });
    await live.step(
      'starting something long enough to be cut at the terminal width',
      async () => {
        clock = 1_500;
        live.say('meanwhile');
      },
      (_, seconds) => `started in ${seconds} s`,
    );
    const text = out.text();
    expect(text.startsWith('\r⠋ starting')).toBe(true);
    expect(text).toMatch(/\r +\rmeanwhile\n\r⠙ starting/);
    expect(text.endsWith('\rstarted in 1.5 s\n')).toBe(true);
    for (const drawn of text.split(/[\r\n]/)) expect(drawn.length).toBeLessThan(40);
  });

  it('on a terminal rewrites a changing status in place and moves below it at the end', () => {
    const out = output(true);
    const live = new LiveLine(out, { now: () => 0 });
    live.status('10 applied · lag 30 ms');
    live.status('20 applied');
    live.end();
    expect(out.text()).toBe('\r10 applied · lag 30 ms\r20 applied            \n');
  });
});
