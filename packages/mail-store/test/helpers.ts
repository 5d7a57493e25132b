import { afterEach, beforeEach } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openMailStore } from '@hearth/mail-store';
import type { MailStore, MailStoreOptions } from '@hearth/mail-store';

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'hearth-mail-store-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function open(dir: string, options: Partial<MailStoreOptions> = {}): Promise<MailStore> {
  return openMailStore({ dir, ...options });
}

export async function readAll(stream: AsyncIterable<Uint8Array | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** What `storeFixture` hands each test: its own directory and the store open in it. */
export interface StoreFixture {
  dir: string;
  /** Open for the test; a test that reopens it assigns the new one here, and that one is closed. */
  store: MailStore;
}

/**
 * Registers beforeEach/afterEach: each test gets a fresh temp directory with a store open in it
 * and a maildrop for each of `users`; afterwards the store is closed and the directory removed.
 */
export function storeFixture(users: readonly string[]): StoreFixture {
  const fixture = { dir: '', store: undefined } as unknown as StoreFixture;
  let cleanup = async (): Promise<void> => {};
  beforeEach(async () => {
    ({ dir: fixture.dir, cleanup } = await tempDir());
    fixture.store = await open(fixture.dir);
    for (const user of users) fixture.store.addMaildrop(user);
  });
  afterEach(async () => {
    await fixture.store.close();
    await cleanup();
  });
  return fixture;
}
