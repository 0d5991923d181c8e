/**
 * The dashboard page: polls the JSON API every POLL_MS (status, lag history, tables, checks,
 * backfills, alerts), follows the change feed over SSE, and asks for the token when the server
 * answers 401. A route the server does not have (an older Tributary) is replaced by what
 * `/api/status` holds, where it holds it.
 */
import { Api } from './api.js';
import { LagCharts } from './charts.js';
import { Feed } from './feed.js';
import { parseTime } from './format.js';
import { healthOf, showHealth } from './health.js';
import { MetricChart } from './metric-chart.js';
import { drawBackfills, drawChecks, drawTables, panel } from './panels.js';

const POLL_MS = 2000;

const $ = (id) => document.getElementById(id);

const api = new Api();
const charts = new LagCharts($('chart-lag'), $('chart-slot'), $('chart-rate'));
const tables = panel($('tables'), drawTables);
const checks = panel($('checks'), drawChecks);
const backfills = panel($('backfills'), drawBackfills);
const feed = new Feed(api, $('feed'), $('feed-state'));
const metric = new MetricChart(api, $('metric-form'), $('metric-note'), $('chart-metric'));

let timer = null;
let round = 0;

/** One round of polling; a route that fails alone leaves its panel as it was. */
async function poll() {
  clearTimeout(timer);
  const mine = ++round;
  const since = charts.newestAt;
  const [status, lag, tableList, checkList, jobs, alerts] = await Promise.allSettled([
    api.getJson('/api/status'),
    api.getJson(since ? `/api/lag?since=${encodeURIComponent(since)}` : '/api/lag'),
    api.getJson('/api/tables'),
    api.getJson('/api/checks'),
    api.getJson('/api/backfills'),
    api.getJson('/api/alerts'),
  ]);
  const s = status.status === 'fulfilled' ? status.value : null;
  const missing = (r) => r.status === 'rejected' && r.reason?.status === 404;
  showProblem(status.status === 'rejected' ? status.reason : null);

  if (lag.status === 'fulfilled') charts.add(lag.value.samples ?? []);
  else if (missing(lag) && s) charts.add([sampleOf(s)]);
  const thresholds = alerts.status === 'fulfilled' ? alerts.value.thresholds : null;
  charts.setThreshold(thresholds?.walRetainedBytes ?? null);
  showAlerts(alerts.status === 'fulfilled' ? (alerts.value.open ?? []) : []);

  if (tableList.status === 'fulfilled') tables(tableList.value.tables ?? []);
  else if (missing(tableList) && s) tables((s.tables ?? []).map(withAge));
  const checkResults =
    checkList.status === 'fulfilled' ? (checkList.value.checks ?? []) : missing(checkList) ? s?.checks : null;
  if (checkResults) checks(checkResults);
  if (jobs.status === 'fulfilled') backfills(jobs.value.jobs ?? []);
  else if (missing(jobs) && s) backfills(s.snapshots ?? []);

  showHealth(
    $('health'),
    s,
    healthOf(s, alerts.status === 'fulfilled' ? alerts.value.open : [], checkResults ?? s?.checks ?? []),
  );
  if (mine !== round) return; // a newer round (after the token was given) goes on
  if (status.status === 'rejected' && status.reason?.status === 401) return; // waits for the token
  timer = setTimeout(poll, POLL_MS);
}

/** A point of the lag history from a status (a server without `/api/lag`). */
function sampleOf(s) {
  return {
    at: new Date().toISOString(),
    lagSeconds: s.endToEndLagSeconds ?? null,
    slotLagBytes: s.slotLagBytes ?? null,
    slotRetainedBytes: s.slotRetainedBytes ?? null,
    changesPerSecond: s.changesPerSecond ?? 0,
  };
}

function withAge(t) {
  const last = parseTime(t.lastChange);
  return { ...t, ageSeconds: last === null ? null : (Date.now() - last) / 1000 };
}

function showProblem(error) {
  const p = $('problem');
  const text =
    error === null
      ? ''
      : error.status === 401
        ? 'This server needs its token.'
        : error.status
          ? `The server answered ${error.status}: ${error.message}`
          : `The server does not answer (${error.message}); trying again every ${POLL_MS / 1000} s.`;
  p.textContent = text;
  p.hidden = text === '';
}

function showAlerts(open) {
  const list = $('alerts');
  list.replaceChildren(
    ...open.map((a) => {
      const li = document.createElement('li');
      li.dataset.alert = a.alert;
      li.textContent = `ALERT ${a.alert}: ${a.message}`;
      return li;
    }),
  );
}

api.onUnauthorized(() => {
  const form = $('token-form');
  if (!form.hidden) return;
  form.hidden = false;
  $('token-input').focus();
});

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('token-input');
  api.token = input.value.trim();
  input.value = '';
  $('token-form').hidden = true;
  void start();
});

async function start() {
  void poll();
  void feed.start();
  void metric.start();
}

void start();
