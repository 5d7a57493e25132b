import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAccounts } from '@hearth/accounts';
import type { Accounts, AccountsOptions } from '@hearth/accounts';

/** Cheap scrypt parameters: the tests check behaviour, not cost. */
export const FAST = { ln: 10, r: 8, p: 1 } as const;

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'hearth-accounts-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function open(dir: string, options: Partial<AccountsOptions> = {}): Promise<Accounts> {
  return openAccounts({ dir, passwordParams: FAST, ...options });
}
