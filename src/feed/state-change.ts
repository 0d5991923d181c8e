/**
 * A condition variable for a single-threaded state machine: `wait()` resolves at the next
 * `notify()`; callers re-check their condition in a loop. The feeds use it for backpressure
 * and flushes.
 */
export class StateChange {
  #waiters: (() => void)[] = [];

  /** Resolves at the next notify(). */
  wait(): Promise<void> {
    return new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  /** Registers `wake` for the next notify() (for waits that can also end otherwise). */
  add(wake: () => void): void {
    this.#waiters.push(wake);
  }

  notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
