/**
 * A deterministic write load with a log of what committed, in commit order (one writer
 * connection, so commit order is execution order). Tests compare what Tributary delivered
 * against this log: nothing lost, nothing twice, in order.
 */
import type pg from 'pg';

export interface Op {
  readonly op: 'insert' | 'update' | 'delete';
  readonly id: number;
  readonly n: number | null;
}

export const ITEMS_DDL = 'CREATE TABLE items (id bigint PRIMARY KEY, n integer NOT NULL, note text)';

/** Runs `transactions` transactions of 1-5 operations on `items`; returns the committed ops. */
export async function writeItems(
  client: pg.Client,
  options: { transactions: number; firstId?: number; seed?: number; signal?: AbortSignal },
): Promise<Op[]> {
  let seed = options.seed ?? 1;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const live: number[] = [];
  const log: Op[] = [];
  let nextId = options.firstId ?? 1;
  for (let t = 0; t < options.transactions && !options.signal?.aborted; t++) {
    const ops: Op[] = [];
    const size = 1 + Math.floor(random() * 5);
    await client.query('BEGIN');
    for (let i = 0; i < size; i++) {
      const choice = random();
      if (live.length === 0 || choice < 0.6) {
        const id = nextId++;
        await client.query('INSERT INTO items (id, n, note) VALUES ($1, $2, $3)', [id, t, `item ${id}`]);
        live.push(id);
        ops.push({ op: 'insert', id, n: t });
      } else if (choice < 0.85) {
        const id = live[Math.floor(random() * live.length)]!;
        await client.query('UPDATE items SET n = $2 WHERE id = $1', [id, t * 10 + i]);
        ops.push({ op: 'update', id, n: t * 10 + i });
      } else {
        const index = Math.floor(random() * live.length);
        const id = live[index]!;
        live.splice(index, 1);
        await client.query('DELETE FROM items WHERE id = $1', [id]);
        ops.push({ op: 'delete', id, n: null });
      }
    }
    await client.query('COMMIT');
    log.push(...ops);
  }
  return log;
}

/** The ops a tail file holds for `items`, in file order. */
export function opsFromChanges(
  changes: readonly {
    op: string;
    table: string;
    pk: Record<string, unknown> | null;
    row: Record<string, unknown> | null;
  }[],
): Op[] {
  return changes
    .filter((c) => c.table === 'public.items')
    .map((c) => ({
      op: c.op as Op['op'],
      id: Number(c.pk?.id),
      n: c.row ? Number(c.row.n) : null,
    }));
}
