/**
 * How the dashboard writes numbers: bytes in binary units, durations in s/min/h, counts with
 * thousands separators, instants as local time with the age beside them. A missing value is "–".
 */

const DASH = '–';
const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 → "1.5 KiB". */
export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined || !Number.isFinite(Number(bytes))) return DASH;
  let value = Number(bytes);
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || Math.abs(value) >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${BYTE_UNITS[unit]}`;
}

/** 0.25 → "0.25 s", 95 → "1.6 min", 7200 → "2.0 h", 200000 → "2.3 d". */
export function formatSeconds(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) return DASH;
  const s = Number(seconds);
  const abs = Math.abs(s);
  if (abs < 1) return `${s.toFixed(2)} s`;
  if (abs < 60) return `${s.toFixed(abs < 10 ? 1 : 0)} s`;
  if (abs < 3600) return `${(s / 60).toFixed(1)} min`;
  if (abs < 86_400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} d`;
}

const COUNT = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

/** 1234567 → "1,234,567" (in the reader's locale). */
export function formatCount(n) {
  if (n === null || n === undefined || !Number.isFinite(Number(n))) return DASH;
  return COUNT.format(Number(n));
}

/** Parses what the API sends as a time: ISO, or DuckDB's "2026-11-22 02:42:24.123+00". */
export function parseTime(text) {
  if (!text) return null;
  let iso = String(text).replace(' ', 'T');
  if (/[+-]\d\d$/.test(iso)) iso += ':00';
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

/** An instant as the reader's local date and time, to the second. */
export function formatTime(text) {
  const ms = parseTime(text);
  if (ms === null) return text ? String(text) : DASH;
  return new Date(ms).toLocaleString(undefined, {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

/** An instant's time of day, with milliseconds (the live feed). */
export function formatClock(text) {
  const ms = parseTime(text);
  if (ms === null) return DASH;
  const d = new Date(ms);
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** A key as "id=42, region=eu" (values as the API sent them, strings unquoted). */
export function formatKey(key) {
  if (!key) return DASH;
  return Object.entries(key)
    .map(([column, value]) => `${column}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(', ');
}

/** A cell of a sample row: strings as they are, everything else as JSON, null as "NULL". */
export function formatCell(value) {
  if (value === null || value === undefined) return 'NULL';
  return typeof value === 'string' ? value : JSON.stringify(value);
}
