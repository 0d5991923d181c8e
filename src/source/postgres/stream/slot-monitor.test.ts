/**
 * The slot monitor's caching and time-out, with the server's answer played by a function and
 * time passed in. That the query reads the right thing from a real server is shown in
 * test/pipeline/status-reports-server-slot-lag.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../core/logger.js';
import { bytesBehind, SlotMonitor, type SlotReading } from './slot-monitor.js';

function reading(serverLsn: bigint, confirmed: bigint | null = 100n): SlotReading {
  return {
    serverLsn,
    inRecovery: false,
    exists: confirmed !== null,
    confirmedFlushLsn: confirmed,
    restartLsn: confirmed === null ? null : confirmed - 50n,
    walStatus: confirmed === null ? null : 'reserved',
    safeWalSizeBytes: null,
  };
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('SlotMonitor', () => {
  it('reads at most once per maxAgeMs, and concurrent requests share one read', async () => {
    let clock = 1_000;
    let reads = 0;
    const monitor = new SlotMonitor(async () => reading(BigInt(200 + reads++)), silentLogger(), {
      now: () => clock,
      maxAgeMs: 1000,
    });
    const [a, b] = await Promise.all([monitor.observe(), monitor.observe()]);
    expect(reads).toBe(1);
    expect(a).toEqual({ reading: reading(200n), ageMs: 0 });
    expect(b).toEqual(a);
    clock += 999;
    expect((await monitor.observe())?.reading.serverLsn).toBe(200n);
    expect(reads).toBe(1);
    clock += 1;
    expect(await monitor.observe()).toEqual({ reading: reading(201n), ageMs: 0 });
    expect(reads).toBe(2);
  });

  it('does not wait past the timeout for a server that does not answer, and keeps the late answer', async () => {
    let clock = 0;
    const answer = deferred<SlotReading | null>();
    let reads = 0;
    const monitor = new SlotMonitor(
      () => {
        reads++;
        return answer.promise;
      },
      silentLogger(),
      { now: () => clock, timeoutMs: 10 },
    );
    expect(await monitor.observe()).toBeNull();
    expect(await monitor.observe()).toBeNull();
    expect(reads).toBe(1); // the slow read is still the one in flight
    clock = 300;
    answer.resolve(reading(500n));
    await answer.promise;
    expect(await monitor.observe()).toEqual({ reading: reading(500n), ageMs: 300 });
  });

  it('answers with the last reading and its age when a read fails, never with an error', async () => {
    let clock = 0;
    let fail = false;
    const monitor = new SlotMonitor(
      async () => {
        if (fail) throw new Error('connection terminated');
        return reading(400n);
      },
      silentLogger(),
      { now: () => clock },
    );
    expect((await monitor.observe())?.ageMs).toBe(0);
    fail = true;
    clock = 5_000;
    expect(await monitor.observe()).toEqual({ reading: reading(400n), ageMs: 5_000 });
    fail = false;
    clock = 6_000;
    expect(await monitor.observe()).toEqual({ reading: reading(400n), ageMs: 0 });
  });

  it('stops reading once closed, and keeps answering with the last reading', async () => {
    let clock = 0;
    let reads = 0;
    const monitor = new SlotMonitor(async () => reading(BigInt(300 + reads++)), silentLogger(), {
      now: () => clock,
    });
    await monitor.observe();
    monitor.close();
    clock = 10_000;
    expect(await monitor.observe()).toEqual({ reading: reading(300n), ageMs: 10_000 });
    expect(reads).toBe(1);
  });
});

describe('bytesBehind', () => {
  it('is the distance to the server WAL end; unknown without a position; never negative', () => {
    expect(bytesBehind(reading(1_000n), 400n)).toBe(600);
    expect(bytesBehind(reading(1_000n), null)).toBeNull();
    expect(bytesBehind(reading(1_000n), 2_000n)).toBe(0);
  });
});
