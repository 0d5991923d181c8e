/**
 * Each check's latest result in full (what it observed, its sample of failing rows) and its
 * recent history, from `_tributary.check_results` (check-results-store.ts): what the HTTP API's
 * `GET /api/checks` serves. Times are ISO 8601 (UTC).
 */
import { type CheckStatus, hasStateTable } from '../pipeline/status-report.js';
import type { Warehouse } from '../warehouse/warehouse.js';

/** What `status` shows of a check (CheckStatus), and what it observed, its sample and its history. */
export interface CheckDetail extends CheckStatus {
  readonly observed: unknown;
  readonly sample: unknown[] | null;
  /** The last results, newest first (the latest included). */
  readonly history: { readonly status: string; readonly finishedAt: string }[];
}

/** The most results of one check `history` holds. */
export const CHECK_HISTORY = 20;

export async function checkDetails(warehouse: Warehouse, depth = CHECK_HISTORY): Promise<CheckDetail[]> {
  if (!(await hasStateTable(warehouse, 'check_results'))) return [];
  const n = Math.max(1, Math.floor(depth));
  const result = await warehouse.query(
    `SELECT check_name, check_type, severity, status, message,
            strftime(finished_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ'), observed::VARCHAR, sample::VARCHAR
       FROM (SELECT *, row_number() OVER (PARTITION BY check_name ORDER BY finished_at DESC, run_id DESC) AS nth
               FROM _tributary.check_results)
      WHERE nth <= ${n} ORDER BY check_name, nth`,
  );
  const byName = new Map<string, CheckDetail>();
  for (const r of result.rows) {
    const name = String(r[0]);
    const finishedAt = String(r[5]);
    let current = byName.get(name);
    if (!current) {
      const sample = json(r[7]);
      current = {
        name,
        type: String(r[1]),
        severity: String(r[2]),
        status: String(r[3]),
        message: String(r[4]),
        finishedAt,
        observed: json(r[6]),
        sample: Array.isArray(sample) ? sample : null,
        history: [],
      };
      byName.set(name, current);
    }
    current.history.push({ status: String(r[3]), finishedAt });
  }
  return [...byName.values()];
}

function json(value: unknown): unknown {
  if (typeof value !== 'string') return value ?? null;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return null;
  }
}
