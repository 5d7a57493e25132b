/**
 * Creating, listing and deleting users' maildrops: the MailStore methods of the same names. Who
 * may log in is @hearth/accounts' business; the store refers to users by name only.
 */
import type { StoreCore } from './core.js';
import { MailStoreError } from './errors.js';
import type { MaildropLocks } from './locks.js';
import { normalizeUserName } from './names.js';
import { UserTable } from './users.js';
import type { MaildropInfo, UserRow } from './users.js';

export interface DeleteMaildropOptions {
  /** Also delete the messages in the maildrop (otherwise a non-empty maildrop is refused). */
  readonly purge?: boolean;
}

export class Maildrops {
  readonly #core: StoreCore;
  readonly #users: UserTable;
  readonly #locks: MaildropLocks;

  constructor(core: StoreCore, locks: MaildropLocks) {
    this.#core = core;
    this.#users = new UserTable(core.db);
    this.#locks = locks;
  }

  /** The user's row, if the (normalized) name has a maildrop. */
  find(user: string): UserRow | undefined {
    return this.#users.find(user);
  }

  ensure(name: string): boolean {
    const user = normalizeUserName(name);
    this.#core.assertOpen();
    return this.#core.write('creating a maildrop', () => this.#users.ensure(user, Date.now()));
  }

  async delete(name: string, options: DeleteMaildropOptions = {}): Promise<{ purged: number }> {
    const user = normalizeUserName(name);
    const core = this.#core;
    core.assertOpen();
    const { deleted, files } = core.write('deleting a maildrop', () =>
      core.db
        .transaction(() => {
          const row = this.#users.get(user);
          const maildrop = core.messages.getMaildrop(user);
          const count = core.messages.count(maildrop.id);
          if (count > 0 && options.purge !== true) {
            throw new MailStoreError(
              'MAILDROP_NOT_EMPTY',
              `the maildrop of ${user} holds ${count} message${count === 1 ? '' : 's'}: purge them to delete the user`,
            );
          }
          const holder = this.#locks.holder(maildrop.id);
          if (holder) {
            throw new MailStoreError('MAILDROP_LOCKED', `the maildrop of ${user} is in use by a POP3 session (pid ${holder.pid})`);
          }
          const result = core.messages.delete(maildrop.id, 'all');
          core.db.prepare('DELETE FROM mailboxes WHERE user_id = ?').run(row.id);
          core.db.prepare('DELETE FROM users WHERE id = ?').run(row.id);
          return result;
        })
        .immediate(),
    );
    await core.bodies.remove(files);
    return { purged: deleted };
  }

  list(): MaildropInfo[] {
    this.#core.assertOpen();
    return this.#users.list();
  }

  has(name: string): boolean {
    this.#core.assertOpen();
    let user: string;
    try {
      user = normalizeUserName(name);
    } catch {
      return false;
    }
    return this.#users.find(user) !== undefined;
  }
}
