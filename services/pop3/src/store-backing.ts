/**
 * The MailBacking over @hearth/accounts (passwords, APOP secrets) and @hearth/mail-store
 * (maildrop snapshots, and the cross-process lock when it is exclusive).
 */
import { randomUUID } from 'node:crypto';
import type { Accounts } from '@hearth/accounts';
import { isMailStoreError, normalizeUserName, type MailStore } from '@hearth/mail-store';
import {
  MessageGoneError,
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
  /** Whether the user's maildrop still holds message `id` (a maildrop deleted holds nothing). */
  const holds = (user: string, id: number): boolean => {
    try {
      return store.listMessages(user).some((m) => m.messageId === id);
    } catch (error) {
      if (isMailStoreError(error, 'NO_SUCH_USER')) return false;
      throw error;
    }
  };
  return {
    authenticate: (user, password) => accounts.authenticate(user, password),

    credentialStamp: (user) => accounts.credentialStamp(user),

    async apopSecret(user) {
      const name = canonical(user);
      const secret = name === undefined ? undefined : accounts.getApopSecret(name);
      return name === undefined || secret === undefined ? undefined : { user: name, secret, disabled: accounts.find(name)?.disabled };
    },

    async openMaildrop(user, { exclusive }): Promise<OpenResult> {
      const holder = `pop3-${randomUUID()}`;
      // Exclusive: neither taking nor releasing the lock blocks the loop while SMTP holds the
      // write lock. Shared: the version is only read (no write, so a full disk does not matter).
      const locked = exclusive
        ? await translate(() => store.acquireMaildrop(user, holder))
        : await translate(() => ({ version: store.maildropVersion(user) }));
      if (locked === undefined) return { ok: false, reason: 'in-use' };
      let released = !exclusive;
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
        // uids of one maildrop are given out one by one (uid_next) and never reused, whoever
        // deletes meanwhile: the uid right after the last known one is certainly the next.
        fromNotice: (notice) => {
          if (notice.uid <= lastUid) return [];
          if (notice.uid !== lastUid + 1) return undefined;
          lastUid = notice.uid;
          return [info(notice)];
        },
        openBody: async (message): Promise<BodyReader> => {
          try {
            return await store.openBodyReader(Number(message.id));
          } catch (error) {
            // Its row gone too (checked on this rare path only): another session's UPDATE deleted
            // it since the snapshot. A row without its file stays a [SYS/PERM] failure.
            const id = Number(message.id);
            if (isMailStoreError(error, 'NO_SUCH_MESSAGE') && !holds(user, id)) {
              throw new MessageGoneError(`message ${message.id} was deleted by another session`, { cause: error });
            }
            return translate(() => {
              throw error;
            });
          }
        },
        // Ids another session deleted already are skipped by the store (not counted).
        expunge: (doomed) => translate(() => store.deleteMessages(user, doomed.map((m) => Number(m.id)))),
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
