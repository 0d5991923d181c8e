/**
 * Reading the errors pg raises: a server error carries its SQLSTATE in `code` (five characters)
 * and a `severity`; a socket error carries a Node system code (`ECONNREFUSED`, ...), sometimes
 * inside an AggregateError when a name resolved to several addresses. These helpers never look at
 * the connection config, so nothing they return can hold a password.
 */

/** The SQLSTATE of a server error, or undefined for anything else. */
export function sqlState(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, severity } = error as { code?: unknown; severity?: unknown };
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && severity !== undefined ? code : undefined;
}

/** The Node system error code (`ECONNREFUSED`, `ENOTFOUND`, ...), looking inside AggregateErrors. */
export function systemCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, errors } = error as { code?: unknown; errors?: unknown };
  if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code;
  if (Array.isArray(errors)) for (const inner of errors) if (systemCode(inner)) return systemCode(inner);
  return undefined;
}

/** The error's own message, or its string form. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
