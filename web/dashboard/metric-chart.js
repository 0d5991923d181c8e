/**
 * The metric chart: pick a metric (`/api/metrics`), one of its dimensions and grains (from its
 * definition, `/api/metrics/<name>`), a date range, and see one line per value of the dimension
 * (`/api/metrics/<name>/query`). Periods are drawn on a UTC axis so the labels read as the
 * periods the server names (which are in the metric's time zone).
 */
import { el, replace } from './dom.js';
import { formatCount } from './format.js';

const COLOURS = ['#0b5cad', '#cf222e', '#0a7d6d', '#9a6700', '#6f42c1', '#bf3989', '#57606a', '#1a7f37'];
const MAX_SERIES = 12;
const DAY = 86_400;
const MONTH = 30 * DAY; // uPlot's own month and year tick spacings, which it splits on calendar boundaries
const YEAR = 365 * DAY;
/** Tick spacings (seconds) by grain, so a daily metric's axis names days, not hours. */
const TICKS = {
  day: [DAY, 2 * DAY, 3 * DAY, 7 * DAY, 15 * DAY, MONTH, 2 * MONTH, 3 * MONTH, 6 * MONTH, YEAR],
  week: [7 * DAY, 15 * DAY, MONTH, 2 * MONTH, 3 * MONTH, 6 * MONTH, YEAR],
  month: [MONTH, 2 * MONTH, 3 * MONTH, 6 * MONTH, YEAR],
  quarter: [3 * MONTH, 6 * MONTH, YEAR],
  year: [YEAR, 2 * YEAR, 5 * YEAR, 10 * YEAR],
};

/** The one series' name without a dimension. */
const TOTAL = 'value';

export class MetricChart {
  #api;
  #form;
  #note;
  #container;
  #plot = null;

  constructor(api, form, note, container) {
    this.#api = api;
    this.#form = form;
    this.#note = note;
    this.#container = container;
    this.#field('metric-name').addEventListener('change', () => void this.#describe());
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#query();
    });
    const to = new Date(Date.now() + 86_400_000);
    this.#field('metric-to').value = isoDate(to);
    this.#field('metric-from').value = isoDate(new Date(to.getTime() - 30 * 86_400_000));
  }

  #field(id) {
    return this.#form.querySelector(`#${id}`);
  }

  /** Lists the metrics served (again after a token was given). */
  async start() {
    try {
      const metrics = await this.#api.getJson('/api/metrics');
      const list = Array.isArray(metrics) ? metrics : (metrics.metrics ?? []);
      if (list.length === 0) return this.#say('no metric is defined (see tributary metrics)');
      this.#form.hidden = false;
      replace(
        this.#field('metric-name'),
        ...list.map((m) => el('option', { value: m.name }, `${m.name}@${m.version}`)),
      );
      this.#say('');
      await this.#describe();
    } catch (error) {
      this.#form.hidden = true;
      this.#say(error.hint ? `${error.message}: ${error.hint}` : error.message);
    }
  }

  async #describe() {
    const name = this.#field('metric-name').value;
    if (!name) return;
    try {
      const shown = await this.#api.getJson(`/api/metrics/${encodeURIComponent(name)}`);
      const definition = shown.definition ?? {};
      const grains = definition.grains ?? ['day'];
      const grain = this.#field('metric-grain');
      replace(grain, ...grains.map((g) => el('option', { value: g, selected: g === 'day' }, g)));
      replace(
        this.#field('metric-by'),
        el('option', { value: '' }, '(none)'),
        ...(definition.dimensions ?? []).map((d) => el('option', { value: d }, d)),
      );
      this.#say(definition.description ?? '');
      await this.#query();
    } catch (error) {
      this.#say(error.message);
    }
  }

  async #query() {
    const name = this.#field('metric-name').value;
    if (!name) return;
    const by = this.#field('metric-by').value;
    const params = new URLSearchParams({
      grain: this.#field('metric-grain').value,
      from: this.#field('metric-from').value,
      to: this.#field('metric-to').value,
    });
    if (by) params.set('by', by);
    try {
      const result = await this.#api.getJson(`/api/metrics/${encodeURIComponent(name)}/query?${params}`);
      this.#draw(result.rows ?? [], by, params.get('grain'));
    } catch (error) {
      this.#say(error.hint ? `${error.message} (${error.hint})` : error.message);
    }
  }

  #draw(rows, by, grain) {
    const periods = [...new Set(rows.map((r) => r.period))].sort();
    const keys = [...new Set(rows.map((r) => (by ? String(r[by] ?? 'NULL') : TOTAL)))].sort();
    const shownKeys = keys.slice(0, MAX_SERIES);
    const index = new Map(periods.map((p, i) => [p, i]));
    const series = shownKeys.map(() => periods.map(() => null));
    for (const row of rows) {
      const s = shownKeys.indexOf(by ? String(row[by] ?? 'NULL') : TOTAL);
      if (s === -1) continue;
      series[s][index.get(row.period)] = row.value === null ? null : Number(row.value);
    }
    this.#plot?.destroy();
    this.#container.hidden = false;
    this.#plot = new uPlot(
      {
        width: Math.max(this.#container.clientWidth, 200),
        height: 240,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
        series: [
          {},
          ...shownKeys.map((key, i) => ({
            label: key,
            stroke: COLOURS[i % COLOURS.length],
            width: 2,
            points: { show: true },
            value: (_u, v) => (v === null ? '–' : formatCount(v)),
          })),
        ],
        axes: [
          { incrs: TICKS[grain] ?? undefined },
          { values: (_u, ticks) => ticks.map((v) => formatCount(v)), size: 70 },
        ],
      },
      [periods.map(periodSeconds), ...series],
      this.#container,
    );
    this.#container.dataset.points = String(periods.length);
    this.#container.dataset.series = String(shownKeys.length);
    if (keys.length > MAX_SERIES) this.#say(`showing ${MAX_SERIES} of ${keys.length} values of ${by}`);
    else if (rows.length === 0) this.#say('no data in this range');
  }

  #say(text) {
    this.#note.textContent = text;
  }
}

function isoDate(date) {
  return date.toISOString().slice(0, 10);
}

/** "2026-03-01" or "2026-03-01T10:00" as seconds, read as UTC (see tzDate above). */
function periodSeconds(period) {
  const text = String(period);
  return Date.parse(text.length <= 10 ? `${text}T00:00Z` : `${text}Z`) / 1000;
}
