/**
 * Reads a models directory: every `*.sql` file is one model, named by its file stem (lower-case
 * letters, digits and _, not starting with a digit), its header parsed (model-header.ts) and
 * its SQL parsed by DuckDB for the relations it reads (model-refs.ts). A file that is not one
 * SELECT, a bad name, or a malformed header is a CONFIG error (exit 2) naming the file.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { TributaryError } from '../core/errors.js';
import { MODEL_NAME, type ModelSource } from './model-graph.js';
import { parseModelHeader } from './model-header.js';
import { parseModelSql } from './model-refs.js';

export async function readModelFiles(dir: string): Promise<ModelSource[]> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new TributaryError('CONFIG', `no models directory at ${dir}`, {
      hint: 'pass --models <dir>, or set models: { dir: ... } in the config file',
    });
  }
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  const instance = await DuckDBInstance.create(':memory:');
  try {
    const connection = await instance.connect();
    const out: ModelSource[] = [];
    for (const f of files) {
      const file = join(dir, f);
      const name = basename(f, '.sql');
      if (!MODEL_NAME.test(name)) {
        throw new TributaryError('CONFIG', `${file}: "${name}" is not a model name`, {
          hint: 'name model files with lower-case letters, digits and _, not starting with a digit (orders_net.sql)',
        });
      }
      const sql = readFileSync(file, 'utf8');
      const header = parseModelHeader(file, sql);
      const parsed = await parseModelSql(connection, sql);
      if (!parsed.ok) throw new TributaryError('CONFIG', `${file}: ${parsed.problem}`);
      out.push({ name, file, sql, header, refs: parsed.refs });
    }
    return out;
  } finally {
    instance.closeSync();
  }
}

/** The SQL to materialise: as written, without a closing semicolon (it is wrapped in CREATE ... AS). */
export function modelBody(sql: string): string {
  return sql.replace(/;\s*$/, '');
}
