/**
 * Publications as the catalog shows them: the options Tributary creates them with, whether one
 * exists and how it is set up (pg_publication), and which tables it publishes
 * (pg_publication_tables, which expands FOR ALL TABLES and FOR TABLES IN SCHEMA, and lists
 * partitioned tables by their root when publish_via_partition_root is on).
 */
import type pg from 'pg';
import { sameTable, type TableRef } from '../../../core/table-ref.js';

export const PUBLICATION_OPTIONS =
  "publish = 'insert, update, delete, truncate', publish_via_partition_root = true";

export interface ExistingPublication {
  all_tables: boolean;
  pubinsert: boolean;
  pubupdate: boolean;
  pubdelete: boolean;
  pubtruncate: boolean;
  pubviaroot: boolean;
  owner: string;
}

export interface PublicationContext {
  role: string;
  database: string;
}

export function includes(tables: readonly TableRef[], table: TableRef): boolean {
  return tables.some((t) => sameTable(t, table));
}

export async function readPublication(
  client: pg.Client,
  name: string,
): Promise<ExistingPublication | undefined> {
  const { rows } = await client.query<ExistingPublication>(
    `SELECT puballtables AS all_tables, pubinsert, pubupdate, pubdelete, pubtruncate, pubviaroot,
            pg_get_userbyid(pubowner)::text AS owner
     FROM pg_publication WHERE pubname = $1`,
    [name],
  );
  return rows[0];
}

export async function publishedTables(client: pg.Client, name: string): Promise<TableRef[]> {
  const { rows } = await client.query<TableRef>(
    'SELECT schemaname AS schema, tablename AS name FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1, 2',
    [name],
  );
  return rows.map(({ schema, name }) => ({ schema, name }));
}
