/**
 * Who the users are is not this service's business: it is handed a `FileUsers` (the suite's
 * accounts in production, `MemoryUsers` in tests). Here: HTTP Basic parsing, the plaintext rule,
 * and failed-login throttling per client address and per user name.
 */
import type { IncomingMessage } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { DavError } from './replies.js';

export interface FileUser {
  readonly name: string;
  readonly groups: readonly string[];
}

export interface FileUsers {
  /** The user, when `password` is right; undefined otherwise. */
  authenticate(name: string, password: string, remote: string): Promise<FileUser | undefined>;
}

/** Users held in memory (tests, embedding). */
export class MemoryUsers implements FileUsers {
  readonly #users = new Map<string, { password: string; groups: readonly string[] }>();

  add(name: string, password: string, groups: readonly string[] = []): this {
    this.#users.set(name, { password, groups });
    return this;
  }

  async authenticate(name: string, password: string): Promise<FileUser | undefined> {
    const user = this.#users.get(name);
    if (user === undefined) return undefined;
    const a = Buffer.from(password);
    const b = Buffer.from(user.password);
    if (a.length !== b.length || !timingSafeEqual(a, b)) return undefined;
    return { name, groups: user.groups };
  }
}

export interface AuthPolicy {
  readonly realm: string;
  readonly allowPlaintextAuth: boolean;
  readonly loginFailureDelay: number;
  readonly maxLoginFailuresPerIp: number;
  readonly maxLoginFailuresPerUser: number;
  readonly failureWindow: number;
}

const MAX_TRACKED = 100_000;

/** Failed logins per key within a sliding window, bounded in keys and per key. */
export class FailureWindow {
  readonly #failures = new Map<string, number[]>();

  constructor(private readonly windowMs: () => number) {}

  count(key: string): number {
    const list = this.#failures.get(key);
    if (list === undefined) return 0;
    const since = Date.now() - this.windowMs();
    while (list.length > 0 && list[0]! < since) list.shift();
    if (list.length === 0) this.#failures.delete(key);
    return list.length;
  }

  record(key: string): void {
    const list = this.#failures.get(key) ?? [];
    list.push(Date.now());
    if (list.length > 1000) list.shift();
    this.#failures.delete(key);
    this.#failures.set(key, list);
    if (this.#failures.size > MAX_TRACKED) {
      const oldest = this.#failures.keys().next();
      if (oldest.done !== true) this.#failures.delete(oldest.value);
    }
  }
}

export function isLoopbackAddress(address: string): boolean {
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  return plain === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(plain);
}

function challenge(policy: AuthPolicy, message: string): DavError {
  return new DavError(401, message, undefined, undefined, { 'WWW-Authenticate': `Basic realm="${policy.realm}", charset="UTF-8"` });
}

export class Authenticator {
  readonly #byIp: FailureWindow;
  readonly #byUser: FailureWindow;

  constructor(
    private readonly users: FileUsers,
    private policy: AuthPolicy,
    private readonly isLoopback: (address: string) => boolean = isLoopbackAddress,
  ) {
    this.#byIp = new FailureWindow(() => this.policy.failureWindow);
    this.#byUser = new FailureWindow(() => this.policy.failureWindow);
  }

  update(policy: AuthPolicy): void {
    this.policy = policy;
  }

  /** The request's user, or a DavError 401 (no or wrong credentials) / 403 (plaintext refused). */
  async check(req: IncomingMessage, secure: boolean, remote: string): Promise<FileUser> {
    const header = req.headers.authorization;
    if (header === undefined) throw challenge(this.policy, 'authentication required');
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (!m) throw challenge(this.policy, 'only Basic authentication is supported');
    if (!secure && !this.policy.allowPlaintextAuth && !this.isLoopback(remote)) {
      throw new DavError(403, 'Basic authentication over plain HTTP is refused: use HTTPS');
    }
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw challenge(this.policy, 'malformed Basic credentials');
    const name = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    if (this.#byIp.count(remote) >= this.policy.maxLoginFailuresPerIp || this.#byUser.count(name) >= this.policy.maxLoginFailuresPerUser) {
      await delay(this.policy.loginFailureDelay);
      throw challenge(this.policy, 'too many failed logins: try again later');
    }
    const user = await this.users.authenticate(name, password, remote);
    if (user !== undefined) return user;
    this.#byIp.record(remote);
    this.#byUser.record(name);
    await delay(this.policy.loginFailureDelay);
    throw challenge(this.policy, 'wrong user name or password');
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
