/** Typed HTTP errors: answered as JSON `{error, code, hint}` with their status by the HTTP API. */

/** An error the HTTP layer answers with its own status (not the 400 of a USAGE error). */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly status: number;
  readonly code: string;
  readonly hint: string | null;
  constructor(status: number, code: string, message: string, hint: string | null = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.hint = hint;
  }
}
