/**
 * The metrics layer in `tributary run` and the commands around it: where the definitions are,
 * who is registering, loading them at the start of a run, and the control endpoint's handler.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { TributaryError } from '../core/errors.js';
import { type MetricSource, parseMetricFiles, readMetricDir } from '../metrics/metric-files.js';
import { Metrics, type MetricsBackend } from '../metrics/metrics.js';
import { runMetricsOperation } from '../metrics/metrics-request.js';
import type { ControlHandlers } from '../server/control-server.js';
import type { ConfigFile } from './config-file.js';

export const DEFAULT_METRICS_DIR = 'metrics';

/** Where the metric files are: the flag, else the config file's metrics.dir (relative to it), else null. */
export function metricsDirOf(
  flag: string | undefined,
  configPath: string | undefined,
  file: ConfigFile | null,
): string | null {
  if (flag !== undefined) return flag;
  if (configPath && file?.metrics) return resolve(dirname(configPath), file.metrics.dir);
  return null;
}

/** Who registers a version whose change: block does not name anyone. */
export function currentUser(): string {
  return process.env.USER ?? process.env.USERNAME ?? 'unknown';
}

/**
 * The definitions `run` serves: from `dir` when one is given (it must exist), else from
 * ./metrics when that exists, else none. Validated now: a malformed file stops the run (exit 2)
 * before it touches the source.
 */
export function metricsAtStart(dir: string | undefined): MetricSource[] | null {
  if (dir === undefined && !existsSync(DEFAULT_METRICS_DIR)) return null;
  return parseMetricFiles(readMetricDir(dir ?? DEFAULT_METRICS_DIR));
}

/**
 * Serves `tributary metrics` in the running process: on the files the command sent (synced into
 * the registry here, through the writer), or, sent none, on the definitions loaded at start.
 */
export function metricsHandler(
  warehouse: { metricsStore(): MetricsBackend },
  own: () => Metrics | null,
): NonNullable<ControlHandlers['metrics']> {
  return async (request) => {
    const metrics =
      request.files === null
        ? own()
        : await Metrics.loadFiles(warehouse.metricsStore(), request.files, { user: request.user });
    if (!metrics)
      throw new TributaryError('USAGE', 'this tributary run serves no metrics', {
        hint: 'start it with --metrics <dir> (or metrics: { dir } in its config file)',
      });
    return runMetricsOperation(metrics, request.operation);
  };
}
