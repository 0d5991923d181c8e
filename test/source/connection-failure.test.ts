/** Which failures the source treats as a lost connection (reconnect) rather than a fault (stop). */
import { describe, expect, it } from 'vitest';
import { isConnectionFailure } from '../../src/source/postgres/postgres-source.js';

describe('isConnectionFailure', () => {
  it.each([
    'Client has encountered a connection error and is not queryable',
    'Connection terminated unexpectedly',
    'read ECONNRESET',
    'terminating connection due to administrator command',
  ])('reconnects after %s', (message) => {
    expect(isConnectionFailure(new Error(message))).toBe(true);
  });

  it('stops on anything else', () => {
    expect(isConnectionFailure(new Error('relation "orders" does not exist'))).toBe(false);
  });
});
