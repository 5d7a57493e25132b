/**
 * The MailBacking over @hearth/accounts (passwords, APOP secrets) and @hearth/mail-store
 * (maildrops, the cross-process lock).
 */
import { randomUUID } from 'node:crypto';
import type { Accounts } from '@hearth/accounts';
import { isMailStoreError, normalizeUserName, type MailStore } from '@hearth/mail-store';
import {
  MessageTooLargeError,
  type BodyReader,
  PermanentBackingError,
  type MailBacking,
  type Maildrop,
  type MessageInfo,
  type OpenResult,
} from './maildrop.js';

/** Re-throw the store's permanent failures as PermanentBackingError ([SYS/PERM]). */
async function translate<T>(work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isMailStoreError(error) && error.code === 'MESSAGE_TOO_LARGE') throw new MessageTooLargeError(error.message, { cause: error });
    if (isMailStoreError(error) && !error.temporary) throw new PermanentBackingError(error.message, { cause: error });
    throw error;
  }
}

const info = (m: { messageId: number; uidl: string; size: number }): MessageInfo => ({
  id: String(m.messageId),
  uidl: m.uidl,
  size: m.size,
});

function canonical(name: string): string | undefined {
  try {
    return normalizeUserName(name);
  } catch {
    return undefined;
  }
}

interface Listing {
  readonly version: string;
  readonly messages: readonly MessageInfo[];
  readonly lastUid: number;
}

/**
 * Each user's last listing, reused while the store's maildrop version is the same (no message
 * added or removed since, by any process): a login reads one index row and a count instead of
 * every message row. Bounded by the number of messages held; the oldest users go first.
 */
class ListingCache {
  readonly #entries = new Map<string, Listing>();
  #messages = 0;

  constructor(private readonly maxMessages: number) {}

  get(user: string, version: string): Listing | undefined {
    const entry = this.#entries.get(user);
    if (entry === undefined || entry.version !== version) return undefined;
    this.#entries.delete(user); // most recently used last
    this.#entries.set(user, entry);
    return entry;
  }

  set(user: string, listing: Listing): void {
    this.#drop(user);
    if (listing.messages.length > this.maxMessages) return;
    this.#entries.set(user, listing);
    this.#messages += listing.messages.length;
    for (const oldest of this.#entries.keys()) {
      if (this.#messages <= this.maxMessages) break;
      this.#drop(oldest);
    }
  }

  #drop(user: string): void {
    const entry = this.#entries.get(user);
    if (entry === undefined) return;
    this.#entries.delete(user);
    this.#messages -= entry.messages.length;
  }
}

export interface StoreBackingOptions {
  /** Messages kept in listings between sessions (default 100,000; 0 turns the cache off). */
  readonly listingCacheMessages?: number;
}

export function storeBacking(store: MailStore, accounts: Accounts, options: StoreBackingOptions = {}): MailBacking {
  const listings = new ListingCache(options.listingCacheMessages ?? 100_000);
  /**
   * The maildrop's messages at `version` (read when it was locked): the cached listing if it is
   * of that version, else read from the index. The version is read before the rows, so a
   * delivery in between makes the entry miss next time, never serves a listing without it.
   */
  const listing = (user: string, version: string): Listing => {
    const cached = listings.get(user, version);
    if (cached !== undefined) return cached;
    const rows = store.listMessages(user);
    const fresh: Listing = {
      version,
      messages: Object.freeze(rows.map(info)),
      lastUid: rows.reduce((max, m) => Math.max(max, m.uid), 0),
    };
    listings.set(user, fresh);
    return fresh;
  };
  return {
    verifyPassword: (user, password) => accounts.verifyPassword(user, password),

    async apopSecret(user) {
      const name = canonical(user);
      const secret = name === undefined ? undefined : accounts.getApopSecret(name);
      return name === undefined || secret === undefined ? undefined : { user: name, secret };
    },

    async openMaildrop(user): Promise<OpenResult> {
      const holder = `pop3-${randomUUID()}`;
      // Neither taking nor releasing the lock blocks the loop while SMTP holds the write lock.
      const locked = await translate(() => store.acquireMaildrop(user, holder));
      if (locked === undefined) return { ok: false, reason: 'in-use' };
      let released = false;
      const release = async (): Promise<void> => {
        if (released) return;
        released = true;
        await store.releaseMaildrop(user, holder);
      };
      let messages: readonly MessageInfo[];
      let lastUid = 0;
      try {
        ({ messages, lastUid } = listing(user, locked.version));
      } catch (error) {
        await release();
        return translate(() => {
          throw error;
        });
      }
      const maildrop: Maildrop = {
        messages,
        refresh: async () => {
          const rows = await translate(() => store.listMessages(user));
          const fresh = rows.filter((m) => m.uid > lastUid);
          for (const m of fresh) lastUid = Math.max(lastUid, m.uid);
          return fresh.map(info);
        },
        // uids of one maildrop are given out one by one (uid_next) and the lock keeps anyone else
        // from removing messages: the uid right after the last known one is certainly the next.
        fromNotice: (notice) => {
          if (notice.uid <= lastUid) return [];
          if (notice.uid !== lastUid + 1) return undefined;
          lastUid = notice.uid;
          return [info(notice)];
        },
        openBody: (message): Promise<BodyReader> => translate(() => store.openBodyReader(Number(message.id))),
        expunge: async (doomed) => {
          await translate(() => store.deleteMessages(user, doomed.map((m) => Number(m.id))));
        },
        release,
      };
      return { ok: true, maildrop };
    },

    async findUser(name) {
      const user = canonical(name);
      return user !== undefined && store.hasMaildrop(user) ? user : undefined;
    },

    async deliver(input) {
      return translate(() =>
        store.deliver({ recipients: input.recipients, prefix: input.prefix, body: input.body, maxSize: input.maxSize }),
      );
    },
  };
}
