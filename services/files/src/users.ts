/**
 * Who the users are is not this service's business: it is handed a `FileUsers` (the suite's
 * accounts in production, `MemoryUsers` in tests). Here: HTTP Basic parsing, the plaintext rule,
 * and the suite's login policy (`@hearth/accounts`' `LoginPolicy`: failures counted before the
 * check, per client address and per user name, answered after a delay, refused past the limits).
 */
import type { IncomingMessage } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { LoginPolicy, loginLimits, type Accounts, type LoginSettings } from '@hearth/accounts';
export { loginLimits } from '@hearth/accounts';
import type { FilesCounters } from './counters.js';
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

/** The suite's accounts as file users: the canonical (lower-case) name and the account's groups. */
export function accountUsers(accounts: Accounts): FileUsers {
  return {
    async authenticate(name, password) {
      const canonical = await accounts.verifyPassword(name, password);
      if (canonical === undefined) return undefined;
      return { name: canonical, groups: accounts.find(canonical)?.groups ?? [] };
    },
  };
}

export interface AuthPolicy extends LoginSettings {
  readonly realm: string;
  readonly allowPlaintextAuth: boolean;
}

export function isLoopbackAddress(address: string): boolean {
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  return plain === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(plain);
}

function challenge(policy: AuthPolicy, message: string): DavError {
  return new DavError(401, message, undefined, undefined, { 'WWW-Authenticate': `Basic realm="${policy.realm}", charset="UTF-8"` });
}


/** How long a connection's verified credentials are taken again without a check. */
const CONNECTION_MEMO_MS = 1000;

interface Verified {
  readonly header: string;
  readonly user: FileUser;
  readonly until: number;
  readonly generation: number;
}

export class Authenticator {
  readonly #login: LoginPolicy;
  /** Per connection: the last Authorization header that was verified, reused for a second. */
  readonly #verified = new WeakMap<object, Verified>();
  /** Changes with the settings: a reload may refuse what was accepted. */
  #generation = 0;

  /** `login`: the suite's persisted policy (from the accounts); in memory when none is given. */
  constructor(
    private readonly users: FileUsers,
    private policy: AuthPolicy,
    private readonly counters: FilesCounters,
    private readonly isLoopback: (address: string) => boolean = isLoopbackAddress,
    login?: LoginPolicy,
  ) {
    this.#login = login ?? new LoginPolicy(loginLimits(policy));
    this.#login.setLimits(loginLimits(policy));
  }

  update(policy: AuthPolicy): void {
    this.policy = policy;
    this.#generation++;
    this.#login.setLimits(loginLimits(policy));
  }

  /**
   * The user whose credentials this request's connection had verified within the last second, when
   * the request sends the same Authorization header under the same settings; otherwise undefined
   * (`check` decides). Nothing waits: for answers made at once (`cached-get.ts`). `now` is
   * `Date.now()`, read once by the caller for all of the request's checks.
   */
  verified(req: IncomingMessage, now: number): FileUser | undefined {
    const header = req.headers.authorization;
    if (header === undefined) return undefined;
    const memo = this.#verified.get(req.socket);
    return memo !== undefined && memo.header === header && memo.generation === this.#generation && now < memo.until ? memo.user : undefined;
  }

  /** The request's user, or a DavError 401 (no or wrong credentials) / 403 (plaintext refused). */
  async check(req: IncomingMessage, secure: boolean, remote: string): Promise<FileUser> {
    const header = req.headers.authorization;
    if (header === undefined) throw challenge(this.policy, 'authentication required');
    const memo = this.#verified.get(req.socket);
    if (memo !== undefined && memo.header === header && memo.generation === this.#generation && Date.now() < memo.until) return memo.user;
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
    const result = await this.#login.attempt(remote, name, () => this.users.authenticate(name, password, remote));
    if (result.ok) {
      if (memo?.header !== header) this.counters.inc('authSuccesses');
      this.#verified.set(req.socket, { header, user: result.value, until: Date.now() + CONNECTION_MEMO_MS, generation: this.#generation });
      return result.value;
    }
    this.counters.inc(result.reason === 'refused' ? 'loginsRefused' : 'authFailures');
    throw challenge(this.policy, result.reason === 'refused' ? 'too many failed logins: try again later' : 'wrong user name or password');
  }
}
