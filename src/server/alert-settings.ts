/**
 * The config file's `alerts:` section, and the alert settings of `run`:
 *
 *   alerts:
 *     webhook: https://hooks.example.com/tributary   # optional; else TRIBUTARY_ALERT_WEBHOOK
 *     walRetainedBytes: 10GB     # a number of bytes, or with a unit: kB MB GB TB (1024-based)
 *     lagSeconds: 300            # seconds, or a duration such as 5m
 *     checks: true               # an error-severity check failing → alert (default true)
 *
 * Alerts are on when the file has `alerts:` or TRIBUTARY_ALERT_WEBHOOK is set (then with only
 * the check alerts, unless the file gives thresholds).
 */
import bytes from 'bytes';
import { z } from 'zod';
import { DURATION_PATTERN, parseDuration } from '../core/duration.js';
import { TributaryError } from '../core/errors.js';
import type { AlertThresholds } from './alerts.js';

const webhook = z
  .string()
  .refine(
    (text) => isHttpUrl(text),
    'an http:// or https:// URL such as https://hooks.example.com/tributary',
  );

const byteSize = z.union([
  z.number().int('a whole number of bytes').positive('more than 0 bytes'),
  z
    .string()
    .refine(
      (text) => /^\s*\d+(\.\d+)?\s*(b|kb|mb|gb|tb|pb)?\s*$/i.test(text) && (bytes.parse(text) ?? 0) > 0,
      'a size such as 10GB, 512MB or a number of bytes',
    ),
]);

const seconds = z.union([
  z.number().positive('more than 0 seconds'),
  z.string().regex(DURATION_PATTERN, 'a number of seconds, or a duration such as 30s or 5m'),
]);

export const AlertsSchema = z
  .object({
    webhook: webhook.optional(),
    walRetainedBytes: byteSize.optional(),
    lagSeconds: seconds.optional(),
    checks: z.boolean().optional(),
  })
  .strict();

export type AlertsConfig = z.infer<typeof AlertsSchema>;

export interface AlertSettings {
  readonly thresholds: AlertThresholds;
  readonly webhook: string | null;
}

/** The alerts `run` keeps, or null when none are asked for. */
export function alertSettings(
  config: AlertsConfig | undefined,
  env: NodeJS.ProcessEnv = process.env,
): AlertSettings | null {
  const fromEnv = env.TRIBUTARY_ALERT_WEBHOOK || undefined;
  if (fromEnv !== undefined && !isHttpUrl(fromEnv))
    throw new TributaryError('CONFIG', 'TRIBUTARY_ALERT_WEBHOOK is not an http:// or https:// URL', {
      hint: 'set it to the URL alerts are posted to, such as https://hooks.example.com/tributary',
    });
  if (config === undefined && fromEnv === undefined) return null;
  const size = config?.walRetainedBytes;
  const lag = config?.lagSeconds;
  return {
    thresholds: {
      walRetainedBytes:
        size === undefined ? null : typeof size === 'number' ? size : (bytes.parse(size) ?? null),
      lagSeconds: lag === undefined ? null : typeof lag === 'number' ? lag : parseDuration(lag) / 1000,
      checks: config?.checks ?? true,
    },
    webhook: config?.webhook ?? fromEnv ?? null,
  };
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
