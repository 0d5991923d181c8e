/**
 * The panels filled by polling: per-table freshness (`/api/tables`), check results with their
 * failing samples (`/api/checks`, each an expandable row that stays open across refreshes) and
 * snapshot/backfill progress (`/api/backfills`). Each panel is redrawn only when its data changed.
 */
import { el, replace } from './dom.js';
import { formatCell, formatCount, formatSeconds, formatTime } from './format.js';

const STATUS_TEXT = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', error: 'ERROR' };

/** Redraws `container` with `draw(data)` when `data` differs from last time. */
export function panel(container, draw) {
  let last = null;
  return (data) => {
    const json = JSON.stringify(data);
    if (json === last) return;
    last = json;
    draw(container, data);
  };
}

export function drawTables(table, tables) {
  const body = table.tBodies[0];
  if (tables.length === 0) {
    replace(body, el('tr', {}, el('td', { colSpan: 8, className: 'empty' }, 'no table replicated yet')));
    return;
  }
  replace(
    body,
    ...tables.map((t) => {
      const applied = t.applied ?? {};
      return el(
        'tr',
        { data: { table: t.table } },
        el('th', { scope: 'row' }, t.table),
        el('td', { className: 'num' }, formatCount(t.rows)),
        el('td', {}, formatTime(t.lastChange)),
        el('td', { className: 'num' }, formatSeconds(t.ageSeconds)),
        ...['insert', 'update', 'delete', 'truncate'].map((op) =>
          el('td', { className: 'num' }, formatCount(applied[op] ?? 0)),
        ),
      );
    }),
  );
}

export function drawChecks(container, checks) {
  if (checks.length === 0) {
    replace(container, el('p', { className: 'empty' }, 'no check has run yet'));
    return;
  }
  const open = new Set(
    [...container.querySelectorAll('details[open]')].map((d) => d.dataset.check).filter(Boolean),
  );
  replace(
    container,
    ...checks.map((c) =>
      el(
        'details',
        { data: { check: c.name, status: c.status }, open: open.has(c.name), className: `check ${c.status}` },
        el(
          'summary',
          {},
          el('span', { className: `badge ${c.status}` }, STATUS_TEXT[c.status] ?? c.status),
          el('strong', {}, c.name),
          el('span', { className: 'muted' }, ` ${c.type}, ${c.severity}`),
          el('span', { className: 'message' }, c.message),
          el('time', { className: 'muted', dateTime: c.finishedAt ?? '' }, formatTime(c.finishedAt)),
        ),
        checkDetails(c),
      ),
    ),
  );
}

function checkDetails(check) {
  // the API sends the newest first; drawn oldest first, so the newest is on the right
  const history = [...(check.history ?? [])]
    .reverse()
    .map((h) =>
      el(
        'span',
        { className: `mark ${h.status}`, title: `${h.status} at ${formatTime(h.finishedAt)}` },
        h.status[0],
      ),
    );
  const sample = Array.isArray(check.sample) && check.sample.length > 0 ? sampleTable(check.sample) : null;
  return el(
    'div',
    { className: 'check-body' },
    history.length > 0 ? el('p', { className: 'history' }, 'recent runs, newest last: ', ...history) : null,
    check.observed ? el('pre', { className: 'observed' }, JSON.stringify(check.observed, null, 1)) : null,
    sample ??
      el('p', { className: 'muted' }, check.sample === undefined ? 'no sample served' : 'no failing rows'),
  );
}

function sampleTable(rows) {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  return el(
    'table',
    { className: 'sample' },
    el('caption', {}, `failing rows (sample of ${rows.length})`),
    el('thead', {}, el('tr', {}, ...columns.map((c) => el('th', { scope: 'col' }, c)))),
    el(
      'tbody',
      {},
      ...rows.map((row) =>
        el(
          'tr',
          {},
          ...columns.map((c) => el('td', { className: row[c] === null ? 'null' : '' }, formatCell(row[c]))),
        ),
      ),
    ),
  );
}

/** Jobs still to finish first, then the latest others. */
const RECENT_DONE = 8;

export function drawBackfills(container, jobs) {
  const live = jobs.filter((j) => j.state !== 'done' && j.state !== 'failed' && j.state !== 'cancelled');
  const ended = jobs
    .filter((j) => !live.includes(j))
    .slice(-RECENT_DONE)
    .reverse();
  const shown = [...live, ...ended];
  if (shown.length === 0) {
    replace(container, el('p', { className: 'empty' }, 'no job yet'));
    return;
  }
  replace(container, ...shown.map(job));
}

function job(j) {
  const estimate = j.rowsEstimated && j.rowsEstimated > 0 ? j.rowsEstimated : null;
  const done = j.state === 'done';
  const max = estimate ?? (done ? Math.max(j.rows, 1) : null);
  const value = done ? max : Math.min(j.rows, max ?? j.rows);
  const percent = max ? Math.round((100 * value) / max) : null;
  const bar = el('progress', { ...(max ? { max, value } : {}) });
  bar.setAttribute('aria-label', `${j.table}: ${percent === null ? 'progress unknown' : `${percent}%`}`);
  const facts = [
    done || estimate
      ? `${formatCount(j.rows)}${estimate ? ` of ~${formatCount(estimate)}` : ''} rows`
      : `${formatCount(j.rows)} rows (no estimate yet)`,
    percent === null ? null : `${percent}%`,
    j.rowsPerSecond === undefined ? null : `${formatCount(j.rowsPerSecond)} rows/s`,
    j.etaSeconds === undefined || j.etaSeconds === null ? null : `ETA ${formatSeconds(j.etaSeconds)}`,
    j.chunks ? `chunks ${j.chunks}` : null,
  ].filter(Boolean);
  return el(
    'div',
    { className: `job ${j.state}`, data: { job: j.id, state: j.state } },
    el(
      'p',
      {},
      el('strong', {}, j.table),
      ' ',
      el('span', { className: `badge ${j.state}` }, j.state),
      j.predicate ? el('code', {}, ` WHERE ${j.predicate}`) : null,
      el('span', { className: 'muted' }, ` ${j.reason}`),
    ),
    bar,
    el('p', { className: 'muted' }, facts.join(' · ')),
    j.error ? el('p', { className: 'error' }, j.error) : null,
  );
}
