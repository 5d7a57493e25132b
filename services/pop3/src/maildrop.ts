import type { Authentication } from '@hearth/accounts';
import type { HearthNotice } from '@hearth/mail-delivery';

/**
 * The port between the POP3 protocol engine and whatever stores mail. The engine needs exactly
 * this; `memory-backing.ts` implements it for tests, `store-backing.ts` over @hearth/mail-store.
 */
export interface MessageInfo {
  /** The backing's own id, opaque to the engine. */
  readonly id: string;
  /** Unique id listing (RFC 1939 UIDL): 1..70 chars in 0x21..0x7E, stable, never reused. */
  readonly uidl: string;
  /** Size in octets with CRLF line ends, before dot-stuffing. */
  readonly size: number;
}

export type OpenResult =
  | { readonly ok: true; readonly maildrop: Maildrop }
  /** Another session holds the maildrop's exclusive lock. */
  | { readonly ok: false; readonly reason: 'in-use' };

export interface MailBacking {
  /**
   * Whether `password` is right and the account may log in (`Accounts.authenticate`): `rejected`
   * for a wrong password or an unknown user, `disabled` only once the password is right.
   */
  authenticate(user: string, password: string): Promise<Authentication>;
  /**
   * An opaque value that changes whenever the user's password is set, undefined once the user is
   * deleted (`Accounts.credentialStamp`): a session keeps the one of its login and ends when it
   * changes.
   */
  credentialStamp(user: string): string | undefined;
  /**
   * The shared secret for APOP, if the user has one. Resolves the canonical name too, and says
   * whether the account is disabled (told only once the digest is right).
   */
  apopSecret(user: string): Promise<{ readonly user: string; readonly secret: string; readonly disabled: DisabledLogin | undefined } | undefined>;
  /**
   * Snapshot the maildrop's messages (STAT/LIST never read bodies), with its exclusive lock when
   * `exclusive` (else nothing is written: several sessions of a user may hold snapshots at once).
   */
  openMaildrop(user: string, options: { readonly exclusive: boolean }): Promise<OpenResult>;
  /** The canonical name of an existing local user, else undefined (XSEND recipients). */
  findUser(name: string): Promise<string | undefined>;
  /**
   * Store one message for every recipient, all or nothing (XSEND). `body` is read with
   * back-pressure; throw `MessageTooLargeError` past `maxSize` (counted after `prefix`).
   */
  deliver(input: DeliverInput): Promise<readonly HearthNotice[]>;
}

/** A disabled account (`Accounts.disable`): why, if the administrator said. */
export interface DisabledLogin {
  readonly reason: string | undefined;
}

export interface DeliverInput {
  readonly recipients: readonly string[];
  /** Trace header lines written before the body. */
  readonly prefix: string;
  readonly body: AsyncIterable<Uint8Array>;
  readonly maxSize: number;
}

/**
 * A message body read into buffers the caller owns (RETR and TOP reuse a small pool of them):
 * `read` copies the next bytes to the start of `into`, 0 once `done`.
 */
export interface BodyReader {
  readonly done: boolean;
  read(into: Buffer): Promise<number>;
  /** Idempotent. */
  close(): Promise<void>;
}

/** A locked maildrop as seen by one session. */
export interface Maildrop {
  /** The messages at lock time, in the order they are numbered (1..n). */
  readonly messages: readonly MessageInfo[];
  /**
   * The message as stored (CRLF or LF line ends), read on demand into the session's buffers.
   * Rejects with `MessageGoneError` when another session has deleted it since the snapshot.
   */
  openBody(message: MessageInfo): Promise<BodyReader>;
  /**
   * Messages that arrived since the snapshot or the previous call, in arrival order, from the
   * index only (XIDLE). Never returns a message twice.
   */
  refresh(): Promise<readonly MessageInfo[]>;
  /**
   * Optional (XIDLE push without an index read): what a 'hearth' notice about INBOX announces, if
   * that needs no index read: `[message]` when its uid comes right after every uid this maildrop
   * knows (counted as if `refresh` had returned it), `[]` when the uid is already known, undefined
   * when in doubt (a gap: a notice may have been missed) and the caller must `refresh`.
   */
  fromNotice?(notice: HearthNotice): readonly MessageInfo[] | undefined;
  /**
   * Remove these messages for good (the UPDATE state); those another session removed already
   * are skipped. Resolves to the count removed now.
   */
  expunge(messages: readonly MessageInfo[]): Promise<number>;
  /** Release the lock, if the maildrop was opened with one. Idempotent. */
  release(): Promise<void>;
}

/**
 * A failure of the backing that will not go away by retrying (answered `-ERR [SYS/PERM]`);
 * anything else unexpected is answered `-ERR [SYS/TEMP]`.
 */
export class PermanentBackingError extends Error {
  override readonly name = 'PermanentBackingError';
}

/** The message was in the snapshot but another session has deleted it since (RETR, TOP). */
export class MessageGoneError extends Error {
  override readonly name = 'MessageGoneError';
}

/** The message passed the size cap given to `deliver`. */
export class MessageTooLargeError extends Error {
  override readonly name = 'MessageTooLargeError';
}
