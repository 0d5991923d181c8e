/** Types for parse-prometheus-text-format (it ships none): prom2json's output shape. */
declare module 'parse-prometheus-text-format' {
  export interface PrometheusSample {
    readonly labels?: Record<string, string>;
    /** Counters and gauges. */
    readonly value?: string;
    /** Histograms: cumulative counts by upper bound (`le`). */
    readonly buckets?: Record<string, string>;
    readonly count?: string;
    readonly sum?: string;
  }
  export interface PrometheusFamily {
    readonly name: string;
    readonly help: string;
    readonly type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
    readonly metrics: readonly PrometheusSample[];
  }
  export default function parsePrometheusTextFormat(text: string): PrometheusFamily[];
}
