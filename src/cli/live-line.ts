/**
 * A live status line for anything that can take more than a second (the project's rule).
 *
 * On a terminal it is one line rewritten in place with `\r`: a spinner, what is happening and
 * the seconds so far; when the step ends the line is replaced by its outcome. Anywhere else (a
 * pipe, a file, CI) it writes plain lines — the step when it starts, its outcome when it ends,
 * a long-running status at most every few seconds — with no control characters, since tests
 * and logs read them. Lines printed with `say` while a step runs go above the live line.
 *
 * No colours, no cursor hiding, no signal handlers: Ctrl-C stays with the command, which has
 * things to clean up (the demo stops its embedded Postgres). See the commit that added this
 * file for why no spinner library is used.
 */

export interface LiveOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  /** The terminal's width: the live line is cut to fit, since `\r` cannot go back over a wrapped line. */
  readonly columns?: number;
}

export interface LiveLineOptions {
  /** Milliseconds, monotonic; injectable for tests. */
  readonly now?: () => number;
  /** How often the live line is redrawn on a terminal. Default 100 ms. */
  readonly redrawMs?: number;
  /** Off a terminal, a `status` line is printed at most this often. Default 5 s. */
  readonly plainStatusEveryMs?: number;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export class LiveLine {
  readonly #out: LiveOutput;
  readonly #tty: boolean;
  readonly #now: () => number;
  readonly #redrawMs: number;
  readonly #plainStatusEveryMs: number;
  /** The text on the live line now (terminal only), to redraw it after `say` and blank it out. */
  #shown = '';
  #render: (() => string) | null = null;
  #lastPlainStatus = Number.NEGATIVE_INFINITY;

  constructor(out: LiveOutput = process.stdout, options: LiveLineOptions = {}) {
    this.#out = out;
    this.#tty = out.isTTY === true;
    this.#now = options.now ?? (() => performance.now());
    this.#redrawMs = options.redrawMs ?? 100;
    this.#plainStatusEveryMs = options.plainStatusEveryMs ?? 5_000;
  }

  /** Prints a line; on a terminal above the live line, which is drawn again below it. */
  say(text = ''): void {
    this.#clear();
    this.#out.write(`${text}\n`);
    this.#draw();
  }

  /**
   * Runs `work` while the live line shows `text` and the seconds elapsed, then prints
   * `done(result, seconds)`. If `work` fails the line says so, and the error is rethrown.
   */
  async step<T>(
    text: string,
    work: () => Promise<T>,
    done: (result: T, seconds: string) => string,
  ): Promise<T> {
    const started = this.#now();
    const seconds = () => ((this.#now() - started) / 1000).toFixed(1);
    if (!this.#tty) this.#out.write(`${text}\n`);
    let frame = 0;
    this.#render = () => `${FRAMES[frame++ % FRAMES.length]} ${text}  ${seconds()} s`;
    this.#draw();
    const timer = this.#tty ? setInterval(() => this.#draw(), this.#redrawMs) : null;
    try {
      const result = await work();
      this.#finish(done(result, seconds()));
      return result;
    } catch (error) {
      this.#finish(`✖ ${text} failed after ${seconds()} s`);
      throw error;
    } finally {
      if (timer) clearInterval(timer);
    }
  }

  /**
   * A status that keeps changing (a live workload): rewritten in place on a terminal; elsewhere
   * printed as a plain line at most every `plainStatusEveryMs`. `end` finishes it.
   */
  status(text: string): void {
    if (this.#tty) {
      this.#render = () => text;
      this.#draw();
      return;
    }
    const now = this.#now();
    if (now - this.#lastPlainStatus < this.#plainStatusEveryMs) return;
    this.#lastPlainStatus = now;
    this.#out.write(`${text}\n`);
  }

  /** Leaves the live line (if any) as it stands and moves below it. */
  end(): void {
    this.#render = null;
    if (this.#tty && this.#shown !== '') this.#out.write('\n');
    this.#shown = '';
  }

  #finish(text: string): void {
    this.#render = null;
    this.#clear();
    this.#out.write(`${text}\n`);
  }

  #draw(): void {
    if (!this.#tty || !this.#render) return;
    const width = this.#out.columns || 80; // 0 when the terminal does not say
    const text = this.#render().slice(0, Math.max(10, width - 1));
    // blank out whatever of the previous text the new one does not cover
    this.#out.write(`\r${text}${' '.repeat(Math.max(0, this.#shown.length - text.length))}`);
    this.#shown = text;
  }

  #clear(): void {
    if (!this.#tty || this.#shown === '') return;
    this.#out.write(`\r${' '.repeat(this.#shown.length)}\r`);
    this.#shown = '';
  }
}
