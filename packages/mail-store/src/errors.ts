/**
 * Every failure the store reports is a `MailStoreError` with a stable `code`. `temporary` tells a
 * protocol service whether to answer with a transient failure (SMTP 4xx, POP3 `[SYS/TEMP]`) or a
 * permanent one.
 */
import { isDiskFull } from '@hearth/sqlite';

export type MailStoreErrorCode =
  | 'BAD_USER_NAME'
  | 'NO_SUCH_USER'
  | 'MAILDROP_NOT_EMPTY'
  | 'MAILDROP_LOCKED'
  | 'NO_RECIPIENTS'
  | 'MESSAGE_TOO_LARGE'
  | 'NO_SUCH_MESSAGE'
  | 'STORAGE_FULL'
  | 'STORAGE_ERROR'
  | 'STORE_MISSING'
  | 'STORE_UNREADABLE'
  | 'SCHEMA_TOO_NEW'
  | 'STORE_CLOSED';

const TEMPORARY: ReadonlySet<MailStoreErrorCode> = new Set<MailStoreErrorCode>([
  'MAILDROP_LOCKED',
  'STORAGE_FULL',
  'STORAGE_ERROR',
  'STORE_CLOSED',
]);

export class MailStoreError extends Error {
  override readonly name = 'MailStoreError';
  readonly code: MailStoreErrorCode;
  /** True when retrying later may succeed (disk full, database busy, I/O error). */
  readonly temporary: boolean;

  constructor(code: MailStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.temporary = TEMPORARY.has(code);
  }
}

export function isMailStoreError(error: unknown, code?: MailStoreErrorCode): error is MailStoreError {
  return error instanceof MailStoreError && (code === undefined || error.code === code);
}

/** Maps an fs or SQLite failure to a temporary `MailStoreError`; store errors pass through. */
export function storageError(error: unknown, doing: string): MailStoreError {
  if (error instanceof MailStoreError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (isDiskFull(error)) {
    return new MailStoreError('STORAGE_FULL', `mail store is full while ${doing} (${String(code)})`, { cause: error });
  }
  const detail = error instanceof Error ? error.message : String(error);
  return new MailStoreError('STORAGE_ERROR', `mail store failed while ${doing}: ${detail}`, { cause: error });
}
