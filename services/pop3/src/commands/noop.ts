/** NOOP (RFC 1939 5). */
import { replies, type Reply } from '../replies.js';

export function noop(): Reply {
  return replies.noop();
}
