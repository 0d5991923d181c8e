/**
 * What the HTTP server, the dashboard, the Prometheus exporter and the alerts watch, kept in
 * the running process (nothing here is durable; the warehouse holds the durable state):
 *
 * - every applied batch, counted by table and operation, with its size and apply time, and
 *   handed to batch listeners (the Prometheus exporter);
 * - the last applied changes (a bounded ring), summarised for the live feed — table, operation,
 *   key, changed columns, position, commit time — and pushed to feed listeners (Server-Sent
 *   Events). Only key values leave the process this way, never whole rows;
 * - a lag history: one sample per `sampleEveryMs` of end-to-end lag, the slot's lag and
 *   retained WAL, and throughput, for the last `historySize` samples (an hour at 5 s).
 *
 * Lag is the freshness a user cares about: the age of the newest change applied, but 0 when
 * the warehouse has everything the server wrote (a quiet source is not late). Time is passed in.
 */
import type { ChangeEvent, Operation, StreamItem } from '../core/change-event.js';
import { type JsonValue, valueToJson } from '../core/event-json.js';
import { formatPosition } from '../core/position.js';
import { displayName } from '../core/table-ref.js';

/** One applied change as the live feed shows it. */
export interface ChangeSummary {
  /** Increases by one per change this process applied: a client resumes after the last it saw. */
  readonly seq: number;
  readonly table: string;
  readonly op: Operation;
  /** The key columns' values (null for a truncate, or a table without a key). */
  readonly key: { readonly [column: string]: JsonValue } | null;
  /** Columns the change carries (for an update: every sent column; unchanged TOAST left out). */
  readonly columns: readonly string[];
  readonly position: string;
  readonly commitTime: string;
  readonly appliedAt: string;
}

/** One point of the lag history. */
export interface TelemetrySample {
  readonly at: string;
  /** End-to-end lag: 0 when caught up, else the age of the newest change applied. */
  readonly lagSeconds: number | null;
  /** WAL the slot has not confirmed (server WAL end − confirmed_flush_lsn). */
  readonly slotLagBytes: number | null;
  /** WAL the server keeps for the slot (server WAL end − restart_lsn). */
  readonly slotRetainedBytes: number | null;
  readonly changesPerSecond: number;
}

/** One applied batch, for listeners that keep their own aggregates. */
export interface AppliedBatch {
  /** Changes by table and operation. */
  readonly changes: ReadonlyMap<string, ReadonlyMap<Operation, number>>;
  /** Stream items in the batch (changes, commits, messages, schemas). */
  readonly items: number;
  readonly applyMillis: number;
}

/** What the sampler reads each time: the pipeline's stats and the slot monitor's reading. */
export interface TelemetryReading {
  readonly newestCommitAgeSeconds: number | null;
  readonly caughtUp: boolean;
  readonly slotLagBytes: number | null;
  readonly slotRetainedBytes: number | null;
  readonly changesPerSecond: number;
}

export interface TelemetryOptions {
  readonly historySize?: number;
  readonly recentSize?: number;
  readonly now?: () => number;
}

export class Telemetry {
  readonly #now: () => number;
  readonly #historySize: number;
  readonly #recentSize: number;
  readonly #history: TelemetrySample[] = [];
  readonly #recent: ChangeSummary[] = [];
  readonly #counts = new Map<string, Map<Operation, number>>();
  readonly #feedListeners = new Set<(changes: readonly ChangeSummary[]) => void>();
  readonly #batchListeners = new Set<(batch: AppliedBatch) => void>();
  #seq = 0;
  #batches = 0;

  constructor(options: TelemetryOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#historySize = options.historySize ?? 720;
    this.#recentSize = options.recentSize ?? 500;
  }

