/**
 * The one way a decoder reports text it cannot read: a `TributaryError('DECODE')` naming the
 * Postgres type and the offending text (truncated to 100 characters, JSON-quoted so control
 * characters and trailing spaces stay visible). Decoders call this only for text Postgres would
 * never produce under the session settings; well-formed output never reaches it.
 */
import { TributaryError } from '../../../core/errors.js';

const MAX_SHOWN = 100;

/** The text as shown in error messages: at most 100 characters, then an ellipsis. */
export function shownText(text: string): string {
  return JSON.stringify(text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text);
}

export function decodeError(typeName: string, text: string, reason?: string): TributaryError {
  return new TributaryError(
    'DECODE',
    `cannot decode a ${typeName} value from the text ${shownText(text)}${reason ? `: ${reason}` : ''}`,
    { hint: 'the value does not look like Postgres output under the session settings Tributary sets' },
  );
}
