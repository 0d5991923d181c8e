/**
 * One error family for everything Tributary reports. Every error carries a machine-readable
 * `code`; errors that reach a user say what happened and what to change. The CLI maps codes to
 * exit codes in one place (`exitCodeFor`), and the source maps codes to a retry policy
 * (`isRetryable`).
 */

export type ErrorCode =
  // bad usage or configuration: exit 2, never retried
  | 'USAGE'
  | 'CONFIG'
  | 'CONNECT_FAILED'
  | 'AUTH_FAILED'
  | 'DATABASE_NOT_FOUND'
  | 'WAL_LEVEL'
  | 'NO_FREE_SLOT'
  | 'NO_FREE_WAL_SENDER'
  | 'REPLICATION_PRIVILEGE'
  | 'PUBLICATION_PRIVILEGE'
  | 'TABLE_NOT_FOUND'
  | 'TABLE_NOT_REPLICABLE'
  | 'TABLE_PRIVILEGE'
  | 'NO_REPLICA_IDENTITY'
  | 'SLOT_INVALIDATED'
  | 'SLOT_MISSING'
  | 'SLOT_WRONG_PLUGIN'
  | 'SLOT_WRONG_DATABASE'
  | 'SLOT_IN_USE'
  | 'PUBLICATION_MISMATCH'
  | 'UNSUPPORTED_SERVER'
  // runtime conditions
  | 'CONNECTION_LOST'
  | 'PROTOCOL'
  | 'DECODE'
  | 'SPOOL'
  | 'SINK'
  | 'ABORTED'
  // a check found a problem (exit 1)
  | 'CHECK_FAILED'
  | 'INTERNAL';

const CONFIGURATION_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'USAGE',
  'CONFIG',
  'CONNECT_FAILED',
  'AUTH_FAILED',
  'DATABASE_NOT_FOUND',
  'WAL_LEVEL',
  'NO_FREE_SLOT',
  'NO_FREE_WAL_SENDER',
  'REPLICATION_PRIVILEGE',
  'PUBLICATION_PRIVILEGE',
  'TABLE_NOT_FOUND',
  'TABLE_NOT_REPLICABLE',
  'TABLE_PRIVILEGE',
  'NO_REPLICA_IDENTITY',
  'SLOT_INVALIDATED',
  'SLOT_MISSING',
  'SLOT_WRONG_PLUGIN',
  'SLOT_WRONG_DATABASE',
  'SLOT_IN_USE',
  'PUBLICATION_MISMATCH',
  'UNSUPPORTED_SERVER',
]);

export interface TributaryErrorOptions {
  readonly cause?: unknown;
  /** What the user should change, printed after the message. */
  readonly hint?: string;
}

export class TributaryError extends Error {
  override readonly name = 'TributaryError';
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: TributaryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
  }

  /** The message a user sees: what happened, then what to change. */
  describe(): string {
    return this.hint ? `${this.message}\n  → ${this.hint}` : this.message;
  }
}

export function isTributaryError(error: unknown, code?: ErrorCode): error is TributaryError {
  return error instanceof TributaryError && (code === undefined || error.code === code);
}

/** Configuration problems exit 2; anything else that stops the process exits 1... unless it is a bug. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof TributaryError && CONFIGURATION_CODES.has(error.code)) return 2;
  return 1;
}

/** Whether the replication loop should reconnect after this error (with backoff) or stop. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof TributaryError) return error.code === 'CONNECTION_LOST';
  return false;
}
