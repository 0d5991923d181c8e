/**
 * Slot names as Postgres accepts them (ReplicationSlotValidateName): lower-case letters, digits and
 * underscores, 1 to 63 of them. Checked before anything is created, so a bad `--slot` is a usage
 * error rather than a failure halfway through set-up.
 */
import { TributaryError } from '../../../core/errors.js';

const SLOT_NAME = /^[a-z0-9_]{1,63}$/;

/** True for a name Postgres accepts; otherwise throws USAGE saying what is wrong and what to use. */
export function slotNameIsValid(name: string): true {
  if (SLOT_NAME.test(name)) return true;
  const suggestion =
    name
      .toLowerCase()
      .replace(/[^a-z0-9_]/g, '_')
      .slice(0, 63) || 'tributary';
  const what =
    name.length === 0
      ? 'it is empty'
      : name.length > 63
        ? `it has ${name.length} characters, more than 63`
        : 'Postgres allows only lower-case letters, digits and underscores';
  throw new TributaryError('USAGE', `slot name ${JSON.stringify(name)} is not valid: ${what}`, {
    hint: `for example --slot ${suggestion}`,
  });
}
