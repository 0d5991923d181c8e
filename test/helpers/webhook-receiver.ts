/** A real HTTP server standing in for an alert webhook: it keeps the JSON bodies POSTed to `path`. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WebhookReceiver {
  /** The bodies received, in order. */
  readonly posts: Record<string, unknown>[];
  readonly url: string;
  close(): Promise<void>;
}

export async function startWebhookReceiver(path: string): Promise<WebhookReceiver> {
  const posts: Record<string, unknown>[] = [];
  const server = createServer((request, response) => {
    let text = '';
    request.on('data', (d: Buffer) => (text += d.toString()));
    request.on('end', () => {
      if (request.method === 'POST' && request.url === path) posts.push(JSON.parse(text));
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    posts,
    url: `http://127.0.0.1:${port}${path}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
