/** An in-memory MailBacking for tests and examples: users, APOP secrets, messages, exclusive locks. */
import type { HearthNotice } from '@hearth/mail-delivery';
import {
  type BodyReader,
  MessageTooLargeError,
  type DeliverInput,
  type MailBacking,
  type Maildrop,
  MessageGoneError,
  type MessageInfo,
  type OpenResult,
  type DisabledLogin,
} from './maildrop.js';
import type { Authentication } from '@hearth/accounts';

interface StoredMessage extends MessageInfo {
  readonly body: Buffer;
}

interface MemoryUser {
  password: string;
  /** Changes with every `addUser` and `setPassword` (the credential stamp). */
  stamp: number;
  readonly apopSecret?: string;
  /** Set while the user may not log in (`disable`). */
  disabled?: DisabledLogin;
  messages: StoredMessage[];
}

/** Size as transmitted: every line end counted as CRLF. */
export function crlfSize(body: Buffer): number {
  let size = body.length;
  let from = 0;
  for (;;) {
    const nl = body.indexOf(0x0a, from);
    if (nl < 0) break;
    if (nl === 0 || body[nl - 1] !== 0x0d) size += 1;
    from = nl + 1;
  }
  return size;
}

/** Reads `body` at most 1,000 bytes at a time, like small file reads, so tests cross chunk boundaries. */
function chunkedReader(body: Buffer): BodyReader {
  let at = 0;
  return {
    get done() {
      return at >= body.length;
    },
    read: async (into) => {
      const n = body.copy(into, 0, at, Math.min(body.length, at + 1000, at + into.length));
      at += n;
      return n;
    },
    close: async () => {
      at = body.length;
    },
  };
}

export class MemoryBacking implements MailBacking {
  private readonly users = new Map<string, MemoryUser>();
  private readonly locked = new Set<string>();
  private nextUid = 1;
  private nextStamp = 1;

  addUser(name: string, password: string, apopSecret?: string): this {
    this.users.set(name, { password, stamp: this.nextStamp++, ...(apopSecret === undefined ? {} : { apopSecret }), messages: [] });
    return this;
  }

  /** A new password (and credential stamp); the messages stay. */
  setPassword(name: string, password: string): void {
    const entry = this.users.get(name);
    if (entry === undefined) throw new Error(`no such user ${name}`);
    entry.password = password;
    entry.stamp = this.nextStamp++;
  }

  /** Keeps the user from logging in (and changes the credential stamp), as `Accounts.disable`. */
  disable(name: string, reason?: string): void {
    const entry = this.users.get(name);
    if (entry === undefined) throw new Error(`no such user ${name}`);
    entry.disabled = { reason };
    entry.stamp = this.nextStamp++;
  }

  enable(name: string): void {
    const entry = this.users.get(name);
    if (entry === undefined) throw new Error(`no such user ${name}`);
    delete entry.disabled;
    entry.stamp = this.nextStamp++;
  }

  removeUser(name: string): void {
    this.users.delete(name);
  }

  /** Deliver a message (a test's way in); returns its UIDL. */
  add(user: string, body: string | Buffer): string {
    return this.store(user, typeof body === 'string' ? Buffer.from(body) : body).uidl;
  }

  private store(user: string, bytes: Buffer): HearthNotice {
    const entry = this.users.get(user);
    if (entry === undefined) throw new Error(`no such user ${user}`);
    const uid = this.nextUid++;
    const uidl = `${uid.toString(16).padStart(8, '0')}00000001`;
    const size = crlfSize(bytes);
    entry.messages.push({ id: String(uid), uidl, size, body: bytes });
    return { source: 'hearth', user, maildrop: 'INBOX', messageId: uid, uid, uidl, size };
  }

  /** The bytes of a user's newest message (for assertions). */
  last(user: string): Buffer | undefined {
    return this.users.get(user)?.messages.at(-1)?.body;
  }

  async findUser(name: string): Promise<string | undefined> {
    return this.users.has(name) ? name : undefined;
  }

  async deliver(input: DeliverInput): Promise<readonly HearthNotice[]> {
    for (const user of input.recipients) if (!this.users.has(user)) throw new Error(`no such user ${user}`);
    const chunks: Buffer[] = [Buffer.from(input.prefix)];
    let size = chunks[0]!.length;
    for await (const chunk of input.body) {
      size += chunk.length;
      if (size > input.maxSize) throw new MessageTooLargeError(`message over ${input.maxSize} bytes`);
      chunks.push(Buffer.from(chunk));
    }
    const bytes = Buffer.concat(chunks);
    return [...new Set(input.recipients)].map((user) => this.store(user, bytes));
  }

  /** Current message count of a maildrop (for assertions). */
  count(user: string): number {
    return this.users.get(user)?.messages.length ?? 0;
  }

  isLocked(user: string): boolean {
    return this.locked.has(user);
  }

  async authenticate(user: string, password: string): Promise<Authentication> {
    const entry = this.users.get(user);
    if (entry === undefined || entry.password !== password) return { kind: 'rejected' };
    return entry.disabled === undefined ? { kind: 'accepted', user } : { kind: 'disabled', user, reason: entry.disabled.reason };
  }

  credentialStamp(user: string): string | undefined {
    const entry = this.users.get(user);
    return entry === undefined ? undefined : String(entry.stamp);
  }

  async apopSecret(user: string): Promise<{ user: string; secret: string; disabled: DisabledLogin | undefined } | undefined> {
    const entry = this.users.get(user);
    return entry?.apopSecret === undefined ? undefined : { user, secret: entry.apopSecret, disabled: entry.disabled };
  }

  async openMaildrop(user: string, { exclusive }: { readonly exclusive: boolean }): Promise<OpenResult> {
    const entry = this.users.get(user);
    if (entry === undefined) throw new Error(`no such user ${user}`);
    if (this.locked.has(user)) return { ok: false, reason: 'in-use' };
    if (exclusive) this.locked.add(user);
    const snapshot = [...entry.messages];
    const seen = new Set(snapshot.map((m) => m.id));
    let released = false;
    const maildrop: Maildrop = {
      messages: snapshot.map(({ id, uidl, size }) => ({ id, uidl, size })),
      refresh: async () => {
        const fresh = entry.messages.filter((m) => !seen.has(m.id));
        for (const m of fresh) seen.add(m.id);
        return fresh.map(({ id, uidl, size }) => ({ id, uidl, size }));
      },
      openBody: async (message) => {
        const stored = entry.messages.find((m) => m.id === message.id);
        if (stored === undefined) throw new MessageGoneError(`message ${message.id} was deleted by another session`);
        return chunkedReader(stored.body);
      },
      expunge: async (messages) => {
        const gone = new Set(messages.map((m) => m.id));
        const before = entry.messages.length;
        entry.messages = entry.messages.filter((m) => !gone.has(m.id));
        return before - entry.messages.length;
      },
      release: async () => {
        if (released || !exclusive) return;
        released = true;
        this.locked.delete(user);
      },
    };
    return { ok: true, maildrop };
  }
}
