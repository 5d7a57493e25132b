/**
 * Every failure the accounts report is an `AccountsError` with a stable `code`. `temporary` tells
 * a protocol service whether to answer with a transient failure (SMTP 4xx, POP3 `[SYS/TEMP]`).
 */
import { isDiskFull } from '@hearth/sqlite';

export type AccountsErrorCode =
  | 'BAD_USER_NAME'
  | 'BAD_PASSWORD'
  | 'BAD_GROUP_NAME'
  | 'BAD_REASON'
  | 'LAST_ADMIN'
  | 'USER_EXISTS'
  | 'NO_SUCH_USER'
  | 'ACCOUNTS_MISSING'
  | 'SCHEMA_TOO_NEW'
  | 'STORAGE_FULL'
  | 'STORAGE_ERROR'
  | 'ACCOUNTS_CLOSED';

const TEMPORARY: ReadonlySet<AccountsErrorCode> = new Set<AccountsErrorCode>(['STORAGE_FULL', 'STORAGE_ERROR', 'ACCOUNTS_CLOSED']);

export class AccountsError extends Error {
  override readonly name = 'AccountsError';
  readonly code: AccountsErrorCode;
  /** True when retrying later may succeed (disk full, database busy, I/O error). */
  readonly temporary: boolean;

  constructor(code: AccountsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.temporary = TEMPORARY.has(code);
  }
}

export function isAccountsError(error: unknown, code?: AccountsErrorCode): error is AccountsError {
  return error instanceof AccountsError && (code === undefined || error.code === code);
}

/** Maps an fs or SQLite failure to a temporary `AccountsError`; account errors pass through. */
export function storageError(error: unknown, doing: string): AccountsError {
  if (error instanceof AccountsError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (isDiskFull(error)) {
    return new AccountsError('STORAGE_FULL', `the accounts database is full while ${doing} (${String(code)})`, { cause: error });
  }
  const detail = error instanceof Error ? error.message : String(error);
  return new AccountsError('STORAGE_ERROR', `the accounts database failed while ${doing}: ${detail}`, { cause: error });
}
