/**
 * The POP3 session states, named as RFC 1939 names them. Only `session.ts` changes the state.
 * A later push extension adds a waiting sub-mode of TRANSACTION here (new messages appended to
 * `messages`), and a send command is one more entry in the command table valid in TRANSACTION.
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
  readonly maildrop: Maildrop;
  /** Numbered 1..n for the whole session (index + 1). */
  readonly messages: readonly MessageInfo[];
  /** Message numbers marked by DELE, removed only in UPDATE. */
  readonly deleted: Set<number>;
}

export interface Update {
  readonly name: 'UPDATE';
  readonly user: string;
}

export type SessionState = Authorization | Transaction | Update;
export type StateName = SessionState['name'];
