/**
 * The metrics that can be queried: every version in the registry, the files' current
 * definitions being the newest. Resolves `name` (the newest version) and `name@v`, applying a
 * version's deprecation (declared in the current file: before its date a query warns; from the
 * date on, UTC, its policy: `warn` goes on warning, `refuse` refuses, `latest` answers with the
 * newest version). Built only from metrics whose references all resolve, without a cycle, and
 * whose grains and dimensions each input allows.
 */
import { TributaryError } from '../core/errors.js';
import type { MetricSource } from './metric-files.js';
import { MetricSchema, type MetricSpec, referencesOf, splitRef } from './metric-spec.js';
import type { RegisteredVersion } from './registry.js';

export interface ResolvedMetric {
  readonly spec: MetricSpec;
  /** The newest version of the metric. */
  readonly latest: number;
  /** Deprecation warnings met on the way (this version's, and its inputs'). */
  readonly warnings: readonly string[];
}

export class MetricCatalog {
  readonly #versions: ReadonlyMap<string, ReadonlyMap<number, MetricSpec>>;
  readonly #current: ReadonlyMap<string, MetricSpec>;
  readonly #files: ReadonlyMap<string, string>;

  private constructor(
    versions: Map<string, Map<number, MetricSpec>>,
    current: Map<string, MetricSpec>,
    files: Map<string, string>,
  ) {
    this.#versions = versions;
    this.#current = current;
    this.#files = files;
  }

  /** From the files (their current definitions) and the registry (every version, after the sync). */
  static build(sources: readonly MetricSource[], registered: readonly RegisteredVersion[]): MetricCatalog {
    const versions = new Map<string, Map<number, MetricSpec>>();
    for (const v of registered) {
      const parsed = MetricSchema.safeParse(v.definition);
      if (!parsed.success) continue; // a version an older Tributary registered and this one cannot read
      const of = versions.get(v.name) ?? new Map<number, MetricSpec>();
      of.set(v.version, parsed.data);
      versions.set(v.name, of);
    }
    const current = new Map<string, MetricSpec>();
    const files = new Map<string, string>();
    for (const { file, spec } of sources) {
      const of = versions.get(spec.name) ?? new Map<number, MetricSpec>();
      of.set(spec.version, spec);
      versions.set(spec.name, of);
      current.set(spec.name, spec);
      files.set(spec.name, file);
    }
    for (const [name, of] of versions)
      if (!current.has(name)) current.set(name, of.get(Math.max(...of.keys())) as MetricSpec);
    const catalog = new MetricCatalog(versions, current, files);
    catalog.#checkReferences(sources);
    return catalog;
  }

