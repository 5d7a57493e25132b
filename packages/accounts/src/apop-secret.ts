/**
 * A generated APOP secret, as app passwords are: random (`node:crypto`), 20 characters in four
 * groups of five joined by hyphens, from lower-case letters and digits without the ones easily
 * mistaken for another (no `0`, `1`, `i`, `l`, `o`), so that it can be read off a screen and typed
 * into a mail client. 31 symbols a character: about 99 bits. The hyphens are part of the secret.
 */
import { randomInt } from 'node:crypto';

/** The characters of a generated secret: a-z without i, l, o; 2-9. */
export const APOP_SECRET_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
const GROUPS = 4;
const GROUP_LENGTH = 5;

/** The shape of a generated secret, for callers that check one (`xxxxx-xxxxx-xxxxx-xxxxx`). */
export const GENERATED_APOP_SECRET = new RegExp(`^[${APOP_SECRET_ALPHABET}]{${GROUP_LENGTH}}(-[${APOP_SECRET_ALPHABET}]{${GROUP_LENGTH}}){${GROUPS - 1}}$`);

export function generateApopSecret(): string {
  const group = (): string => Array.from({ length: GROUP_LENGTH }, () => APOP_SECRET_ALPHABET[randomInt(APOP_SECRET_ALPHABET.length)]).join('');
  return Array.from({ length: GROUPS }, group).join('-');
}
