/**
 * The live change feed: the last changes applied, newest on top, at most MAX_ROWS. Seeded from
 * `/api/events`, then fed by the SSE stream `/api/events/stream` (sse.js), which resumes after
 * the last `seq` seen; where the server has no stream, `/api/events?after=` is polled instead.
 * Each row says table, operation, key and commit time; values other than the key never reach
 * the page (the server sends none).
 */
import { formatClock, formatKey } from './format.js';
import { EventStream } from './sse.js';

const MAX_ROWS = 200;

export class Feed {
  #api;
  #body;
  #state;
  #lastSeq = 0;
  #stream;
  #polling = null;

  constructor(api, table, state) {
    this.#api = api;
    this.#body = table.tBodies[0];
    this.#state = state;
    this.#stream = new EventStream(api, '/api/events/stream', {
      onEvent: (type, data) => {
        if (type === 'change') this.#add([JSON.parse(data)]);
      },
      onState: (state, detail) => this.#show(state, detail),
      onFatal: (error) => {
        if (error.status === 404) this.#poll();
      },
    });
  }

  /** Loads the latest changes, then follows the stream. Again after a token was given. */
  async start() {
    this.#stream.stop();
    this.#stopPolling();
    try {
      const after = this.#lastSeq > 0 ? `&after=${this.#lastSeq}` : '';
      const { events } = await this.#api.getJson(`/api/events?limit=${MAX_ROWS}${after}`);
      this.#add(events);
    } catch (error) {
      this.#show('stopped', error.message);
      if (error.status === 401) return;
    }
    this.#stream.start(this.#lastSeq > 0 ? String(this.#lastSeq) : null);
  }

  #poll() {
    this.#stopPolling();
    this.#show('open', 'polling');
    this.#polling = setInterval(async () => {
      try {
        const { events } = await this.#api.getJson(`/api/events?after=${this.#lastSeq}&limit=${MAX_ROWS}`);
        this.#add(events);
        this.#show('open', 'polling');
      } catch (error) {
        this.#show('retrying', error.message);
        if (error.status === 401) this.#stopPolling();
      }
    }, 2000);
  }

  #stopPolling() {
    if (this.#polling !== null) clearInterval(this.#polling);
    this.#polling = null;
  }

  /**
   * Adds changes (oldest first), skipping any already shown. The server sends only changes after
   * the last seq asked for, so an older seq means `run` restarted (its seqs start again at 1).
   */
  #add(changes) {
    if (changes.length > 0 && changes[0].seq <= this.#lastSeq) this.#lastSeq = 0;
    const fresh = changes.filter((c) => c.seq > this.#lastSeq);
    if (fresh.length === 0) return;
    this.#lastSeq = fresh[fresh.length - 1].seq;
    const rows = document.createDocumentFragment();
    for (const change of fresh.slice(-MAX_ROWS).reverse()) rows.append(row(change));
    this.#body.prepend(rows);
    while (this.#body.rows.length > MAX_ROWS) this.#body.lastElementChild.remove();
    this.#body.closest('table').dataset.lastSeq = String(this.#lastSeq);
  }

  #show(state, detail) {
    const text = { open: 'live', retrying: 'reconnecting…', stopped: 'stopped' }[state] ?? state;
    this.#state.textContent = detail ? `${text} (${detail})` : text;
    this.#state.dataset.state = state;
  }
}

function row(change) {
  const tr = document.createElement('tr');
  tr.dataset.seq = String(change.seq);
  tr.className = `op-${change.op}`;
  const cells = [
    [formatClock(change.commitTime), change.commitTime],
    [change.table],
    [change.op],
    [formatKey(change.key)],
    [(change.columns ?? []).join(', ')],
  ];
  for (const [text, title] of cells) {
    const td = document.createElement('td');
    td.textContent = text;
    if (title) td.title = title;
    tr.append(td);
  }
  tr.cells[3].className = 'key';
  return tr;
}
