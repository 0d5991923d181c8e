/**
 * Calls to the JSON API of the server that served this page, with the token when the user gave
 * one (kept in sessionStorage: this tab only, gone when it closes; never put in a URL).
 *
 * `getJson` answers the parsed body, or throws an ApiError carrying the HTTP status and the
 * server's `{error, hint}`; a 401 also calls the `onUnauthorized` the page registered.
 */

const TOKEN_KEY = 'tributary.token';

export class ApiError extends Error {
  constructor(status, message, hint) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.hint = hint ?? null;
  }
}

export class Api {
  #onUnauthorized = () => {};

  /** Called when the server answers 401 (no token, or a wrong one). */
  onUnauthorized(callback) {
    this.#onUnauthorized = callback;
  }

  get token() {
    try {
      return sessionStorage.getItem(TOKEN_KEY);
    } catch {
      return null;
    }
  }

  set token(value) {
    try {
      if (value) sessionStorage.setItem(TOKEN_KEY, value);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      // storage disabled: the token lasts for this call only
    }
  }

  /** Headers for a call: the bearer token when there is one, plus `extra`. */
  headers(extra = {}) {
    const token = this.token;
    return token ? { ...extra, authorization: `Bearer ${token}` } : { ...extra };
  }

  /** GET `path` (same origin) as JSON. */
  async getJson(path, { signal } = {}) {
    const response = await fetch(path, {
      headers: this.headers({ accept: 'application/json' }),
      cache: 'no-store',
      ...(signal ? { signal } : {}),
    });
    return this.read(response);
  }

  /** The JSON body of `response`, or an ApiError for a status other than 2xx. */
  async read(response) {
    if (response.ok) return response.json();
    let body = null;
    try {
      body = await response.json();
    } catch {
      // not JSON: the status says enough
    }
    if (response.status === 401) this.#onUnauthorized();
    throw new ApiError(response.status, body?.error ?? `HTTP ${response.status}`, body?.hint);
  }
}
