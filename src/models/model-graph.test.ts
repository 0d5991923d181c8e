import { describe, expect, it } from 'vitest';
import { dependencyOrder, type KnownRelations, type ModelSource, planModels } from './model-graph.js';
import { parseModelHeader } from './model-header.js';

const source = (name: string, ...refs: string[]): ModelSource => ({
  name,
  file: `models/${name}.sql`,
  sql: 'SELECT 1',
  header: parseModelHeader(`${name}.sql`, 'SELECT 1'),
  refs: refs.map((r) => {
    const parts = r.split('.');
    return {
      catalog: '',
      schema: parts.length > 1 ? (parts[0] as string) : '',
      name: parts.at(-1) as string,
    };
  }),
});

const known: KnownRelations = {
  relations: [
    { schema: 'main', name: 'orders' },
    { schema: 'sales', name: 'Items' },
    { schema: 'main', name: 'customers' },
  ],
  replicated: [
    { schema: 'main', name: 'orders' },
    { schema: 'sales', name: 'Items' },
  ],
};

describe('planModels', () => {
  it('orders models upstream first, resolves names like DuckDB, and gathers what each reads through others', () => {
    const plan = planModels(
      'models',
      [source('top', 'mid', 'models.base'), source('mid', 'base', 'SALES.items'), source('base', 'Orders')],
      known,
    );
    expect(plan.models.map((m) => m.name)).toEqual(['base', 'mid', 'top']);
    const [base, mid, top] = plan.models;
    expect(base?.relations).toEqual([{ schema: 'main', name: 'orders' }]);
    expect(mid?.models).toEqual(['base']);
    expect(mid?.relations).toEqual([{ schema: 'sales', name: 'Items' }]);
    expect([...(top?.upstream ?? [])].sort()).toEqual(['main.orders', 'sales.items']);
  });

  it('refuses a relation that is neither a model nor in the warehouse, naming both', () => {
    expect(() => planModels('models', [source('a', 'orderz')], known)).toThrow(
      /models\/a\.sql: the model "a" reads orderz, which is no model and no table/,
    );
    expect(() => planModels('models', [source('a', 'models.nope')], known)).toThrow(/reads models\.nope/);
    expect(() => planModels('models', [source('a', 'public.orders')], known)).toThrow(
      expect.objectContaining({ hint: expect.stringMatching(/public schema is main/) }),
    );
  });

  it('with the tables to come unknown, takes a relation missing from the warehouse as one to come', () => {
    const plan = planModels('models', [source('a', 'refunds')], { ...known, incomplete: true });
    expect(plan.models[0]?.relations).toEqual([{ schema: 'main', name: 'refunds' }]);
  });

  it('refuses a cycle, naming it', () => {
    expect(() => planModels('models', [source('a', 'b'), source('b', 'c'), source('c', 'a')], known)).toThrow(
      'the models form a cycle: a → b → c → a',
    );
    expect(() => planModels('models', [source('a', 'a')], known)).toThrow('cycle: a → a');
  });

  it('refuses a model named like a table of main, and a models schema that is replicated', () => {
    expect(() => planModels('models', [source('orders', 'customers')], known)).toThrow(
      /the model "orders" has the name of the table orders/,
    );
    expect(() => planModels('sales', [source('a', 'orders')], known)).toThrow(
      /the models schema "sales" is also a replicated Postgres schema/,
    );
  });
});

describe('dependencyOrder', () => {
  it('is deterministic: models taken by name, each after what it reads', () => {
    expect(dependencyOrder(['d', 'c', 'b', 'a'], (n) => (n === 'a' ? ['d'] : []))).toEqual([
      'd',
      'a',
      'b',
      'c',
    ]);
  });
});
