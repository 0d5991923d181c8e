/**
 * Deterministic fuzzing of decodePgoutput: random bytes, known tags followed by random bytes, and
 * mutations of real captured frames (bit flips, truncation at every offset, length-sized fields
 * overwritten with huge, negative and off-by-one values, inserted and deleted bytes). Every case
 * must either return a message or throw TributaryError('PROTOCOL'); anything else (RangeError,
 * TypeError, a hang, an out-of-memory from a trusted length) fails. A seeded xorshift keeps the
 * cases identical from run to run, so a failure names a reproducible input.
 */
import { describe, expect, it } from 'vitest';
import { decodeFixture, loadPgoutputFixtures } from '../../../../test/fixtures/pgoutput/fixtures.js';
import { xorshift } from '../../../../test/helpers/random.js';
import { isTributaryError } from '../../../core/errors.js';
import { decodePgoutput } from './decode.js';
import type { PgoutputMessage } from './messages.js';

interface Outcome {
  decoded: number;
  rejected: number;
}

/** Decodes one case; returns whether it decoded. Fails the test on any other exception. */
function attempt(bytes: Uint8Array, inStream: boolean, outcome: Outcome): PgoutputMessage | null {
  try {
    const message = decodePgoutput(bytes, { inStream });
    outcome.decoded++;
    return message;
  } catch (error) {
    if (!isTributaryError(error, 'PROTOCOL')) {
      const input = Buffer.from(bytes).toString('hex');
      throw new Error(`decoding ${input} (inStream ${inStream}) threw ${String(error)}`, { cause: error });
    }
    outcome.rejected++;
    return null;
  }
}

const TAGS = 'BCORYIUDTMSEcAbPKrp';

/** Real frames, each with the stream state it was decoded in, deduplicated. */
const FRAMES = (() => {
  const seen = new Set<string>();
  const frames: { bytes: Buffer; inStream: boolean; tag: string }[] = [];
  for (const fixture of loadPgoutputFixtures()) {
    for (const d of decodeFixture(fixture)) {
      const key = `${d.inStream}:${d.bytes.toString('hex')}`;
      if (d.bytes.length > 4096 || seen.has(key)) continue; // the TOAST rows add little but time
      seen.add(key);
      frames.push({ bytes: d.bytes, inStream: d.inStream, tag: d.message.tag });
    }
  }
  return frames;
})();

/** One small frame of each message type, for the exhaustive mutations. */
const ONE_OF_EACH_TAG = (() => {
  const byTag = new Map<string, (typeof FRAMES)[number]>();
  for (const frame of FRAMES) {
    const current = byTag.get(frame.tag);
    // prefer the richest frame under 200 bytes: more fields to break
    if (frame.bytes.length <= 200 && (!current || frame.bytes.length > current.bytes.length))
      byTag.set(frame.tag, frame);
  }
  return [...byTag.values()];
})();

const HOSTILE_INT32 = [0x7fff_ffff, 0xffff_ffff, 0x8000_0000, 0x0001_0000, 0];

