import { describe, expect, it } from 'vitest';
import { invisibleIn } from './verify.js';

describe('invisibleIn: which stream transactions a snapshot does not see', () => {
  it('sees what committed below xmax and is not running; not xmax and later, nor the running', () => {
    const invisible = invisibleIn('100:105:101,103');
    expect([99, 100, 101, 102, 103, 104, 105, 4000].map(invisible)).toEqual([
      false,
      false,
      true,
      false,
      true,
      false,
      true,
      true,
    ]);
  });

  it('widens 32-bit xids with the epoch of xmax, across a wraparound', () => {
    const epoch = 3n << 32n;
    const invisible = invisibleIn(`${epoch - 10n}:${epoch + 5n}:${epoch + 2n}`);
    expect(invisible(0xfffffffa)).toBe(false); // epoch 2, just below the wrap: seen
    expect(invisible(2)).toBe(true); // running
    expect(invisible(4)).toBe(false);
    expect(invisible(5)).toBe(true);
  });
});
