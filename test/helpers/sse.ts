/** Reads a Server-Sent Events stream from Node's fetch, as a browser's EventSource would parse it. */
export interface SseEvent {
  readonly id: string | null;
  readonly event: string | null;
  readonly data: string;
}

export interface SseStream {
  /** Every event (and comment line) received so far. */
  readonly events: SseEvent[];
  readonly comments: string[];
  /** Waits until `probe` holds for what was received (reading more), or the stream ends. */
  until(what: string, probe: (events: readonly SseEvent[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>;
  cancel(): Promise<void>;
}

export function readSse(response: Response): SseStream {
  if (!response.body) throw new Error('the response has no body');
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const events: SseEvent[] = [];
  const comments: string[] = [];
  let buffer = '';
  let waiters: (() => void)[] = [];
  const wake = () => {
    for (const w of waiters) w();
    waiters = [];
  };
  const ended = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut = buffer.indexOf('\n\n');
        while (cut >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          parse(block);
          cut = buffer.indexOf('\n\n');
        }
        wake();
      }
    } catch {
      // cancelled, or the connection went
    } finally {
      wake();
    }
  })();
  let finished = false;
  void ended.then(() => {
    finished = true;
  });
  function parse(block: string): void {
    let id: string | null = null;
    let event: string | null = null;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) comments.push(line.slice(1).trim());
      else if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length > 0) events.push({ id, event, data: data.join('\n') });
  }
  return {
    events,
    comments,
    ended,
    async until(what, probe, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!probe(events)) {
        if (finished) throw new Error(`the stream ended before ${what}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
    },
    cancel: () => reader.cancel().catch(() => {}),
  };
}
