/**
 * The UPDATE state's work (RFC 1939 section 6), entered by QUIT from TRANSACTION: the messages
 * marked by DELE are expunged (those another session deleted meanwhile are skipped), then the
 * maildrop lock, if the session holds one, is released, before the reply.
 */
import type { Logger } from '@hearth/log';
import type { CounterSet } from '@hearth/metrics';
import type { counters } from './counters.js';
import { PermanentBackingError } from './maildrop.js';
import { replies, type Reply } from './replies.js';
import type { Transaction } from './state.js';

export async function update(tx: Transaction, log: Logger, counted: CounterSet<typeof counters>): Promise<Reply> {
  const doomed = [...tx.deleted].map((number) => tx.messages[number - 1]).filter((m) => m !== undefined);
  let removed = 0;
  try {
    if (doomed.length > 0) removed = await tx.maildrop.expunge(doomed);
  } catch (error) {
    log.error({ err: error }, 'deleting messages failed');
    return replies.updateFailed(error instanceof PermanentBackingError);
  } finally {
    // Before the reply: a client that logs in again as soon as it has the +OK (fetchmail
    // polling) must find the maildrop free, even when the store had to wait for a busy database.
    await tx.maildrop.release().catch((error: unknown) => log.error({ err: error }, 'releasing the lock failed'));
  }
  // What this QUIT removed: a message several sessions marked is counted once.
  counted.inc('messagesDeleted', removed);
  // One line per session that logged in, as Dovecot's "Logged out retr=N/bytes, del=N/M".
  log.info({ retrieved: tx.retrieved.messages, bytes: tx.retrieved.bytes, marked: doomed.length, deleted: removed }, 'logged out');
  return replies.updated(doomed.length);
}
