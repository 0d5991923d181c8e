/**
 * A Server-Sent Events reader over fetch(): EventSource cannot send the Authorization header.
 * It parses the stream as the HTML standard says (fields `event`, `data`, `id`, `retry`; a blank
 * line dispatches) and, when the connection ends or fails, connects again after a pause,
 * resuming after the last id it saw (the `Last-Event-ID` header, and `?after=` for servers that
 * read the URL). A 401 or 404 is not retried: `onFatal` gets the error.
 */
import { ApiError } from './api.js';

export class EventStream {
  #api;
  #path;
  #handlers;
  #lastId = null;
  #retryMs = 1000;
  /** Each start() begins a new reading loop; a loop whose generation is gone ends. */
  #generation = 0;
  #abort = null;

  /**
   * @param api the Api (token, error reading)
   * @param path the stream's path, without the resume parameter
   * @param handlers { onEvent(type, data, id), onState('open'|'retrying'|'stopped', detail), onFatal(error) }
   */
  constructor(api, path, handlers) {
    this.#api = api;
    this.#path = path;
    this.#handlers = handlers;
  }

  /** Starts (or restarts) reading, resuming after `afterId` when given. */
  start(afterId = this.#lastId) {
    this.stop();
    this.#lastId = afterId;
    void this.#loop(this.#generation);
  }

  stop() {
    this.#generation++;
    this.#abort?.abort();
    this.#abort = null;
  }

  async #loop(generation) {
    const stopped = () => generation !== this.#generation;
    while (!stopped()) {
      const abort = new AbortController();
      this.#abort = abort;
      try {
        await this.#read(abort.signal);
        if (stopped()) return;
        this.#handlers.onState('retrying', 'the stream ended');
      } catch (error) {
        if (stopped()) return;
        if (error instanceof ApiError && (error.status === 401 || error.status === 404)) {
          this.#handlers.onState('stopped', error.message);
          this.#handlers.onFatal(error);
          return;
        }
        this.#handlers.onState('retrying', error instanceof Error ? error.message : String(error));
      }
      await new Promise((resolve) => setTimeout(resolve, this.#retryMs));
    }
  }

  async #read(signal) {
    const url = new URL(this.#path, location.href);
    if (this.#lastId !== null) url.searchParams.set('after', this.#lastId);
    const headers = this.#api.headers({ accept: 'text/event-stream' });
    if (this.#lastId !== null) headers['last-event-id'] = this.#lastId;
    const response = await fetch(url, { headers, cache: 'no-store', signal });
    if (!response.ok || !response.body) {
      await this.#api.read(response.ok ? new Response(null, { status: 502 }) : response);
      return;
    }
    this.#handlers.onState('open', null);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    let event = { type: '', data: [], id: null };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      const lines = buffer.split(/\r\n|\r|\n/);
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        if (line === '') {
          if (event.id !== null) this.#lastId = event.id;
          if (event.data.length > 0)
            this.#handlers.onEvent(event.type || 'message', event.data.join('\n'), event.id ?? this.#lastId);
          event = { type: '', data: [], id: null };
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        let text = colon === -1 ? '' : line.slice(colon + 1);
        if (text.startsWith(' ')) text = text.slice(1);
        if (field === 'event') event.type = text;
        else if (field === 'data') event.data.push(text);
        else if (field === 'id' && !text.includes('\0')) event.id = text;
        else if (field === 'retry' && /^\d+$/.test(text)) this.#retryMs = Number(text);
      }
    }
  }
}
