/**
 * Reading and deleting (POP3): a maildrop's listing from the index, bodies as streams or
 * on-demand readers, and deletion of messages with their body files (which works on a full disk:
 * reserve.ts). Reading writes nothing.
 */
import { Readable } from 'node:stream';
import { InlineBodyReader } from './body-reader.js';
import type { BodyReader } from './body-reader.js';
import type { StoreCore } from './core.js';
import { MailStoreError, storageError } from './errors.js';
import type { MessageInfo } from './messages.js';
import { normalizeUserName } from './names.js';

export class MaildropReader {
  readonly #core: StoreCore;

  constructor(core: StoreCore) {
    this.#core = core;
  }

  listMessages(name: string): MessageInfo[] {
    const { messages } = this.#core;
    this.#core.assertOpen();
    return messages.list(messages.getMaildrop(normalizeUserName(name)));
  }

  async openBody(messageId: number, range: { start?: number; end?: number } = {}): Promise<Readable> {
    this.#core.assertOpen();
    const body = this.#core.messages.body(messageId);
    if (!body) throw new MailStoreError('NO_SUCH_MESSAGE', `no such message: ${messageId}`);
    if (body.data !== null) {
      const start = range.start ?? 0;
      const end = range.end === undefined ? body.data.length : range.end + 1;
      return Readable.from([body.data.subarray(start, end)], { objectMode: false });
    }
    try {
      return await this.#core.bodies.open(body.file ?? '', range);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new MailStoreError('NO_SUCH_MESSAGE', `message ${messageId} was deleted`);
      }
      throw storageError(error, 'opening a body file');
    }
  }

  async openBodyReader(messageId: number, range: { start?: number; end?: number } = {}): Promise<BodyReader> {
    this.#core.assertOpen();
    const body = this.#core.messages.body(messageId);
    if (!body) throw new MailStoreError('NO_SUCH_MESSAGE', `no such message: ${messageId}`);
    if (body.data !== null) return new InlineBodyReader(body.data, range);
    try {
      return await this.#core.bodies.openReader(body.file ?? '', body.size, range);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new MailStoreError('NO_SUCH_MESSAGE', `message ${messageId} was deleted`);
      }
      throw storageError(error, 'opening a body file');
    }
  }

  async deleteMessages(name: string, messageIds: readonly number[]): Promise<number> {
    const core = this.#core;
    core.assertOpen();
    const maildrop = core.messages.getMaildrop(normalizeUserName(name));
    if (messageIds.length === 0) return 0;
    // On a full disk the reserve's room lets the deletion commit; its files then free more.
    const { result } = await core.reserve.freeing(() =>
      core.write('deleting messages', () => core.db.transaction(() => core.messages.delete(maildrop.id, messageIds)).immediate()),
    );
    await core.bodies.remove(result.files);
    if (result.deleted > 0) await core.reserve.ensure();
    return result.deleted;
  }
}
