/**
 * The time charts (uPlot, loaded by index.html as the global `uPlot`): end-to-end lag, the
 * slot's WAL (not confirmed, retained, and the alert threshold as a dashed line when one is
 * set), and throughput. Each keeps at most MAX_POINTS samples of `/api/lag` and writes its point
 * count to the container's `data-points`, which tests read.
 */
import { formatBytes, formatCount, formatSeconds } from './format.js';

const MAX_POINTS = 720;
const HEIGHT = 180;

/** A uPlot line chart over time in `container`, sized to it; its y axis reaches at least `minTop`. */
export function timeChart(container, series, formatValue, minTop) {
  const axisValues = (_u, ticks) => ticks.map((v) => formatValue(v));
  const plot = new uPlot(
    {
      width: Math.max(container.clientWidth, 200),
      height: HEIGHT,
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.stroke,
          width: 2,
          ...(s.dash ? { dash: s.dash } : {}),
          ...(s.fill ? { fill: s.fill } : {}),
          spanGaps: false,
          value: (_u, v) => (v === null || v === undefined ? '–' : formatValue(v)),
        })),
      ],
      axes: [{}, { values: axisValues, size: 70 }],
      // from 0, and never so flat that a quiet pipeline's zeros read as a scale of nothing
      scales: { y: { range: (_u, min, max) => [Math.min(0, min ?? 0), Math.max((max ?? 0) * 1.1, minTop)] } },
      legend: { live: true },
    },
    [[], ...series.map(() => [])],
    container,
  );
  new ResizeObserver(() =>
    plot.setSize({ width: Math.max(container.clientWidth, 200), height: HEIGHT }),
  ).observe(container);
  return plot;
}

export class LagCharts {
  #samples = [];
  #threshold = null;
  #lag;
  #slot;
  #rate;

  constructor(lag, slot, rate) {
    this.#lag = lag;
    this.#slot = slot;
    this.#rate = rate;
    this.lagPlot = timeChart(
      lag,
      [{ label: 'lag', stroke: '#0b5cad', fill: 'rgba(11,92,173,0.08)' }],
      formatSeconds,
      1,
    );
    this.slotPlot = timeChart(
      slot,
      [
        { label: 'not confirmed', stroke: '#6f42c1' },
        { label: 'retained', stroke: '#0a7d6d' },
        { label: 'alert threshold', stroke: '#cf222e', dash: [6, 4] },
      ],
      formatBytes,
      1024,
    );
    this.ratePlot = timeChart(rate, [{ label: 'changes/s', stroke: '#9a6700' }], formatCount, 1);
    this.slotPlot.setSeries(3, { show: false });
  }

  /** The newest sample's time (ISO), for `/api/lag?since=`. */
  get newestAt() {
    return this.#samples.at(-1)?.at ?? null;
  }

  /** Adds samples newer than those held, oldest first. */
  add(samples) {
    const newest = this.#samples.at(-1)?.at;
    const fresh = newest ? samples.filter((s) => Date.parse(s.at) > Date.parse(newest)) : samples;
    if (fresh.length === 0) return;
    this.#samples.push(...fresh);
    if (this.#samples.length > MAX_POINTS) this.#samples.splice(0, this.#samples.length - MAX_POINTS);
    this.#draw();
  }

  /** The WAL retained alert threshold in bytes, or null for none. */
  setThreshold(bytes) {
    const value = typeof bytes === 'number' && Number.isFinite(bytes) ? bytes : null;
    if (value === this.#threshold) return;
    this.#threshold = value;
    this.slotPlot.setSeries(3, { show: value !== null });
    this.#draw();
  }

  #draw() {
    const s = this.#samples;
    const x = s.map((p) => Date.parse(p.at) / 1000);
    this.lagPlot.setData([x, s.map((p) => p.lagSeconds)]);
    this.slotPlot.setData([
      x,
      s.map((p) => p.slotLagBytes),
      s.map((p) => p.slotRetainedBytes),
      s.map(() => this.#threshold),
    ]);
    this.ratePlot.setData([x, s.map((p) => p.changesPerSecond)]);
    for (const el of [this.#lag, this.#slot, this.#rate]) el.dataset.points = String(s.length);
    this.#slot.dataset.threshold = this.#threshold === null ? '' : String(this.#threshold);
  }
}