  /** A batch the warehouse committed. */
  applied(items: readonly StreamItem[], applyMillis: number): void {
    const appliedAt = new Date(this.#now()).toISOString();
    const changes = new Map<string, Map<Operation, number>>();
    const summaries: ChangeSummary[] = [];
    for (const item of items) {
      if (item.kind !== 'change') continue;
      const event = item.event;
      const table = displayName(event.table);
      const byOp = changes.get(table) ?? new Map<Operation, number>();
      changes.set(table, byOp);
      byOp.set(event.op, (byOp.get(event.op) ?? 0) + 1);
      summaries.push(summarise(event, ++this.#seq, appliedAt));
    }
    for (const [table, byOp] of changes) {
      const total = this.#counts.get(table) ?? new Map<Operation, number>();
      this.#counts.set(table, total);
      for (const [op, n] of byOp) total.set(op, (total.get(op) ?? 0) + n);
    }
    this.#batches++;
    if (summaries.length > 0) {
      const keep = summaries.slice(-this.#recentSize);
      this.#recent.push(...keep);
      if (this.#recent.length > this.#recentSize)
        this.#recent.splice(0, this.#recent.length - this.#recentSize);
      for (const listener of this.#feedListeners) listener(summaries);
    }
    const batch: AppliedBatch = { changes, items: items.length, applyMillis };
    for (const listener of this.#batchListeners) listener(batch);
  }

  /** Records one point of the lag history. */
  sample(reading: TelemetryReading): TelemetrySample {
    const sample: TelemetrySample = {
      at: new Date(this.#now()).toISOString(),
      lagSeconds: reading.caughtUp ? 0 : reading.newestCommitAgeSeconds,
      slotLagBytes: reading.slotLagBytes,
      slotRetainedBytes: reading.slotRetainedBytes,
      changesPerSecond: reading.changesPerSecond,
    };
    this.#history.push(sample);
    if (this.#history.length > this.#historySize) this.#history.shift();
    return sample;
  }

  /** The lag history, oldest first; only samples at or after `sinceMs` when given. */
  history(sinceMs?: number): TelemetrySample[] {
    if (sinceMs === undefined) return [...this.#history];
    return this.#history.filter((s) => Date.parse(s.at) >= sinceMs);
  }

  /** The last `limit` applied changes, oldest first; only those after `afterSeq` when given. */
  recent(limit = this.#recentSize, afterSeq = 0): ChangeSummary[] {
    const after = this.#recent.filter((c) => c.seq > afterSeq);
    return after.slice(Math.max(0, after.length - limit));
  }

  /** Changes applied by this process, by table and operation. */
  changeCounts(): { table: string; op: Operation; changes: number }[] {
    const out: { table: string; op: Operation; changes: number }[] = [];
    for (const [table, byOp] of this.#counts)
      for (const [op, changes] of byOp) out.push({ table, op, changes });
    return out.sort((a, b) => a.table.localeCompare(b.table) || a.op.localeCompare(b.op));
  }

  get batches(): number {
    return this.#batches;
  }

  /** Calls `listener` with each batch's changes as they are applied; returns the unsubscribe. */
  onChanges(listener: (changes: readonly ChangeSummary[]) => void): () => void {
    this.#feedListeners.add(listener);
    return () => this.#feedListeners.delete(listener);
  }

  /** Calls `listener` with each applied batch; returns the unsubscribe. */
  onBatch(listener: (batch: AppliedBatch) => void): () => void {
    this.#batchListeners.add(listener);
    return () => this.#batchListeners.delete(listener);
  }
}

function summarise(event: ChangeEvent, seq: number, appliedAt: string): ChangeSummary {
  const key = event.pk
    ? Object.fromEntries(Object.entries(event.pk).map(([column, value]) => [column, valueToJson(value)]))
    : null;
  const columns = event.row ? Object.keys(event.row) : event.pk ? Object.keys(event.pk) : [];
  return {
    seq,
    table: displayName(event.table),
    op: event.op,
    key,
    columns,
    position: formatPosition(event.position),
    commitTime: new Date(Number(event.commitTime.micros / 1000n)).toISOString(),
    appliedAt,
  };
}

/**
 * Takes a sample every `everyMs` until the returned stop is called; a reading that fails (the
 * slot monitor's server gone) is skipped, never thrown. `onSample` sees each sample (alerts).
 */
export function sampleEvery(
  telemetry: Telemetry,
  read: () => Promise<TelemetryReading>,
  everyMs: number,
  onSample?: (sample: TelemetrySample) => void,
): () => void {
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const sample = telemetry.sample(await read());
      onSample?.(sample);
    } catch {
      // the next tick tries again
    } finally {
      busy = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Caught up: nothing received is waiting to be applied and the slot is (nearly) at the WAL end. */
export const CAUGHT_UP_SLOT_BYTES = 16_384;
