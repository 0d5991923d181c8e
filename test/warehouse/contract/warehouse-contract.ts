/**
 * The Warehouse contract (src/warehouse/warehouse.ts, its header comment) as one test suite that
 * every implementation runs: `describeWarehouseContract(label, open)` declares a `describe` with
 * one `it` per clause. `open` makes a fresh, empty warehouse for each test; the suite writes it
 * only through `apply` and reads it only through `checkpoint` and `query`, in plain SQL
 * (SELECT ... ORDER BY) that DuckDB and ClickHouse both answer. What differs between engines
 * comes from the factory's `dialect`. The lanes clause runs only for a `LaneStore`. A clause an
 * implementation is known to break (a bug reported, not fixed yet) is named in
 * `knownViolations` and runs as `it.fails`, so its fix shows.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ColumnSchema, StreamItem } from '../../../src/core/change-event.js';
import { TributaryError } from '../../../src/core/errors.js';
import { position } from '../../../src/core/position.js';
import { displayName, quoteIdentifier, type TableRef } from '../../../src/core/table-ref.js';
import { Decimal, type Value } from '../../../src/core/values.js';
import { isLaneStore, LaneLost, type LaneStore, type Warehouse } from '../../../src/warehouse/warehouse.js';
import { col, keylessSchemaItem, schemaItem, T } from '../items.js';
import {
  committed,
  del,
  delRow,
  ins,
  insRow,
  keyedBy,
  move,
  truncate,
  txn,
  type Unplaced,
  upd,
  updRow,
} from './items.js';

export interface ContractDialect {
  /** How a query names the current-state table of a source table (default: its bare name, quoted). */
  readonly table: (table: TableRef) => string;
}

export interface ContractSubject {
  /** A fresh warehouse that nothing was ever applied to. */
  readonly warehouse: Warehouse;
  /**
   * Closes the warehouse and opens the same store again, to prove what `apply` resolved is
   * durable; the suite goes on with the warehouse it returns. Without it those steps are skipped.
   */
  readonly reopen?: () => Promise<Warehouse>;
  readonly dialect?: Partial<ContractDialect>;
  /** Closes the warehouse (the latest `reopen` returned, if any) and removes what `open` made. */
  cleanup(): Promise<void>;
}

const ITEMS = T;
const LOG: TableRef = { schema: 'public', name: 'log' };
const OTHER: TableRef = { schema: 'public', name: 'other' };

/** items(id int4 key, v text) */
const ITEM_COLUMNS = [col('id', 23, true), col('v', 25)];
/** log(seq int4, msg text): no primary key, REPLICA IDENTITY FULL, a multiset */
const LOG_COLUMNS = [col('seq', 23), col('msg', 25)];
type Row = Record<string, Value>;
const copy = (seq: number, msg: string | null): Row => ({ seq, msg });
const [A, B, C, D, E] = [copy(1, 'a'), copy(2, 'b'), copy(3, 'c'), copy(4, 'd'), copy(5, 'e')];

/** The type modifier Postgres gives numeric(p,s). */
const numeric = (name: string, p: number, s: number): ColumnSchema =>
  col(name, 1700, false, ((p << 16) | s) + 4);

/** Clauses an implementation may be known to violate (see `ContractOptions`). */
export type ContractClause = 'key-column-retyped' | 'replayed-schema-ignored' | 'toast-kept-by-key-move';

export interface ContractOptions {
  /**
   * Clauses the implementation is known to violate: a bug reported and not fixed yet. They run
   * as `it.fails`, so the fix shows up as a failure that says to remove the entry.
   */
  readonly knownViolations?: readonly ContractClause[];
}

