/**
 * Reads the metric files of a directory (`*.yml`, `*.yaml`; one metric per file) and validates
 * each with MetricSchema. Every problem of every file is reported at once, as a CONFIG error
 * (exit 2) naming the file and key: `metrics/revenue.yml: measure.agg: ...`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { TributaryError } from '../core/errors.js';
import { MetricSchema, type MetricSpec } from './metric-spec.js';

/** A metric file as read: where it is, and what it holds (raw until validated). */
export interface RawMetricFile {
  readonly file: string;
  readonly content: unknown;
}

export interface MetricSource {
  readonly file: string;
  readonly spec: MetricSpec;
}

export function readMetricDir(dir: string): RawMetricFile[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new TributaryError('CONFIG', `no metrics directory at ${dir}`, {
      hint: 'pass --metrics <dir>, or set metrics: { dir: ... } in the config file (default ./metrics)',
    });
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  const raw: RawMetricFile[] = [];
  const problems: string[] = [];
  for (const name of files) {
    const file = join(dir, name);
    try {
      raw.push({ file, content: parse(readFileSync(file, 'utf8')) });
    } catch (error) {
      problems.push(`${file}: not valid YAML: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  if (problems.length > 0) throw invalid(problems);
  return raw;
}

/** Validates raw metric files (read here, or sent to the running process). */
export function parseMetricFiles(raw: readonly RawMetricFile[]): MetricSource[] {
  const problems: string[] = [];
  const sources: MetricSource[] = [];
  const seen = new Map<string, string>();
  for (const { file, content } of raw) {
    const result = MetricSchema.safeParse(content ?? {});
    if (!result.success) {
      for (const issue of result.error.issues)
        problems.push(`${file}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
      continue;
    }
    const other = seen.get(result.data.name);
    if (other) {
      problems.push(`${file}: name: ${result.data.name} is already defined in ${other}`);
      continue;
    }
    seen.set(result.data.name, file);
    sources.push({ file, spec: result.data });
  }
  if (problems.length > 0) throw invalid(problems);
  return sources;
}

export function loadMetricDir(dir: string): MetricSource[] {
  return parseMetricFiles(readMetricDir(dir));
}

function invalid(problems: readonly string[]): TributaryError {
  return new TributaryError(
    'CONFIG',
    `the metric definitions have ${problems.length} problem(s):\n  ${problems.join('\n  ')}`,
    {
      hint: 'fix the files named (see the README, "Metrics", for the keys)',
    },
  );
}
