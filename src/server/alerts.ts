/**
 * Incidents: the alert conditions of `run` (config file `alerts:`), each an incident that opens
 * when its condition becomes true and closes when it clears — one notice when it opens, one
 * when it recovers, nothing in between however often the condition is seen again.
 *
 * - `wal_retained`: the WAL the server keeps for the slot is over `walRetainedBytes`;
 * - `lag`: the end-to-end lag (0 when caught up) is over `lagSeconds`;
 * - `check:<name>`: an error-severity check's latest result is `fail` or `error` (`checks`).
 *
 * A reading that does not know a value (null: the slot not read yet) leaves the incident as it
 * is. Pure: the caller feeds samples and check results, and sends the notices returned (log,
 * webhook); time is passed in.
 */
import bytes from 'bytes';
import type { CheckResult } from '../quality/check-result.js';

export interface AlertThresholds {
  /** WAL retained for the slot over this many bytes → `wal_retained`; null: never. */
  readonly walRetainedBytes: number | null;
  /** End-to-end lag over this many seconds → `lag`; null: never. */
  readonly lagSeconds: number | null;
  /** An error-severity check failing (or unable to run) → `check:<name>`. */
  readonly checks: boolean;
}

/** What is posted to the webhook when an incident opens (`alert`) or closes (`recovered`). */
export interface AlertNotice {
  readonly kind: 'alert' | 'recovered';
  readonly alert: string;
  readonly message: string;
  readonly value: number | string | null;
  readonly threshold: number | null;
  readonly at: string;
  readonly source: 'tributary';
}

export interface OpenAlert {
  readonly alert: string;
  readonly since: string;
  readonly message: string;
  readonly value: number | string | null;
  readonly threshold: number | null;
}

/** What a telemetry sample gives the alerts (src/pipeline/telemetry.ts TelemetrySample). */
export interface AlertSample {
  readonly lagSeconds: number | null;
  readonly slotRetainedBytes: number | null;
}

interface Condition {
  readonly alert: string;
  readonly active: boolean;
  readonly message: string;
  readonly value: number | string | null;
  readonly threshold: number | null;
}

export class Incidents {
  readonly #thresholds: AlertThresholds;
  readonly #now: () => number;
  readonly #open = new Map<string, OpenAlert>();
  /** Every alert evaluated so far (open or not), for the `tributary_alert_active` gauge. */
  readonly #known = new Set<string>();

  constructor(thresholds: AlertThresholds, now: () => number = Date.now) {
    this.#thresholds = Object.freeze({ ...thresholds });
    this.#now = now;
    if (thresholds.walRetainedBytes !== null) this.#known.add('wal_retained');
    if (thresholds.lagSeconds !== null) this.#known.add('lag');
  }

  get thresholds(): AlertThresholds {
    return this.#thresholds;
  }

  /** Judges one telemetry sample; returns the notices to send (at most one per alert). */
  observeSample(sample: AlertSample): AlertNotice[] {
    const notices: AlertNotice[] = [];
    const wal = this.#thresholds.walRetainedBytes;
    if (wal !== null && sample.slotRetainedBytes !== null) {
      const value = sample.slotRetainedBytes;
      this.#judge(notices, {
        alert: 'wal_retained',
        active: value > wal,
        message: `the server keeps ${bytes.format(value)} of WAL for the slot (threshold ${bytes.format(wal)})`,
        value,
        threshold: wal,
      });
    }
    const lag = this.#thresholds.lagSeconds;
    if (lag !== null && sample.lagSeconds !== null) {
      const value = sample.lagSeconds;
      this.#judge(notices, {
        alert: 'lag',
        active: value > lag,
        message: `end-to-end lag is ${Math.round(value * 10) / 10} s (threshold ${lag} s)`,
        value,
        threshold: lag,
      });
    }
    return notices;
  }

  /** Judges a check's result; warn-severity checks never alert. */
  observeCheck(result: CheckResult): AlertNotice[] {
    if (!this.#thresholds.checks || result.severity !== 'error') return [];
    const notices: AlertNotice[] = [];
    const failing = result.status === 'fail' || result.status === 'error';
    this.#judge(notices, {
      alert: `check:${result.name}`,
      active: failing,
      message: failing
        ? `check ${result.name} (${result.type}) ${result.status === 'fail' ? 'fails' : 'cannot run'}: ${result.message}`
        : `check ${result.name} (${result.type}) passes: ${result.message}`,
      value: result.status,
      threshold: null,
    });
    return notices;
  }

  /** The open incidents, oldest first. */
  open(): OpenAlert[] {
    return [...this.#open.values()];
  }

  /** Every alert evaluated so far, and whether it is open. */
  states(): { alert: string; active: boolean }[] {
    return [...this.#known].sort().map((alert) => ({ alert, active: this.#open.has(alert) }));
  }

  #judge(notices: AlertNotice[], condition: Condition): void {
    this.#known.add(condition.alert);
    const wasOpen = this.#open.has(condition.alert);
    if (condition.active === wasOpen) return;
    const at = new Date(this.#now()).toISOString();
    const { alert, message, value, threshold } = condition;
    if (condition.active) this.#open.set(alert, { alert, since: at, message, value, threshold });
    else this.#open.delete(alert);
    notices.push({
      kind: condition.active ? 'alert' : 'recovered',
      alert,
      message,
      value,
      threshold,
      at,
      source: 'tributary',
    });
  }
}