export function describeWarehouseContract(
  label: string,
  open: () => Promise<ContractSubject>,
  options: ContractOptions = {},
): void {
  const itClause = (clause: ContractClause, name: string, body: () => Promise<void>): void => {
    if (options.knownViolations?.includes(clause)) it.fails(`${name} (known violation: ${clause})`, body);
    else it(name, body);
  };
  describe(`the Warehouse contract: ${label}`, () => {
    let subject: ContractSubject | undefined;
    let wh: Warehouse;
    let dialect: ContractDialect;

    beforeEach(async () => {
      subject = await open();
      wh = subject.warehouse;
      dialect = { table: (t) => quoteIdentifier(t.name), ...subject.dialect };
    });
    afterEach(async () => {
      const opened = subject;
      subject = undefined;
      await opened?.cleanup();
    });

    /** Reopens the store when the factory can (true), else keeps the warehouse as it is. */
    const reopen = async (): Promise<boolean> => {
      if (!subject?.reopen) return false;
      wh = await subject.reopen();
      return true;
    };
    const rows = async (sql: string): Promise<unknown[][]> =>
      (await wh.query(sql)).rows.map((row) => [...row]);
    const items = () => rows(`SELECT id, v FROM ${dialect.table(ITEMS)} ORDER BY id`);
    /** Every copy a multiset holds, one result row per copy. */
    const log = () => rows(`SELECT seq, msg FROM ${dialect.table(LOG)} ORDER BY seq, msg NULLS LAST`);
    /** The rows `log()` reads when the table holds `held`, in its order. */
    const copies = (...held: Row[]) =>
      held
        .map((r) => [r.seq as number, r.msg as string | null] as const)
        .sort(
          ([s1, m1], [s2, m2]) =>
            s1 - s2 || (m1 === m2 ? 0 : m1 === null ? 1 : m2 === null ? -1 : m1 < m2 ? -1 : 1),
        )
        .map((r) => [...r]);
    /** `apply` rejects the batch with our error, naming the table that no longer matches the source. */
    const refused = async (batch: StreamItem[], table: TableRef): Promise<void> => {
      const error = await wh.apply(batch).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(TributaryError);
      expect((error as TributaryError).message).toContain(displayName(table));
    };
    const setUp = (lsn: bigint, ...changes: Unplaced[]): StreamItem[] => [
      schemaItem(ITEM_COLUMNS, 'items-1'),
      keylessSchemaItem(LOG_COLUMNS, 'log-1', LOG),
      ...txn(lsn, ...changes),
    ];

    it('checkpoint: null when fresh, then the position of the last item applied, also after reopening', async () => {
      expect(await wh.checkpoint()).toBeNull();
      // nothing with a position applied yet: still null, though the batch made a table
      expect(await wh.apply([schemaItem(ITEM_COLUMNS, 'items-1')])).toBeNull();
      expect(await wh.checkpoint()).toBeNull();
      expect(await items()).toEqual([]);
      expect(await wh.apply(setUp(10n, ins({ id: 1, v: 'a' }), ins({ id: 2, v: 'b' })))).toEqual(
        committed(10n),
      );
      expect(await wh.checkpoint()).toEqual(committed(10n));
      // a batch that ends inside a transaction: the position of its last change
      const tx = txn(20n, upd({ id: 1, v: 'a2' }), del({ id: 2 }));
      expect(await wh.apply(tx.slice(0, 2))).toEqual(position(20n, 1));
      expect(await wh.checkpoint()).toEqual(position(20n, 1));
      expect(await wh.apply(tx.slice(2))).toEqual(committed(20n));
      expect(await wh.checkpoint()).toEqual(committed(20n));
      expect(await items()).toEqual([[1, 'a2']]);
      if (await reopen()) {
        expect(await wh.checkpoint()).toEqual(committed(20n));
        expect(await items()).toEqual([[1, 'a2']]);
      }
    });

    it('applies a replayed batch, or the old part of one that overlaps the checkpoint, not again; the checkpoint only moves forward', async () => {
      const first = setUp(10n, ins({ id: 1, v: 'a' }), ins({ id: 2, v: 'a' }), insRow(LOG, A));
      const second = txn(20n, insRow(LOG, B), upd({ id: 1, v: 'b' }), del({ id: 2 }));
      await wh.apply(first);
      // half a transaction, then all of it: the half already applied is not applied twice
      expect(await wh.apply(second.slice(0, 1))).toEqual(position(20n, 0));
      expect(await wh.apply(second)).toEqual(committed(20n));
      const state = async () => ({
        items: await rows(`SELECT id, v, _tributary_lsn FROM ${dialect.table(ITEMS)} ORDER BY id`).then(
          (held) => held.map(([id, v, lsn]) => [id, v, String(lsn)]),
        ),
        log: await log(),
      });
      const expected = { items: [[1, 'b', '20']], log: copies(A, B) };
      expect(await state()).toEqual(expected);

      // the same batch again, and an older one: nothing changes, the checkpoint stays
      expect(await wh.apply(second)).toEqual(committed(20n));
      expect(await wh.apply(first)).toEqual(committed(20n));
      expect(await wh.checkpoint()).toEqual(committed(20n));
      expect(await state()).toEqual(expected);

      // old and new in one batch: only the new part is applied, exactly once even when replayed
      const overlap = [...first, ...txn(30n, ins({ id: 3, v: 'c' }), insRow(LOG, C))];
      expect(await wh.apply(overlap)).toEqual(committed(30n));
      expect(await wh.apply(overlap)).toEqual(committed(30n));
      // delivered twice within one batch (a feed server that restarted while it was gathered)
      const twice = txn(40n, insRow(LOG, D), del({ id: 3 }), ins({ id: 3, v: 'c2' }));
      expect(await wh.apply([...twice, ...twice])).toEqual(committed(40n));
      const after = { items: [...expected.items, [3, 'c2', '40']], log: copies(A, B, C, D) };
      expect(await state()).toEqual(after);
      if (await reopen()) {
        expect(await wh.apply(overlap)).toEqual(committed(40n));
        expect(await wh.checkpoint()).toEqual(committed(40n));
        expect(await state()).toEqual(after);
      }
    });

    itClause(
      'replayed-schema-ignored',
      'changes nothing when a replayed batch brings again the older shape its changes had',
      async () => {
        const v2 = [...ITEM_COLUMNS, col('note', 25)];
        const at15 = [schemaItem(ITEM_COLUMNS, 'items-1'), ...txn(15n, ins({ id: 2, v: 'b' }))];
        const at20 = [schemaItem(v2, 'items-2'), ...txn(20n, upd({ id: 1, v: 'a', note: 'n' }))];
        await wh.apply(setUp(10n, ins({ id: 1, v: 'a' })));
        await wh.apply(at15);
        await wh.apply(at20);
        const held = () => rows(`SELECT id, v, note FROM ${dialect.table(ITEMS)} ORDER BY id`);
        const expected = [
          [1, 'a', 'n'],
          [2, 'b', null],
        ];
        expect(await held()).toEqual(expected);
        // an acknowledgement lost: the feed delivers both again, each message with its table's
        // shape (jetstream-feed.ts), or only the older one
        expect(await wh.apply([...at15, ...at20])).toEqual(committed(20n));
        expect(await held()).toEqual(expected);
        expect(await wh.apply(at15)).toEqual(committed(20n));
        expect(await held()).toEqual(expected);
      },
    );

    it("folds each key's changes in position order within a batch", async () => {
      await wh.apply(
        setUp(10n, ins({ id: 3, v: 'old3' }), ins({ id: 5, v: 'old5' }), ins({ id: 8, v: 'old8' })),
      );
      await wh.apply(
        txn(
          20n,
          ins({ id: 1, v: 'a' }),
          ins({ id: 2, v: 'x' }),
          del({ id: 3 }),
          upd({ id: 1, v: 'b' }),
          del({ id: 2 }),
          ins({ id: 3, v: 'new3' }), // a key deleted, then inserted again
          upd({ id: 1, v: 'c' }),
          ins({ id: 4, v: 'd' }),
          del({ id: 4 }),
          ins({ id: 4, v: 'd2' }),
          del({ id: 5 }),
          // inserts and updates upsert: an update of a key not held, an insert of one held
          upd({ id: 7, v: 'u7' }),
          ins({ id: 8, v: 'new8' }),
        ),
      );
      const folded: [number, string][] = [
        [1, 'c'],
        [3, 'new3'],
        [4, 'd2'],
        [7, 'u7'],
        [8, 'new8'],
      ];
      expect(await items()).toEqual(folded);

      // many keys interleaved over two transactions of one batch, against a model of the table
      const model = new Map<number, string>(folded);
      const changes: Unplaced[] = [];
      for (let step = 0; step < 400; step++) {
        const id = 100 + ((step * 7) % 40);
        const v = `s${step}`;
        if (!model.has(id)) {
          changes.push(ins({ id, v }));
          model.set(id, v);
        } else if (step % 3 === 0) {
          changes.push(del({ id }));
          model.delete(id);
        } else {
          changes.push(upd({ id, v }));
          model.set(id, v);
        }
      }
      await wh.apply([...txn(30n, ...changes.slice(0, 170)), ...txn(31n, ...changes.slice(170))]);
      expect(await items()).toEqual([...model].sort(([x], [y]) => x - y));
    });

    it('empties a table at its truncate: changes before it gone, after it kept, other tables untouched', async () => {
      await wh.apply([
        schemaItem(ITEM_COLUMNS, 'other-1', OTHER),
        ...setUp(
          10n,
          ins({ id: 1, v: 'a' }),
          ins({ id: 2, v: 'b' }),
          ins({ id: 1, v: 'o1' }, OTHER),
          insRow(LOG, A),
          insRow(LOG, A),
        ),
      ]);
      await wh.apply(
        txn(
          20n,
          ins({ id: 3, v: 'c' }),
          upd({ id: 1, v: 'changed' }),
          ins({ id: 2, v: 'o2' }, OTHER),
          insRow(LOG, B),
          truncate(ITEMS),
          truncate(LOG),
          ins({ id: 4, v: 'd' }),
          ins({ id: 1, v: 'again' }),
          insRow(LOG, A),
          ins({ id: 3, v: 'o3' }, OTHER),
        ),
      );
      expect(await items()).toEqual([
        [1, 'again'],
        [4, 'd'],
      ]);
      expect(await log()).toEqual(copies(A));
      expect(await rows(`SELECT id, v FROM ${dialect.table(OTHER)} ORDER BY id`)).toEqual([
        [1, 'o1'],
        [2, 'o2'],
        [3, 'o3'],
      ]);
    });

    it('moves a row whose key an update changed', async () => {
      await wh.apply(setUp(10n, ins({ id: 1, v: 'a' }), ins({ id: 2, v: 'b' })));
      await wh.apply(
        txn(
          20n,
          move({ id: 1 }, { id: 3, v: 'moved' }),
          ins({ id: 5, v: 'e' }),
          move({ id: 5 }, { id: 6, v: 'e' }),
          upd({ id: 6, v: 'e2' }),
          del({ id: 2 }),
          move({ id: 3 }, { id: 2, v: 'back' }), // into a key deleted earlier in the batch
        ),
      );
      expect(await items()).toEqual([
        [2, 'back'],
        [6, 'e2'],
      ]);
      await wh.apply(txn(30n, move({ id: 6 }, { id: 1, v: 'one' })));
      expect(await items()).toEqual([
        [1, 'one'],
        [2, 'back'],
      ]);
    });

    it('folds and moves the rows of a table keyed by several columns', async () => {
      const pairs = keyedBy(OTHER, ['a', 'b']);
      const pairColumns = [col('a', 23, true), col('b', 25, true), col('v', 25)];
      const held = () => rows(`SELECT a, b, v FROM ${dialect.table(OTHER)} ORDER BY a, b`);
      await wh.apply([
        schemaItem(pairColumns, 'pairs-1', OTHER),
        ...txn(10n, pairs.ins({ a: 1, b: 'x', v: '1x' }), pairs.ins({ a: 1, b: 'y', v: '1y' })),
      ]);
      await wh.apply(
        txn(
          20n,
          pairs.move({ a: 1, b: 'x' }, { a: 2, b: 'x', v: 'moved' }),
          pairs.del({ a: 1, b: 'y' }),
          pairs.ins({ a: 1, b: 'x', v: 'new' }), // the key the move left
          pairs.upd({ a: 2, b: 'y', v: 'upsert' }),
          pairs.move({ a: 2, b: 'y' }, { a: 2, b: 'z', v: 'moved twice' }),
        ),
      );
      expect(await held()).toEqual([
        [1, 'x', 'new'],
        [2, 'x', 'moved'],
        [2, 'z', 'moved twice'],
      ]);
    });

    it('keeps the stored value of an unchanged TOASTed column across 100 updates, in one batch and across batches', async () => {
      const docs = [col('id', 23, true), col('v', 25), col('doc', 25)];
      const big1 = `one:${'x'.repeat(9000)}`;
      const big2 = `two:${'y'.repeat(9000)}`;
      const updates = Array.from({ length: 100 }, (_, i) => upd({ id: 1, v: `v${i + 1}` }, ['doc']));
      await wh.apply([
        schemaItem(docs, 'docs-1'),
        ...txn(10n, ins({ id: 1, v: 'v0', doc: big1 }), ...updates),
        // the value an earlier update of the same batch set is the one kept
        ...txn(
          11n,
          ins({ id: 2, v: 'w0', doc: 'first' }),
          upd({ id: 2, v: 'w1', doc: big2 }),
          upd({ id: 2, v: 'w2' }, ['doc']),
        ),
      ]);
      const held = () => rows(`SELECT id, v, doc FROM ${dialect.table(ITEMS)} ORDER BY id`);
      expect(await held()).toEqual([
        [1, 'v100', big1],
        [2, 'w2', big2],
      ]);
      for (let i = 1; i <= 100; i++) {
        await wh.apply(
          txn(BigInt(100 + i), upd({ id: 1, v: `u${i}` }, ['doc']), upd({ id: 2, v: `u${i}` }, ['doc'])),
        );
      }
      expect(await held()).toEqual([
        [1, 'u100', big1],
        [2, 'u100', big2],
      ]);
      // a row inserted in the batch, then moved to another key: the value comes with it
      await wh.apply(
        txn(
          300n,
          ins({ id: 5, v: 'n0', doc: big1 }),
          move({ id: 5 }, { id: 6, v: 'n1' }, ['doc']),
          upd({ id: 6, v: 'n2' }, ['doc']),
        ),
      );
      expect(await held()).toEqual([
        [1, 'u100', big1],
        [2, 'u100', big2],
        [6, 'n2', big1],
      ]);
    });

    itClause(
      'toast-kept-by-key-move',
      'keeps the stored value of an unchanged TOASTed column when an update moves the row to another key',
      async () => {
        const docs = [col('id', 23, true), col('v', 25), col('doc', 25)];
        const big1 = `one:${'x'.repeat(9000)}`;
        const big2 = `two:${'y'.repeat(9000)}`;
        await wh.apply([
          schemaItem(docs, 'docs-1'),
          ...txn(10n, ins({ id: 1, v: 'a', doc: big1 }), ins({ id: 2, v: 'b', doc: big2 })),
        ]);
        // Postgres sends the unchanged TOASTed value as unchanged when the key changes too
        // (UPDATE t SET id = id + 100): the row stored by an earlier batch moves, value and all
        await wh.apply([
          ...txn(20n, move({ id: 1 }, { id: 3, v: 'm' }, ['doc'])),
          ...txn(21n, upd({ id: 2, v: 'x' }, ['doc']), move({ id: 2 }, { id: 4, v: 'm2' }, ['doc'])),
        ]);
        expect(await rows(`SELECT id, v, doc FROM ${dialect.table(ITEMS)} ORDER BY id`)).toEqual([
          [3, 'm', big1],
          [4, 'm2', big2],
        ]);
        // two rows swap keys in one transaction (through a third key): each copies from the row
        // stored before the batch, not from the other's new row
        await wh.apply(
          txn(
            30n,
            move({ id: 3 }, { id: 99, v: 't' }, ['doc']),
            move({ id: 4 }, { id: 3, v: 's' }, ['doc']),
            move({ id: 99 }, { id: 4, v: 's2' }, ['doc']),
          ),
        );
        expect(await rows(`SELECT id, v, doc FROM ${dialect.table(ITEMS)} ORDER BY id`)).toEqual([
          [3, 's', big2],
          [4, 's2', big1],
        ]);
        // a move from a key the warehouse does not hold: the values are unknown, the batch fails
        await expect(wh.apply(txn(40n, move({ id: 7 }, { id: 8, v: 'x' }, ['doc'])))).rejects.toThrow(
          /does not hold/,
        );
        expect(await wh.checkpoint()).toEqual(committed(30n));
      },
    );

    it('keeps a table without a primary key as a multiset, and fails a batch that deletes a copy it does not hold', async () => {
      await wh.apply(setUp(10n, insRow(LOG, A), insRow(LOG, A), insRow(LOG, B)));
      expect(await log()).toEqual(copies(A, A, B));
      await wh.apply(txn(20n, delRow(LOG, A)));
      expect(await log()).toEqual(copies(A, B));
      await wh.apply(txn(30n, insRow(LOG, A), updRow(LOG, A, C)));
      expect(await log()).toEqual(copies(A, B, C));
      await wh.apply(txn(40n, insRow(LOG, D), insRow(LOG, D), delRow(LOG, D)));
      expect(await log()).toEqual(copies(A, B, C, D));
      // NULL is a value like any other: a copy holding one is found
      const N = copy(6, null);
      await wh.apply(txn(45n, insRow(LOG, N), insRow(LOG, N)));
      await wh.apply(txn(46n, delRow(LOG, N)));
      expect(await log()).toEqual(copies(A, B, C, D, N));
      await wh.apply(txn(47n, updRow(LOG, N, copy(6, 'f')), insRow(LOG, N)));
      expect(await log()).toEqual(copies(A, B, C, D, N, copy(6, 'f')));
      await wh.apply(txn(48n, delRow(LOG, copy(6, 'f'))));

      // a copy never held, and a second copy of a row held once
      await refused(txn(50n, insRow(LOG, B), delRow(LOG, E)), LOG);
      await refused(txn(50n, delRow(LOG, A), delRow(LOG, A)), LOG);
      await refused(txn(50n, updRow(LOG, E, A)), LOG);
      expect(await wh.checkpoint()).toEqual(committed(48n));
      expect(await log()).toEqual(copies(A, B, C, D, N));
    });

    it('evolves a table without a primary key: its copies are matched by their new shape', async () => {
      await wh.apply(setUp(10n, insRow(LOG, A), insRow(LOG, A), insRow(LOG, B)));
      const tagged = [...LOG_COLUMNS, col('tag', 25), { ...col('k', 23), missingValue: 5 }];
      await wh.apply([
        keylessSchemaItem(tagged, 'log-2', LOG),
        ...txn(
          20n,
          delRow(LOG, { ...A, tag: null, k: 5 }),
          insRow(LOG, { ...A, tag: 't', k: 6 }),
          updRow(LOG, { ...B, tag: null, k: 5 }, { ...B, tag: 'u', k: 5 }),
        ),
      ]);
      const held = () =>
        rows(`SELECT seq, msg, tag, k FROM ${dialect.table(LOG)} ORDER BY seq, msg, tag NULLS LAST, k`);
      expect(await held()).toEqual([
        [1, 'a', 't', 6],
        [1, 'a', null, 5],
        [2, 'b', 'u', 5],
      ]);
      // the old shape's copy (k null) is not one the table holds
      await refused(txn(30n, delRow(LOG, { ...A, tag: null, k: null })), LOG);
      // dropping the columns makes the two copies of A identical again
      await wh.apply([keylessSchemaItem(LOG_COLUMNS, 'log-3', LOG), ...txn(40n, delRow(LOG, A))]);
      expect(await log()).toEqual(copies(A, B));
    });

    it('adds, drops and retypes columns at schema items mid-stream', async () => {
      const v1 = [col('id', 23, true), col('v', 25), numeric('amount', 6, 2), col('n', 23)];
      const v2 = [...v1, col('note', 25), { ...col('score', 23), missingValue: 7 }];
      const v3 = v2.filter((c) => c.name !== 'v');
      const v4 = v3.map((c) =>
        c.name === 'n' ? col('n', 20) : c.name === 'amount' ? numeric('amount', 12, 2) : c,
      );
      const table = dialect.table(ITEMS);
      const columns = async () => [...(await wh.query(`SELECT * FROM ${table}`)).columns].sort();
      const withMeta = (...names: string[]) => [...names, '_tributary_lsn', '_tributary_synced_at'].sort();
      const d = (text: string) => new Decimal(text);

      await wh.apply([
        schemaItem(v1, 'v1'),
        ...txn(
          10n,
          ins({ id: 1, v: 'a', amount: d('12.50'), n: 5 }),
          ins({ id: 2, v: 'b', amount: null, n: 6 }),
        ),
        ...txn(20n, upd({ id: 1, v: 'a1', amount: d('12.50'), n: 5 })),
        schemaItem(v2, 'v2'),
        ...txn(
          21n,
          ins({ id: 3, v: 'c', amount: d('1.25'), n: 8, note: 'n3', score: 9 }),
          upd({ id: 2, v: 'b2', amount: null, n: 6, note: 'n2', score: 10 }),
        ),
      ]);
      expect(await wh.checkpoint()).toEqual(committed(21n));
      const atV2 = async () => {
        expect(await columns()).toEqual(withMeta('id', 'v', 'amount', 'n', 'note', 'score'));
        // rows older than a column read null, or the value Postgres gives them (missingValue)
        expect(await rows(`SELECT id, v, amount, n, note, score FROM ${table} ORDER BY id`)).toEqual([
          [1, 'a1', '12.50', 5, null, 7],
          [2, 'b2', null, 6, 'n2', 10],
          [3, 'c', '1.25', 8, 'n3', 9],
        ]);
      };
      await atV2();
      // the shape is kept with the rows: the next schema change starts from it
      if (await reopen()) await atV2();

      await wh.apply([
        ...txn(30n, ins({ id: 4, v: 'd', amount: d('4.00'), n: 9, note: null, score: 1 })),
        schemaItem(v3, 'v3'),
        ...txn(31n, ins({ id: 5, amount: null, n: 10, note: 'n5', score: 2 }), del({ id: 3 })),
      ]);
      expect(await columns()).toEqual(withMeta('id', 'amount', 'n', 'note', 'score'));
      expect(await rows(`SELECT id, amount, n, note, score FROM ${table} ORDER BY id`)).toEqual([
        [1, '12.50', 5, null, 7],
        [2, null, 6, 'n2', 10],
        [4, '4.00', 9, null, 1],
        [5, null, 10, 'n5', 2],
      ]);

      // int4 → int8 and numeric(6,2) → numeric(12,2): stored values convert, new ones fit
      await wh.apply([
        ...txn(40n, upd({ id: 2, amount: d('2.00'), n: 6, note: 'n2', score: 10 })),
        schemaItem(v4, 'v4'),
        ...txn(41n, ins({ id: 6, amount: d('1234567890.12'), n: 2n ** 40n, note: null, score: null })),
      ]);
      expect(await wh.checkpoint()).toEqual(committed(41n));
      expect(await columns()).toEqual(withMeta('id', 'amount', 'n', 'note', 'score'));
      expect(await rows(`SELECT id, amount, n, note, score FROM ${table} ORDER BY id`)).toEqual([
        [1, '12.50', '5', null, 7],
        [2, '2.00', '6', 'n2', 10],
        [4, '4.00', '9', null, 1],
        [5, null, '10', 'n5', 2],
        [6, '1234567890.12', '1099511627776', null, null],
      ]);
    });

    itClause(
      'key-column-retyped',
      'retypes a key column (int4 → int8, as a table outgrowing int4 is migrated) and keeps folding by it',
      async () => {
        const wide = [col('id', 20, true), col('v', 25)];
        await wh.apply(setUp(10n, ins({ id: 1, v: 'a' }), ins({ id: 2, v: 'b' })));
        expect(
          await wh.apply([
            schemaItem(wide, 'items-2'),
            ...txn(20n, ins({ id: 2n ** 40n, v: 'big' }), upd({ id: 1n, v: 'a2' }), del({ id: 2n })),
          ]),
        ).toEqual(committed(20n));
        expect(await items()).toEqual([
          ['1', 'a2'],
          ['1099511627776', 'big'],
        ]);
      },
    );

    it('applies a batch of several tables and transactions atomically: a failure midway leaves nothing of it', async () => {
      await wh.apply(setUp(10n, ins({ id: 1, v: 'a' }), insRow(LOG, A)));
      const batch = (bad: boolean): StreamItem[] => [
        ...txn(20n, ins({ id: 2, v: 'b' }), upd({ id: 1, v: 'changed' }), insRow(LOG, B)),
        schemaItem(ITEM_COLUMNS, 'other-1', OTHER),
        ...txn(30n, ins({ id: 1, v: 'o1' }, OTHER), del({ id: 1 })),
        // a delete of a copy the warehouse does not hold: the store no longer matches the source
        ...txn(40n, insRow(LOG, C), ...(bad ? [delRow(LOG, E)] : []), ins({ id: 9, v: 'i' })),
        ...txn(50n, ins({ id: 10, v: 'j' }), truncate(OTHER)),
      ];
      await refused(batch(true), LOG);
      expect(await wh.checkpoint()).toEqual(committed(10n));
      expect(await items()).toEqual([[1, 'a']]);
      expect(await log()).toEqual(copies(A));
      await expect(wh.query(`SELECT id FROM ${dialect.table(OTHER)}`)).rejects.toThrow();

      // the same batch without the bad delete applies whole
      expect(await wh.apply(batch(false))).toEqual(committed(50n));
      expect(await items()).toEqual([
        [2, 'b'],
        [9, 'i'],
        [10, 'j'],
      ]);
      expect(await log()).toEqual(copies(A, B, C));
      expect(await rows(`SELECT id FROM ${dialect.table(OTHER)}`)).toEqual([]);
    });

    it('keeps rows and checkpoint in agreement when a batch with a schema change fails after it', async () => {
      // a store may commit what came before a schema change on its own, with its checkpoint
      // (DuckDB before an ALTER): then that much is applied, and nothing after it
      await wh.apply(setUp(10n, ins({ id: 1, v: 'a' }), insRow(LOG, A)));
      const v2 = [...ITEM_COLUMNS, col('note', 25)];
      const batch = (bad: boolean): StreamItem[] => [
        ...txn(20n, upd({ id: 1, v: 'b' }), ins({ id: 2, v: 'b' }), insRow(LOG, B)),
        schemaItem(v2, 'items-2'),
        ...txn(30n, upd({ id: 1, v: 'c', note: 'n' }), ...(bad ? [delRow(LOG, E)] : []), insRow(LOG, C)),
      ];
      await refused(batch(true), LOG);
      const checkpoint = await wh.checkpoint();
      expect([committed(10n), committed(20n)]).toContainEqual(checkpoint);
      if (checkpoint?.commitLsn === 10n) {
        expect(await items()).toEqual([[1, 'a']]);
        expect(await log()).toEqual(copies(A));
      } else {
        expect(await items()).toEqual([
          [1, 'b'],
          [2, 'b'],
        ]);
        expect(await log()).toEqual(copies(A, B));
      }
      expect(await wh.apply(batch(false))).toEqual(committed(30n));
      expect(await rows(`SELECT id, v, note FROM ${dialect.table(ITEMS)} ORDER BY id`)).toEqual([
        [1, 'c', 'n'],
        [2, 'b', null],
      ]);
      expect(await log()).toEqual(copies(A, B, C));
    });

    it('loads lanes (a LaneStore only): each lane skips and checkpoints by its own position, an older epoch is refused', async (context) => {
      if (!isLaneStore(wh)) context.skip('not a LaneStore');
      const lanes = wh as Warehouse & LaneStore;
      const [zero, one] = [
        { lane: 0, epoch: 1n },
        { lane: 1, epoch: 2n },
      ];
      expect(await lanes.claimLane(zero)).toBeNull();
      expect(await lanes.claimLane(one)).toBeNull();
      // lane 1 runs ahead with its table; lane 0's earlier changes are not skipped for it
      expect(
        await lanes.apply(
          [schemaItem(ITEM_COLUMNS, 'other-1', OTHER), ...txn(50n, ins({ id: 1, v: 'o' }, OTHER))],
          one,
        ),
      ).toEqual(committed(50n));
      expect(await lanes.apply(setUp(20n, ins({ id: 1, v: 'a' }), insRow(LOG, A)), zero)).toEqual(
        committed(20n),
      );
      expect(await items()).toEqual([[1, 'a']]);
      expect(await rows(`SELECT id, v FROM ${dialect.table(OTHER)} ORDER BY id`)).toEqual([[1, 'o']]);
      // everything up to the least lane's checkpoint is applied
      expect(await lanes.checkpoint()).toEqual(committed(20n));
      // a lane's replay changes nothing
      expect(await lanes.apply(setUp(20n, ins({ id: 1, v: 'replayed' }), insRow(LOG, A)), zero)).toEqual(
        committed(20n),
      );
      expect(await items()).toEqual([[1, 'a']]);
      expect(await log()).toEqual(copies(A));

      // another loader takes lane 0 over: its claim starts where the lane is, the old holder's
      // batch is refused and writes nothing, and so is an older claim
      const taken = { lane: 0, epoch: 3n };
      expect(await lanes.claimLane(taken)).toEqual(committed(20n));
      await expect(lanes.apply(txn(30n, upd({ id: 1, v: 'stale' })), zero)).rejects.toBeInstanceOf(LaneLost);
      await expect(lanes.claimLane({ lane: 0, epoch: 2n })).rejects.toBeInstanceOf(LaneLost);
      expect(await items()).toEqual([[1, 'a']]);
      expect(await lanes.apply(txn(30n, upd({ id: 1, v: 'held' })), taken)).toEqual(committed(30n));
      expect(await items()).toEqual([[1, 'held']]);
      const expected = new Map([
        [0, committed(30n)],
        [1, committed(50n)],
      ]);
      expect(await lanes.laneCheckpoints()).toEqual(expected);
      if (await reopen()) {
        expect(await (wh as Warehouse & LaneStore).laneCheckpoints()).toEqual(expected);
        await expect(wh.apply(txn(60n, upd({ id: 1, v: 'stale' })), zero)).rejects.toBeInstanceOf(LaneLost);
      }
    });

    it('answers a query with its columns and rows, bigints and decimals as strings', async () => {
      const typed = [
        col('id', 23, true),
        col('big', 20),
        numeric('amount', 30, 5),
        col('flag', 16),
        col('note', 25),
        col('n', 23),
      ];
      await wh.apply([
        schemaItem(typed, 'typed-1'),
        ...txn(
          10n,
          ins({
            id: 1,
            big: 2n ** 62n + 1n,
            amount: new Decimal('123456789012345678901.12345'),
            flag: true,
            note: 'x',
            n: null,
          }),
          ins({ id: 2, big: -(2n ** 53n) - 3n, amount: new Decimal('0.5'), flag: false, note: '', n: 42 }),
        ),
      ]);
      const table = dialect.table(ITEMS);
      const result = await wh.query(
        `SELECT id, big, amount AS money, flag, note, n FROM ${table} ORDER BY id`,
      );
      expect(result.columns).toEqual(['id', 'big', 'money', 'flag', 'note', 'n']);
      expect(result.rows).toEqual([
        [1, '4611686018427387905', '123456789012345678901.12345', true, 'x', null],
        [2, '-9007199254740995', '0.50000', false, '', 42],
      ]);
      expect(await wh.query(`SELECT id FROM ${table} WHERE id < 0`)).toEqual({ columns: ['id'], rows: [] });
    });
  });
}
