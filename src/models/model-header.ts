/**
 * A model file's settings: `-- key: value` lines in the comment block that opens the file, before
 * the first line of SQL. Free-text comment lines may sit among them (they must not start with a
 * `word:`); blank lines too. Every setting is optional:
 *
 *   -- materialized: table            view | table (default view)
 *   -- refresh: microbatch 5m         streaming | microbatch <duration> | nightly <cron> [time zone]
 *   -- freshness: 10m                 the declared target for `tributary models status`
 *   -- description: Orders net of refunds, one row per order
 *
 * `nightly` takes a cron pattern of 5 fields (minute hour day month weekday) or 6 (with seconds
 * first), then optionally an IANA time zone (`nightly 0 3 * * * Europe/Paris`); without one it is
 * UTC. Anything malformed is a CONFIG error (exit 2) naming the file and the line.
 */
import { Cron } from 'croner';
import { parseDuration } from '../core/duration.js';
import { TributaryError } from '../core/errors.js';

export type Refresh =
  | { readonly kind: 'streaming' }
  | { readonly kind: 'microbatch'; readonly everyMs: number; readonly every: string }
  | { readonly kind: 'nightly'; readonly cron: string; readonly timezone: string };

export type Materialized = 'view' | 'table';

export interface ModelHeader {
  readonly materialized: Materialized;
  readonly refresh: Refresh;
  /** The declared freshness target, as written and in milliseconds; null when none. */
  readonly freshness: string | null;
  readonly freshnessMs: number | null;
  readonly description: string | null;
}

const KEYS = ['materialized', 'refresh', 'freshness', 'description'] as const;
type Key = (typeof KEYS)[number];
const SETTING = /^--\s*([A-Za-z_]+)\s*:(.*)$/;

/** The header of `text` (the file `file`, for messages). */
export function parseModelHeader(file: string, text: string): ModelHeader {
  const found = new Map<Key, { value: string; line: number }>();
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '') continue;
    if (!line.startsWith('--')) break;
    const match = SETTING.exec(line);
    if (!match) continue;
    const key = (match[1] as string).toLowerCase();
    const at = `${file}:${i + 1}`;
    if (!(KEYS as readonly string[]).includes(key)) {
      throw new TributaryError('CONFIG', `${at}: unknown model setting "${match[1]}"`, {
        hint: `the settings are ${KEYS.join(', ')}; a free-text comment must not start with "word:"`,
      });
    }
    if (found.has(key as Key))
      throw new TributaryError('CONFIG', `${at}: "${key}" is set twice in the header`);
    found.set(key as Key, { value: (match[2] as string).trim(), line: i + 1 });
  }
  const at = (key: Key) => `${file}:${found.get(key)?.line}`;
  const materialized = found.get('materialized')?.value ?? 'view';
  if (materialized !== 'view' && materialized !== 'table') {
    throw new TributaryError(
      'CONFIG',
      `${at('materialized')}: materialized is view or table, not "${materialized}"`,
    );
  }
  const refreshText = found.get('refresh')?.value;
  const refresh = refreshText === undefined ? STREAMING : parseRefresh(refreshText, at('refresh'));
  const freshness = found.get('freshness')?.value ?? null;
  let freshnessMs: number | null = null;
  if (freshness !== null) {
    try {
      freshnessMs = parseDuration(freshness);
    } catch {
      throw new TributaryError(
        'CONFIG',
        `${at('freshness')}: freshness is a duration such as 30s, 10m or 1h, not "${freshness}"`,
      );
    }
  }
  const description = found.get('description')?.value || null;
  return { materialized, refresh, freshness, freshnessMs, description };
}

const STREAMING: Refresh = { kind: 'streaming' };

const REFRESH_HINT =
  'write refresh: streaming, refresh: microbatch 5m, or refresh: nightly 0 3 * * * [Europe/Paris]';

export function parseRefresh(text: string, at: string): Refresh {
  const [kind, ...rest] = text.split(/\s+/).filter((t) => t.length > 0);
  if (kind === 'streaming' && rest.length === 0) return STREAMING;
  if (kind === 'microbatch' && rest.length === 1) {
    const every = rest[0] as string;
    let everyMs: number;
    try {
      everyMs = parseDuration(every);
    } catch {
      throw new TributaryError(
        'CONFIG',
        `${at}: microbatch takes a duration such as 30s or 5m, not "${every}"`,
      );
    }
    if (everyMs <= 0) throw new TributaryError('CONFIG', `${at}: a microbatch interval must be above zero`);
    return { kind: 'microbatch', everyMs, every };
  }
  if (kind === 'nightly' && (rest.length === 5 || rest.length === 6 || rest.length === 7)) {
    const last = rest.at(-1) as string;
    const zoned = rest.length === 7 || (rest.length === 6 && isTimeZone(last));
    const cron = (zoned ? rest.slice(0, -1) : rest).join(' ');
    const timezone = zoned ? last : 'UTC';
    if (!isTimeZone(timezone))
      throw new TributaryError('CONFIG', `${at}: "${timezone}" is not a time zone`, {
        hint: 'name an IANA time zone such as UTC or Europe/Paris',
      });
    try {
      new Cron(cron, { paused: true, timezone }).stop();
    } catch (error) {
      throw new TributaryError(
        'CONFIG',
        `${at}: "${cron}" is not a cron pattern: ${(error as Error).message}`,
        { hint: REFRESH_HINT },
      );
    }
    return { kind: 'nightly', cron, timezone };
  }
  throw new TributaryError('CONFIG', `${at}: cannot read refresh "${text}"`, { hint: REFRESH_HINT });
}

/** Days and months in cron patterns are words too; a time zone is something else. */
const CRON_WORDS = /^(mon|tue|wed|thu|fri|sat|sun|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)$/i;

function isTimeZone(text: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+/-]*$/.test(text) || CRON_WORDS.test(text)) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: text });
    return true;
  } catch {
    return false;
  }
}

/** How a refresh setting reads back (`tributary models list`). */
export function describeRefresh(refresh: Refresh): string {
  switch (refresh.kind) {
    case 'streaming':
      return 'streaming';
    case 'microbatch':
      return `microbatch ${refresh.every}`;
    case 'nightly':
      return `nightly ${refresh.cron} ${refresh.timezone}`;
  }
}
