/** Suite-level nats-server lifecycle for vitest: start before the suite's tests, stop after. */
import { afterAll, beforeAll } from 'vitest';
import { type NatsServer, type NatsServerOptions, startNatsServer } from '../../src/embedded/nats-server.js';

/**
 * Starts a throwaway nats-server (JetStream on) in `beforeAll` and stops it in `afterAll`.
 * Returns a getter, since the server exists only once the suite runs.
 */
export function useNatsServer(options: NatsServerOptions = {}): () => NatsServer {
  let server: NatsServer | undefined;
  beforeAll(async () => {
    server = await startNatsServer(options);
  });
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error('the nats-server is used before the suite started it');
    return server;
  };
}
