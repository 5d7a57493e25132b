/**
 * The narrow ports the SMTP service needs from the rest of Hearth. `store.ts` adapts the mail
 * store and the TLS package to them; tests can plug in their own.
 */
import type { Authentication } from '@hearth/accounts';
import type { HearthNotice } from '@hearth/mail-delivery';
import type { SuiteSettings } from '@hearth/runtime';

export interface Delivery {
  /** Local user names, each once. */
  readonly recipients: readonly string[];
  /** Our trace headers, stored before the body. */
  readonly prefix: string;
  /**
   * The message as the client sent it (dot-unstuffed, CRLF). Read it with back-pressure; it
   * throws when the client goes away or the message passes the size cap, and the delivery must
   * then store nothing.
   */
  readonly body: AsyncIterable<Buffer>;
}

export interface MailSink {
  /**
   * Store prefix and body for every recipient, all or nothing; resolves once committed and
   * synced, with the store's new-mail notice for each copy (announced as it is). Rejects when
   * nothing was stored.
   */
  deliver(delivery: Delivery): Promise<readonly HearthNotice[]>;
}

export interface UserDirectory {
  /** Whether `user` (a local user name) exists. */
  has(user: string): Promise<boolean>;
  /**
   * Whether `password` is `user`'s and the account may log in (`Accounts.authenticate`):
   * `rejected` for a wrong password or an unknown user, `disabled` only once the password is right.
   */
  authenticate(user: string, password: string): Promise<Authentication>;
  /**
   * An opaque value that changes whenever `user`'s password is set, undefined once the user is
   * deleted (`Accounts.credentialStamp`): a session keeps the one of its AUTH.
   */
  credentialStamp(user: string): string | undefined;
  /** The first administrator with a maildrop (oldest account first): `postmaster`'s default. */
  firstAdmin(): Promise<string | undefined>;
}

export interface TlsMaterial {
  readonly key: string | Buffer;
  readonly cert: string | Buffer;
}

/** Where certificate and key come from; called at start and on every reload. */
export type TlsSource = (suite: SuiteSettings) => Promise<TlsMaterial>;

/** Whether a store error means "out of space" (452 4.3.1) rather than any other failure (451). */
export function isStorageFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'STORAGE_FULL' || code === 'ENOSPC' || code === 'SQLITE_FULL' || code === 'EDQUOT';
}
