/**
 * The POP3 session states, named as RFC 1939 names them. Only `session.ts` changes the state.
 * Hearth's push extension (XIDLE) is a waiting mode of TRANSACTION (the session's phase,
 * `session-state.ts`): new messages are appended to `messages` (the next numbers) and pushed;
 * earlier numbers never change.
 */
import type { Maildrop, MessageInfo } from './maildrop.js';

export interface Authorization {
  readonly name: 'AUTHORIZATION';
  /** The name given by USER, waiting for PASS. */
  readonly pendingUser?: string;
}

export interface Transaction {
  readonly name: 'TRANSACTION';
  readonly user: string;
  /** The user's credential stamp at login (`MailBacking.credentialStamp`): another one ends the session. */
  readonly stamp: string | undefined;
  readonly maildrop: Maildrop;
  /**
   * The listing the backing gave at login, never changed (the store backing shares it between
   * sessions); `messages` starts as a copy of it.
   */
  readonly listed: readonly MessageInfo[];
  /** Numbered 1..n for the whole session (index + 1); append-only (XIDLE adds new arrivals). */
  readonly messages: MessageInfo[];
  /** Message numbers marked by DELE, removed only in UPDATE. */
  readonly deleted: Set<number>;
  /** What RETR sent in this session: the logout line says it (as Dovecot's `retr=N/bytes`). */
  readonly retrieved: { messages: number; bytes: number };
}

export interface Update {
  readonly name: 'UPDATE';
  readonly user: string;
}

export type SessionState = Authorization | Transaction | Update;
export type StateName = SessionState['name'];
