/**
 * `GET /metrics`: the running process in the Prometheus text format (prom-client, on a registry
 * of its own). The names are a contract (README, "Prometheus and alerts"):
 *
 *   tributary_end_to_end_lag_seconds                 gauge: latest lag sample; 0 when caught up
 *   tributary_slot_lag_bytes                         gauge: WAL the slot has not confirmed
 *   tributary_slot_retained_wal_bytes                gauge: WAL the server keeps for the slot
 *   tributary_changes_applied_total{table,op}        counter
 *   tributary_batch_items                            histogram: stream items per applied batch
 *   tributary_batch_apply_seconds                    histogram: warehouse time per batch
 *   tributary_source_connected                       gauge 0/1
 *   tributary_source_reconnects_total                counter
 *   tributary_check_failing{check,type,severity}     gauge: 1 when the latest result is fail/error
 *   tributary_check_last_run_timestamp_seconds{check}
 *   tributary_backfill_rows_done{job,table,reason,state}       pending and running jobs only
 *   tributary_backfill_rows_estimated{job,table,reason,state}
 *   tributary_alert_active{alert}                    gauge 0/1
 *   tributary_process_*, tributary_nodejs_*          prom-client's default metrics
 *
 * A gauge whose value is not known yet (no lag sample, the slot not read) has no sample. Counters and histograms of
 * batches follow Telemetry.onBatch; the rest is read when scraped, through the paths `status`
 * uses (the warehouse's reader, the source's rate-limited slot monitor), so a scrape never
 * holds up the loader. Scrapes run one at a time.
 */
import type { ServerResponse } from 'node:http';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { CheckStatus, JobStatus } from '../pipeline/status-report.js';
import type { Telemetry } from '../pipeline/telemetry.js';
import type { SourceStatus } from '../source/postgres/postgres-source.js';

export interface PrometheusSources {
  readonly telemetry: Telemetry;
  source(): Promise<SourceStatus | null>;
  checks(): Promise<readonly CheckStatus[]>;
  jobs(): Promise<readonly JobStatus[]>;
  alerts(): readonly { readonly alert: string; readonly active: boolean }[];
}

const BATCH_ITEMS_BUCKETS = [1, 10, 100, 1_000, 5_000, 10_000, 50_000, 100_000];
const APPLY_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const LIVE_JOB_STATES = new Set(['pending', 'running']);

/** Reads the slow sources once per scrape, however many metrics ask. */
class ScrapeReading {
  readonly #sources: PrometheusSources;
  #source: Promise<SourceStatus | null> | null = null;
  #checks: Promise<readonly CheckStatus[]> | null = null;
  #jobs: Promise<readonly JobStatus[]> | null = null;

  constructor(sources: PrometheusSources) {
    this.#sources = sources;
  }

  source(): Promise<SourceStatus | null> {
    this.#source ??= this.#sources.source();
    return this.#source;
  }

  checks(): Promise<readonly CheckStatus[]> {
    this.#checks ??= this.#sources.checks();
    return this.#checks;
  }

  jobs(): Promise<readonly JobStatus[]> {
    this.#jobs ??= this.#sources.jobs();
    return this.#jobs;
  }
}

export class PrometheusExporter {
  readonly #registry = new Registry();
  readonly #sources: PrometheusSources;
  readonly #unsubscribe: () => void;
  #reading: ScrapeReading | null = null;
  #scrapes: Promise<unknown> = Promise.resolve();

