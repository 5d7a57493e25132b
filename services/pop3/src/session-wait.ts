/**
 * The session's side of XIDLE (README "X-HEARTH-PUSH"): after XIDLE's +OK a `Wait` (waiting.ts)
 * is held by the session's phase, registered with the PushHub and woken once for what arrived
 * since login or since the last wait; the next line ends it (DONE, or any other line, which is
 * answered -ERR and not run) once everything found is pushed; a closing session cancels it.
 *
 * A waiting session sends no command line to be checked at: before each push line and every
 * `credentialCheckInterval` the wait asks `mayGoOn`. Changed credentials end the wait and the
 * session with the line a command would get; credentials that cannot be read end them with
 * `-ERR [SYS/TEMP]`, pushing nothing unchecked. A client that does not read its push lines
 * (more than `maxPendingPushes` behind, the socket full) is cut off.
 */
import type { Socket } from 'node:net';
import type { Logger } from '@hearth/log';
import { totals } from './commands/listing.js';
import { credentialsChanged } from './login.js';
import type { PushHub } from './push.js';
import { replies, type Reply } from './replies.js';
import type { SessionDeps } from './session-deps.js';
import type { Transaction } from './state.js';
import { Wait } from './waiting.js';

/** What a wait needs of its session; the session's phase and state stay the session's. */
export interface WaitingSession {
  readonly socket: Socket;
  readonly log: Logger;
  readonly deps: Pick<SessionDeps, 'hub' | 'settings' | 'counters' | 'backing'>;
  /** The session is closed. */
  readonly closing: () => boolean;
  /** Puts the wait into the session's phase, before it can push or fail. */
  readonly enter: (wait: Wait) => void;
  /** Writes a line, if the socket still takes one. */
  readonly write: (line: string) => void;
  /** Ends the session (idempotent): it cancels the wait. */
  readonly close: () => void;
}

/** Starts a wait for `tx`, held by the session's phase from the start. */
export function beginWait(tx: Transaction, session: WaitingSession): void {
  const { socket, log, deps } = session;
  const wait = new Wait(tx, {
    socket,
    log,
    maxPending: deps.settings.maxPendingPushes,
    onOverflow: () => cutOff(session),
    onClosed: () => session.close(),
    onPushed: (n: number) => deps.counters.inc('messagesPushed', n),
    checkCredentials: () => mayGoOn(tx, session),
    credentialCheckMs: deps.settings.credentialCheckInterval,
  });
  session.enter(wait);
  deps.hub.add(tx.user, wait);
  log.debug('waiting for new mail');
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

/** The session is closing: the wait pushes nothing more. */
export function cancelWait(tx: Transaction, wait: Wait, hub: PushHub): void {
  hub.remove(tx.user, wait);
  wait.cancel();
}

/** The wait may push (true), or the session has ended (false): closed, or its credentials changed or unreadable. */
function mayGoOn(tx: Transaction, session: WaitingSession): boolean {
  if (session.closing()) return false;
  try {
    if (!credentialsChanged(session.deps.backing, tx, session.log)) return true;
    session.write(replies.credentialsChangedLine());
  } catch (error) {
    session.log.error({ err: error }, 'checking the credentials of a waiting session failed');
    session.write(replies.internalErrorLine());
  }
  session.close();
  return false;
}

/** The client is not reading its push lines: the session ends, its socket destroyed. */
function cutOff(session: WaitingSession): void {
  session.log.warn({ limit: session.deps.settings.maxPendingPushes }, 'client not reading new-mail notifications; closing');
  session.write(replies.pushBacklog());
  session.close();
  session.socket.destroy();
}
