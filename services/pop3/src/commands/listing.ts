/**
 * LIST and UIDL of a whole maildrop, formatted once per listing. While a session has marked
 * nothing deleted and nothing arrived during it (XIDLE), its messages are exactly the listing the
 * backing gave it at login, which the store backing shares between the sessions of a user while
 * the maildrop does not change: so is the text, kept as long as that listing is.
 */
import type { MessageInfo } from '../maildrop.js';
import type { Reply } from '../replies.js';
import type { Transaction } from '../state.js';

type Kind = 'list' | 'uidl';

const formatted = new WeakMap<readonly MessageInfo[], { list?: Buffer; uidl?: Buffer }>();

/** The whole LIST or UIDL response after its status line, or undefined if the session changed it. */
export function wholeListing(tx: Transaction, kind: Kind, status: string): Reply | undefined {
  if (tx.deleted.size > 0 || tx.messages.length !== tx.listed.length) return undefined;
  let entry = formatted.get(tx.listed);
  if (entry === undefined) {
    entry = {};
    formatted.set(tx.listed, entry);
  }
  const body = (entry[kind] ??= format(tx.listed, kind));
  return { kind: 'formatted', text: status, body };
}

/** "n size" or "n uidl" lines (neither can start with a dot), CRLF, and the final ".". */
function format(messages: readonly MessageInfo[], kind: Kind): Buffer {
  let text = '';
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    text += `${i + 1} ${kind === 'list' ? m.size : m.uidl}\r\n`;
  }
  return Buffer.from(`${text}.\r\n`, 'latin1');
}

/** Count and octets of the messages not marked deleted (STAT, RSET, login), without a copy. */
export function totals(tx: Pick<Transaction, 'messages' | 'deleted'>): { count: number; octets: number } {
  let count = 0;
  let octets = 0;
  for (let i = 0; i < tx.messages.length; i++) {
    if (tx.deleted.has(i + 1)) continue;
    count++;
    octets += tx.messages[i]!.size;
  }
  return { count, octets };
}