describe('decodePgoutput under fuzzing', () => {
  it('has real frames of every message type to mutate', () => {
    expect(ONE_OF_EACH_TAG.length).toBe(19);
  });

  it('survives random bytes', () => {
    const next = xorshift(0x5eed_0001);
    const outcome = { decoded: 0, rejected: 0 };
    for (let n = 0; n < 4000; n++) {
      const bytes = new Uint8Array(next() % 64);
      for (let i = 0; i < bytes.length; i++) bytes[i] = next() & 0xff;
      attempt(bytes, (next() & 1) === 1, outcome);
    }
    expect(outcome.decoded + outcome.rejected).toBe(4000);
  });

  it('survives every known tag followed by random bytes', () => {
    const next = xorshift(0x5eed_0002);
    const outcome = { decoded: 0, rejected: 0 };
    for (let n = 0; n < 6000; n++) {
      const bytes = new Uint8Array(1 + (next() % 80));
      bytes[0] = TAGS.charCodeAt(next() % TAGS.length);
      // small values make plausible counts and lengths, so decoding gets past the first field
      for (let i = 1; i < bytes.length; i++) bytes[i] = next() % 4 === 0 ? next() & 0xff : next() % 3;
      attempt(bytes, (next() & 1) === 1, outcome);
    }
    expect(outcome.decoded).toBeGreaterThan(0);
    expect(outcome.rejected).toBeGreaterThan(0);
  });

  it('survives bit flips in real frames', () => {
    const next = xorshift(0x5eed_0003);
    const outcome = { decoded: 0, rejected: 0 };
    for (let n = 0; n < 5000; n++) {
      const frame = FRAMES[next() % FRAMES.length]!;
      const bytes = Uint8Array.from(frame.bytes);
      const flips = 1 + (next() % 3);
      for (let k = 0; k < flips; k++) bytes[next() % bytes.length]! ^= 1 << (next() % 8);
      attempt(bytes, frame.inStream, outcome);
    }
    expect(outcome.rejected).toBeGreaterThan(0);
  });

  it('survives truncation of real frames at every offset', () => {
    const outcome = { decoded: 0, rejected: 0 };
    for (const frame of ONE_OF_EACH_TAG) {
      for (let end = 0; end < frame.bytes.length; end++) {
        const message = attempt(frame.bytes.subarray(0, end), frame.inStream, outcome);
        // only a parallel Stream Abort has a shorter valid form (without abort LSN and time)
        if (message) expect([message.tag, end]).toEqual(['streamAbort', 9]);
      }
      expect(attempt(frame.bytes, frame.inStream, outcome)?.tag).toBe(frame.tag);
    }
    expect(outcome.rejected).toBeGreaterThan(500);
  });

  it('survives hostile 16- and 32-bit values at every offset of real frames', () => {
    const outcome = { decoded: 0, rejected: 0 };
    for (const frame of ONE_OF_EACH_TAG) {
      const length = frame.bytes.length;
      for (let at = 1; at + 2 <= length; at++) {
        for (const value of [...HOSTILE_INT32, length, length - at]) {
          if (at + 4 <= length) {
            const bytes = Buffer.from(frame.bytes);
            bytes.writeUInt32BE(value >>> 0, at);
            attempt(bytes, frame.inStream, outcome);
          }
        }
        for (const value of [0xffff, 0x8000, 0x0100]) {
          const bytes = Buffer.from(frame.bytes);
          bytes.writeUInt16BE(value, at);
          attempt(bytes, frame.inStream, outcome);
        }
      }
    }
    expect(outcome.rejected).toBeGreaterThan(1000);
  });

  it('survives inserted and deleted bytes in real frames', () => {
    const next = xorshift(0x5eed_0004);
    const outcome = { decoded: 0, rejected: 0 };
    for (let n = 0; n < 4000; n++) {
      const frame = FRAMES[next() % FRAMES.length]!;
      const at = next() % (frame.bytes.length + 1);
      const count = 1 + (next() % 4);
      const bytes =
        next() % 2 === 0
          ? Buffer.concat([
              frame.bytes.subarray(0, at),
              Buffer.from(Array.from({ length: count }, () => next() & 0xff)),
              frame.bytes.subarray(at),
            ])
          : Buffer.concat([frame.bytes.subarray(0, at), frame.bytes.subarray(at + count)]);
      attempt(bytes, frame.inStream, outcome);
    }
    expect(outcome.rejected).toBeGreaterThan(0);
  });

  it('rejects every real frame decoded with the wrong stream state, or decodes it consistently', () => {
    const outcome = { decoded: 0, rejected: 0 };
    for (const frame of FRAMES) {
      const message = attempt(frame.bytes, !frame.inStream, outcome);
      // control messages do not depend on the stream state; data messages almost always fail
      if (message && message.tag === frame.tag && 'xid' in message && message.xid !== null)
        expect(frame.inStream).toBe(false);
    }
    expect(outcome.decoded + outcome.rejected).toBe(FRAMES.length);
  });
});
