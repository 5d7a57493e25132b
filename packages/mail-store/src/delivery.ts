/**
 * Delivery (SMTP): a body is written to disk (or kept inline), then concurrent deliveries are
 * committed together by the group commit, on the commit thread or, for a lone one, right here.
 */
import { syncFolder } from '@hearth/durable';
import type { BodySource, WrittenBody } from './bodies.js';
import type { CommitItem } from './commit-protocol.js';
import { fromWire, ROW_BYTES } from './core.js';
import type { StoreCore } from './core.js';
import { MailStoreError, storageError } from './errors.js';
import { GroupCommit } from './group-commit.js';
import type { Settled } from './group-commit.js';
import type { Delivery } from './messages.js';
import { normalizeUserName } from './names.js';
import type { UserRow } from './users.js';

export interface DeliverInput {
  /** Local user names; duplicates are delivered once. */
  readonly recipients: readonly string[];
  /** The message. Line ends are stored as CRLF. A stream is read with back-pressure. */
  readonly body: BodySource;
  /** Bytes written before the body (e.g. `Return-Path:` and `Received:` header lines). */
  readonly prefix?: string | Uint8Array;
  /** Size cap in bytes (counted after CRLF conversion): MESSAGE_TOO_LARGE when exceeded. */
  readonly maxSize?: number;
  readonly arrivedAt?: Date;
}

interface PendingDelivery {
  readonly users: readonly string[];
  readonly body: WrittenBody;
  readonly arrivedAt: number;
}

export class Deliveries {
  readonly #core: StoreCore;
  readonly #findUser: (user: string) => UserRow | undefined;
  readonly #maxMessageSize: number | undefined;
  readonly #commits: GroupCommit<PendingDelivery, Delivery[]>;
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(core: StoreCore, findUser: (user: string) => UserRow | undefined, maxMessageSize: number | undefined) {
    this.#core = core;
    this.#findUser = findUser;
    this.#maxMessageSize = maxMessageSize;
    this.#commits = new GroupCommit((batch) => this.#commitDeliveries(batch));
  }

  deliver(input: DeliverInput): Promise<Delivery[]> {
    const delivery = this.#deliver(input);
    const settled = delivery.then(
      () => undefined,
      () => undefined,
    );
    this.#inFlight.add(settled);
    void settled.then(() => this.#inFlight.delete(settled));
    return delivery;
  }

  /** Waits for every delivery in flight and for the group commit to go idle (on close). */
  async drain(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
    await this.#commits.idle();
  }

  async #deliver(input: DeliverInput): Promise<Delivery[]> {
    const core = this.#core;
    core.assertOpen();
    const users = [...new Set(input.recipients.map(normalizeUserName))];
    if (users.length === 0) throw new MailStoreError('NO_RECIPIENTS', 'a delivery needs at least one recipient');
    const unknown = users.filter((user) => this.#findUser(user) === undefined);
    if (unknown.length > 0) throw new MailStoreError('NO_SUCH_USER', `no such user: ${unknown.join(', ')}`);
    const maxSize = input.maxSize ?? this.#maxMessageSize;
    core.committer(); // boots the commit thread, if needed, while the body streams in
    const body = await core.bodies.write(input.body, { maxSize, prefix: input.prefix });
    try {
      return await this.#commits.submit({ users, body, arrivedAt: (input.arrivedAt ?? new Date()).getTime() });
    } catch (error) {
      if (body.kind === 'file') await core.bodies.remove([body.file]);
      throw error;
    }
  }

  async #commitDeliveries(batch: readonly PendingDelivery[]): Promise<Settled<Delivery[]>[]> {
    try {
      const dirs = new Set(batch.flatMap((item) => (item.body.kind === 'file' ? [item.body.dir] : [])));
      await Promise.all([...dirs].map((dir) => syncFolder(dir)));
    } catch (error) {
      throw storageError(error, 'syncing a body directory');
    }
    if (this.#core.closed) throw new MailStoreError('STORE_CLOSED', 'the mail store was closed');
    let walBytes = 0;
    const items = batch.map((item): CommitItem => {
      walBytes += ROW_BYTES * (1 + item.users.length);
      if (item.body.kind === 'file') return { users: item.users, file: item.body.file, size: item.body.size, arrivedAt: item.arrivedAt };
      walBytes += item.body.size;
      return { users: item.users, data: item.body.data, size: item.body.size, arrivedAt: item.arrivedAt };
    });
    const [only] = items;
    // A lone delivery with no other one under way has nothing to batch with: committing it right
    // here saves two thread hand-offs. The loop blocks for that one fsync, but nothing else is
    // waiting on it; the commit thread is idle meanwhile (the group commit runs one batch at a time).
    const results =
      (items.length === 1 && only !== undefined && this.#inFlight.size <= 1 ? this.#commitHere(only) : undefined) ??
      (await this.#commitOnThread(items));
    this.#core.noteWal(walBytes);
    return results;
  }

  async #commitOnThread(items: readonly CommitItem[]): Promise<Settled<Delivery[]>[]> {
    const reply = await this.#core.committer().request({ type: 'commit', items });
    if ('error' in reply) throw fromWire(reply.error);
    if (!('results' in reply)) throw new MailStoreError('STORAGE_ERROR', 'mail store thread answered a commit without results');
    return reply.results.map((result) => (result.ok ? result : { ok: false, error: fromWire(result.error) }));
  }

  /**
   * Commits one delivery on this thread's connection, without waiting for a lock: undefined if
   * another process holds the write lock (then the commit thread waits for it instead).
   */
  #commitHere(item: CommitItem): Settled<Delivery[]>[] | undefined {
    const { db, messages } = this.#core;
    const body = item.file !== undefined ? { file: item.file, size: item.size } : { data: item.data as Buffer, size: item.size };
    db.pragma('busy_timeout = 0');
    try {
      const value = db.transaction(() => messages.insertDelivery(item.users, body, item.arrivedAt)).immediate();
      return [{ ok: true, value }];
    } catch (error) {
      if (error instanceof MailStoreError) return [{ ok: false, error }];
      if ((error as { code?: unknown }).code === 'SQLITE_BUSY') return undefined;
      throw storageError(error, 'committing a delivery');
    } finally {
      db.pragma(`busy_timeout = ${this.#core.busyTimeoutMs}`);
    }
  }
}
