/**
 * The alerts of one `run`: incidents (src/server/alerts.ts) judged on each telemetry sample and
 * each scheduled check result, each notice logged (warn when an incident opens, info when it
 * recovers) and posted to the webhook when there is one (src/server/alert-webhook.ts). Never
 * throws into the caller: the pipeline goes on whatever the alerts do.
 */
import type { Logger } from '../core/logger.js';
import type { CheckResult } from '../quality/check-result.js';
import type { AlertSettings } from './alert-settings.js';
import { AlertWebhook } from './alert-webhook.js';
import {
  type AlertNotice,
  type AlertSample,
  type AlertThresholds,
  Incidents,
  type OpenAlert,
} from './alerts.js';

/** What `GET /api/alerts` and `status` show. */
export interface AlertsReport {
  readonly thresholds: AlertThresholds | null;
  readonly open: readonly OpenAlert[];
}

export class Alerting {
  readonly #incidents: Incidents | null;
  readonly #webhook: AlertWebhook | null;
  readonly #log: Logger;

  constructor(settings: AlertSettings | null, log: Logger, now: () => number = Date.now) {
    this.#incidents = settings ? new Incidents(settings.thresholds, now) : null;
    this.#webhook = settings?.webhook ? new AlertWebhook(settings.webhook, log) : null;
    this.#log = log;
    if (settings)
      log.info(
        { ...settings.thresholds, webhook: this.#webhook?.described ?? null },
        'alerts on (alerts: in the config file)',
      );
  }

  get enabled(): boolean {
    return this.#incidents !== null;
  }

  sample(sample: AlertSample): void {
    if (this.#incidents) this.#raise(this.#incidents.observeSample(sample));
  }

  check(result: CheckResult): void {
    if (this.#incidents) this.#raise(this.#incidents.observeCheck(result));
  }

  report(): AlertsReport {
    return { thresholds: this.#incidents?.thresholds ?? null, open: this.#incidents?.open() ?? [] };
  }

  /** Every alert evaluated so far and whether it is open (the Prometheus gauge). */
  states(): { alert: string; active: boolean }[] {
    return this.#incidents?.states() ?? [];
  }

  /** Gives the webhook a few seconds to deliver what is queued. */
  async close(): Promise<void> {
    await this.#webhook?.close();
  }

  #raise(notices: readonly AlertNotice[]): void {
    for (const notice of notices) {
      const fields = { alert: notice.alert, value: notice.value, threshold: notice.threshold };
      if (notice.kind === 'alert') this.#log.warn(fields, `alert: ${notice.message}`);
      else this.#log.info(fields, `alert recovered: ${notice.message}`);
      this.#webhook?.send(notice);
    }
  }
}
