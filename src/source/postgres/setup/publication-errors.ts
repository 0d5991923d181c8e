/**
 * Why CREATE or ALTER PUBLICATION failed, said as what to change. Missing privileges (42501)
 * become PUBLICATION_PRIVILEGE naming who may run the statement (CREATE PUBLICATION needs CREATE
 * on the database and ownership of every table; ALTER needs ownership of the publication and the
 * table) and giving the exact statement for a DBA. A table that is missing (42P01) or cannot be
 * published (22023) is TABLE_NOT_FOUND / TABLE_NOT_REPLICABLE. Other failures pass through.
 */
import { TributaryError } from '../../../core/errors.js';
import { quoteIdentifier } from '../../../core/table-ref.js';
import { messageOf, sqlState } from './pg-error.js';
import type { PublicationContext } from './publication-catalog.js';

export function publicationFailure(
  error: unknown,
  context: PublicationContext,
  name: string,
  action: 'create' | 'alter',
  statement: string,
  owner?: string,
): unknown {
  const state = sqlState(error);
  if (state === '42P01' || state === '22023')
    return new TributaryError(
      state === '42P01' ? 'TABLE_NOT_FOUND' : 'TABLE_NOT_REPLICABLE',
      `cannot ${action} publication ${JSON.stringify(name)}: ${messageOf(error)}`,
      { cause: error, hint: 'fix --tables (run preflight for the details)' },
    );
  if (state !== '42501') return error;
  const role = JSON.stringify(context.role);
  const text = messageOf(error);
  const who =
    action === 'alter' && /owner of publication/i.test(text)
      ? `the publication's owner (${JSON.stringify(owner)}) or a superuser`
      : /database/i.test(text)
        ? `a superuser, or a role with CREATE on database ${JSON.stringify(context.database)} that owns the tables`
        : "the tables' owner or a superuser";
  const grant = /database/i.test(text)
    ? `\nor let ${role} create publications: GRANT CREATE ON DATABASE ${quoteIdentifier(context.database)} TO ${quoteIdentifier(context.role)}; (it must still own the tables)`
    : '';
  return new TributaryError(
    'PUBLICATION_PRIVILEGE',
    `role ${role} may not ${action} publication ${JSON.stringify(name)}: ${text}. ${action === 'create' ? 'CREATE PUBLICATION needs CREATE on the database and ownership of every table in it' : 'adding a table needs ownership of the publication and of the table'}`,
    { cause: error, hint: `have ${who} run this once, then run Tributary again:\n${statement}${grant}` },
  );
}
