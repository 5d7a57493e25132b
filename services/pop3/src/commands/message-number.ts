/** Message-number arguments: digits only, 1..n, not marked deleted. */
import type { MessageInfo } from '../maildrop.js';
import { replies, type Reply } from '../replies.js';
import type { Transaction } from '../state.js';

export type Lookup =
  | { readonly ok: true; readonly number: number; readonly message: MessageInfo }
  | { readonly ok: false; readonly reply: Reply };

export function lookupMessage(tx: Transaction, arg: string): Lookup {
  if (!/^\d{1,10}$/.test(arg)) return { ok: false, reply: replies.invalidNumber(arg) };
  const number = Number(arg);
  const message = tx.messages[number - 1];
  if (number < 1 || message === undefined) return { ok: false, reply: replies.noSuchMessage(number) };
  if (tx.deleted.has(number)) return { ok: false, reply: replies.alreadyDeleted(number) };
  return { ok: true, number, message };
}

/** Messages not marked deleted, with their numbers, and their total size. */
export function visible(tx: Transaction): { entries: Array<{ number: number; message: MessageInfo }>; octets: number } {
  const entries: Array<{ number: number; message: MessageInfo }> = [];
  let octets = 0;
  tx.messages.forEach((message, index) => {
    if (tx.deleted.has(index + 1)) return;
    entries.push({ number: index + 1, message });
    octets += message.size;
  });
  return { entries, octets };
}