  constructor(sources: PrometheusSources) {
    this.#sources = sources;
    const registers = [this.#registry];
    collectDefaultMetrics({ register: this.#registry, prefix: 'tributary_' });
    const latest = () => sources.telemetry.history().at(-1) ?? null;
    /** Sets a gauge without labels, or leaves it without a sample when the value is unknown. */
    const show = (gauge: Gauge, value: number | null | undefined) => {
      if (value === null || value === undefined) gauge.remove({});
      else gauge.set(value);
    };

    new Gauge({
      name: 'tributary_end_to_end_lag_seconds',
      help: 'Age of the newest change applied, 0 when the warehouse has everything the server wrote (latest 5 s sample)',
      registers,
      collect() {
        show(this, latest()?.lagSeconds);
      },
    });
    new Gauge({
      name: 'tributary_slot_lag_bytes',
      help: "WAL the slot has not confirmed: the server's WAL end minus confirmed_flush_lsn (latest sample)",
      registers,
      collect() {
        show(this, latest()?.slotLagBytes);
      },
    });
    new Gauge({
      name: 'tributary_slot_retained_wal_bytes',
      help: "WAL the server keeps for the slot: the server's WAL end minus restart_lsn (latest sample)",
      registers,
      collect() {
        show(this, latest()?.slotRetainedBytes);
      },
    });

    const applied = new Counter({
      name: 'tributary_changes_applied_total',
      help: 'Changes this process applied to the warehouse, by table and operation',
      labelNames: ['table', 'op'] as const,
      registers,
    });
    const items = new Histogram({
      name: 'tributary_batch_items',
      help: 'Stream items (changes, commits, messages) per batch applied to the warehouse',
      buckets: BATCH_ITEMS_BUCKETS,
      registers,
    });
    const applySeconds = new Histogram({
      name: 'tributary_batch_apply_seconds',
      help: 'Time to apply one batch to the warehouse (one transaction with the checkpoint)',
      buckets: APPLY_SECONDS_BUCKETS,
      registers,
    });
    this.#unsubscribe = sources.telemetry.onBatch((batch) => {
      for (const [table, byOp] of batch.changes) for (const [op, n] of byOp) applied.inc({ table, op }, n);
      items.observe(batch.items);
      applySeconds.observe(batch.applyMillis / 1000);
    });

    const scrape = () => this.#current();
    new Gauge({
      name: 'tributary_source_connected',
      help: '1 while the replication connection to the source is up',
      registers,
      async collect() {
        this.set((await scrape().source())?.connected ? 1 : 0);
      },
    });
    new Counter({
      name: 'tributary_source_reconnects_total',
      help: 'Times the replication connection was made again after it was lost',
      registers,
      async collect() {
        this.reset();
        this.inc((await scrape().source())?.reconnects ?? 0);
      },
    });
    new Gauge({
      name: 'tributary_check_failing',
      help: "1 when a data check's latest result is fail or error, else 0",
      labelNames: ['check', 'type', 'severity'] as const,
      registers,
      async collect() {
        this.reset();
        for (const c of await scrape().checks()) {
          const failing = c.status === 'fail' || c.status === 'error';
          this.set({ check: c.name, type: c.type, severity: c.severity }, failing ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'tributary_check_last_run_timestamp_seconds',
      help: "When a data check's latest run finished (Unix time)",
      labelNames: ['check'] as const,
      registers,
      async collect() {
        this.reset();
        for (const c of await scrape().checks()) this.set({ check: c.name }, Date.parse(c.finishedAt) / 1000);
      },
    });
    const jobGauge = (name: string, help: string, value: (job: JobStatus) => number | null) =>
      new Gauge({
        name,
        help,
        labelNames: ['job', 'table', 'reason', 'state'] as const,
        registers,
        async collect() {
          this.reset();
          for (const job of await scrape().jobs()) {
            const v = value(job);
            if (!LIVE_JOB_STATES.has(job.state) || v === null) continue;
            this.set({ job: job.id, table: job.table, reason: job.reason, state: job.state }, v);
          }
        },
      });
    jobGauge(
      'tributary_backfill_rows_done',
      'Rows a pending or running snapshot/backfill job has copied',
      (j) => j.rows,
    );
    jobGauge(
      'tributary_backfill_rows_estimated',
      "The source's estimate of a pending or running snapshot/backfill job's rows",
      (j) => j.rowsEstimated,
    );
    new Gauge({
      name: 'tributary_alert_active',
      help: '1 while an alert (wal_retained, lag, check:<name>) is open',
      labelNames: ['alert'] as const,
      registers,
      collect() {
        this.reset();
        for (const { alert, active } of sources.alerts()) this.set({ alert }, active ? 1 : 0);
      },
    });
  }

  get contentType(): string {
    return this.#registry.contentType;
  }

  /** The exposition text; one scrape at a time. */
  scrape(): Promise<string> {
    const next = this.#scrapes.then(async () => {
      this.#reading = new ScrapeReading(this.#sources);
      try {
        return await this.#registry.metrics();
      } finally {
        this.#reading = null;
      }
    });
    this.#scrapes = next.catch(() => {});
    return next;
  }

  /** Answers a scrape on `response`. */
  async serve(response: ServerResponse): Promise<void> {
    const body = await this.scrape();
    response.writeHead(200, {
      'content-type': this.contentType,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    response.end(body);
  }

  close(): void {
    this.#unsubscribe();
  }

  #current(): ScrapeReading {
    this.#reading ??= new ScrapeReading(this.#sources);
    return this.#reading;
  }
}
