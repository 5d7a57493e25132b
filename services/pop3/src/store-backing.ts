/** The MailBacking over @hearth/mail-store: scrypt passwords, APOP secrets, the cross-process lock. */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { isMailStoreError, normalizeUserName, type MailStore } from '@hearth/mail-store';
import {
  MessageTooLargeError,
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

function canonical(name: string): string | undefined {
  try {
    return normalizeUserName(name);
  } catch {
    return undefined;
  }
}

export function storeBacking(store: MailStore): MailBacking {
  return {
    async verifyPassword(user, password) {
      const ok = await store.verifyPassword(user, password);
      return ok ? canonical(user) : undefined;
    },

    async apopSecret(user) {
      const name = canonical(user);
      const secret = name === undefined ? undefined : store.getApopSecret(name);
      return name === undefined || secret === undefined ? undefined : { user: name, secret };
    },

    async openMaildrop(user): Promise<OpenResult> {
      const holder = `pop3-${randomUUID()}`;
      const locked = await translate(() => store.tryLockMaildrop(user, holder));
      if (!locked) return { ok: false, reason: 'in-use' };
      let released = false;
      const release = async (): Promise<void> => {
        if (released) return;
        released = true;
        store.unlockMaildrop(user, holder);
      };
      const info = (m: { messageId: number; uidl: string; size: number }): MessageInfo => ({
        id: String(m.messageId),
        uidl: m.uidl,
        size: m.size,
      });
      let messages: MessageInfo[];
      let lastUid = 0;
      try {
        const rows = store.listMessages(user);
        lastUid = rows.reduce((max, m) => Math.max(max, m.uid), 0);
        messages = rows.map(info);
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
        openBody: (message): Promise<Readable> => translate(() => store.openBody(Number(message.id))),
        expunge: async (doomed) => {
          await translate(() => store.deleteMessages(user, doomed.map((m) => Number(m.id))));
        },
        release,
      };
      return { ok: true, maildrop };
    },

    async findUser(name) {
      const user = canonical(name);
      return user !== undefined && store.hasUser(user) ? user : undefined;
    },

    async deliver(input) {
      const copies = await translate(() =>
        store.deliver({ recipients: input.recipients, prefix: input.prefix, body: input.body, maxSize: input.maxSize }),
      );
      return copies.map(({ user, messageId, uid, uidl, size }) => ({ user, messageId, uid, uidl, size }));
    },
  };
}