  /** The newest definition of every metric, by name. */
  list(): MetricSpec[] {
    return [...this.#current.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  fileOf(name: string): string | null {
    return this.#files.get(name) ?? null;
  }

  versionsOf(name: string): number[] {
    return [...(this.#versions.get(name)?.keys() ?? [])].sort((a, b) => a - b);
  }

  /** `revenue` or `revenue@2` as a caller asks for it: USAGE errors for what does not exist or is refused. */
  resolve(ref: string, now: Date): ResolvedMetric {
    const parts = splitRef(ref);
    if (!parts)
      throw new TributaryError('USAGE', `not a metric name: ${JSON.stringify(ref)}`, {
        hint: 'a metric name, optionally with @version (revenue, revenue@2); `tributary metrics list` shows them',
      });
    const of = this.#versions.get(parts.name);
    const current = this.#current.get(parts.name);
    if (!of || !current)
      throw new TributaryError('USAGE', `no metric named ${parts.name}`, {
        hint: `known: ${[...this.#current.keys()].sort().join(', ') || '(none)'}`,
      });
    const latest = current.version;
    if (parts.version === null || parts.version === latest) return { spec: current, latest, warnings: [] };
    const spec = of.get(parts.version);
    if (!spec)
      throw new TributaryError('USAGE', `${parts.name} has no version ${parts.version}`, {
        hint: `versions: ${this.versionsOf(parts.name).join(', ')}`,
      });
    const deprecation = current.deprecations?.find((d) => d.version === parts.version);
    if (!deprecation) return { spec, latest, warnings: [] };
    const passed = now.getTime() >= Date.parse(`${deprecation.date}T00:00:00Z`);
    const label = `${parts.name}@${parts.version}`;
    if (!passed)
      return {
        spec,
        latest,
        warnings: [
          `${label} is deprecated: from ${deprecation.date} ${POLICY[deprecation.after]}; use ${parts.name}@${latest} (or ${parts.name})`,
        ],
      };
    if (deprecation.after === 'refuse')
      throw new TributaryError(
        'USAGE',
        `${label} was deprecated on ${deprecation.date} and is no longer served`,
        {
          hint: `query ${parts.name} (version ${latest})`,
        },
      );
    if (deprecation.after === 'latest')
      return {
        spec: current,
        latest,
        warnings: [`${label} was deprecated on ${deprecation.date}: answered with ${parts.name}@${latest}`],
      };
    return {
      spec,
      latest,
      warnings: [`${label} was deprecated on ${deprecation.date}; use ${parts.name}@${latest}`],
    };
  }

  /** Every current metric's references resolve, form no cycle, and allow the metric's grains and dimensions. */
  #checkReferences(sources: readonly MetricSource[]): void {
    const problems: string[] = [];
    const where = (name: string) => this.#files.get(name) ?? `${name} (registry)`;
    for (const { spec } of sources) {
      for (const ref of referencesOf(spec)) {
        const input = this.#lookup(ref);
        if (typeof input === 'string') {
          problems.push(`${where(spec.name)}: ${spec.name} reads ${ref}: ${input}`);
          continue;
        }
        for (const grain of spec.grains)
          if (!input.grains.includes(grain))
            problems.push(
              `${where(spec.name)}: grains: ${grain} is not allowed by its input ${ref} (${input.grains.join(', ')})`,
            );
        for (const dim of spec.dimensions)
          if (!input.dimensions.includes(dim))
            problems.push(
              `${where(spec.name)}: dimensions: ${dim} is not allowed by its input ${ref} (${input.dimensions.join(', ') || 'none'})`,
            );
      }
    }
    const cycle = this.#findCycle();
    if (cycle)
      problems.push(
        `${where(cycle[0] as string)}: the metrics read each other in a cycle: ${cycle.join(' → ')}`,
      );
    if (problems.length > 0)
      throw new TributaryError(
        'CONFIG',
        `the metric definitions have ${problems.length} problem(s):\n  ${problems.join('\n  ')}`,
      );
  }

  #lookup(ref: string): MetricSpec | string {
    const parts = splitRef(ref);
    if (!parts) return 'not a metric name';
    const of = this.#versions.get(parts.name);
    if (!of) return 'no metric of that name';
    if (parts.version === null) return this.#current.get(parts.name) as MetricSpec;
    return (
      of.get(parts.version) ??
      `no version ${parts.version} (versions: ${this.versionsOf(parts.name).join(', ')})`
    );
  }

  /** A cycle among the metrics' references (each version a node), as the names along it; null when none. */
  #findCycle(): string[] | null {
    const state = new Map<string, 'open' | 'done'>();
    const label = (s: MetricSpec) => `${s.name}@${s.version}`;
    const visit = (spec: MetricSpec, path: string[]): string[] | null => {
      const id = label(spec);
      if (state.get(id) === 'done') return null;
      if (state.get(id) === 'open')
        return [...path.slice(path.indexOf(id)), id].map((n) => n.replace(/@\d+$/, ''));
      state.set(id, 'open');
      for (const ref of referencesOf(spec)) {
        const input = this.#lookup(ref);
        if (typeof input === 'string') continue;
        const found = visit(input, [...path, id]);
        if (found) return found;
      }
      state.set(id, 'done');
      return null;
    };
    for (const spec of this.#current.values()) {
      const found = visit(spec, []);
      if (found) return found;
    }
    return null;
  }
}

const POLICY: Readonly<Record<'warn' | 'refuse' | 'latest', string>> = {
  warn: 'queries of it keep answering with a warning',
  refuse: 'queries of it are refused',
  latest: 'queries of it are answered with the newest version',
};
