/**
 * The session's side of XIDLE (README "X-HEARTH-PUSH"): after XIDLE's +OK a `Wait` (waiting.ts)
 * is held by the session's phase, registered with the PushHub and woken once for what arrived
 * since login or since the last wait; the next line ends it (DONE, or any other line, which is
 * answered -ERR and not run) once everything found is pushed. Changed credentials end it and
 * the session (the wait's `checkCredentials`, before each push and every `credentialCheckInterval`).
 */
import { totals } from './commands/listing.js';
import type { PushHub } from './push.js';
import { replies, type Reply } from './replies.js';
import type { Transaction } from './state.js';
import { Wait, type WaitOptions } from './waiting.js';

/** Starts a wait for `tx`; `enter` puts it into the session's phase before it can push or fail. */
export function beginWait(tx: Transaction, hub: PushHub, options: WaitOptions, enter: (wait: Wait) => void): void {
  const wait = new Wait(tx, options);
  enter(wait);
  hub.add(tx.user, wait);
  options.log.debug('waiting for new mail');
  wait.wake();
}

/** Ends the wait with `line`: its reply, after the last push lines. */
export async function endWait(tx: Transaction, wait: Wait, hub: PushHub, line: string): Promise<Reply> {
  hub.remove(tx.user, wait);
  await wait.stop();
  if (line.trim().toUpperCase() !== 'DONE') return replies.waitBadLine();
  const { count, octets } = totals(tx);
  return replies.waitDone(count, octets);
}
