/**
 * Who the users are is not this service's business: it is handed a `FileUsers` (the suite's
 * accounts in production, `MemoryUsers` in tests). Here: HTTP Basic parsing, the plaintext rule,
 * the login name as every protocol takes it (`alice` or `alice@` a mail domain: `localUser`),
 * and the suite's login policy (`@hearth/accounts`' `LoginPolicy`: failures counted before the
 * check, per client address and per user name, answered after a delay, refused past the limits).
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { timingSafeEqual } from 'node:crypto';
import { LoginPolicy, localUser, loginLimits, mailDomainSet, type Accounts, type LoginResult, type LoginSettings } from '@hearth/accounts';
export { loginLimits } from '@hearth/accounts';
import type { Logger } from '@hearth/log';
import type { FilesCounters } from './counters.js';
import { DavError } from './replies.js';
import { SocketSlot } from './socket-slot.js';

export interface FileUser {
  readonly name: string;
  readonly groups: readonly string[];
  /**
   * When the account was made (ms), to tell it from an earlier account of the same name: the home
   * folder, removed with a deleted user, is made again for the next one. Undefined: the name alone
   * says who it is.
   */
  readonly createdAt?: number;
}

/** A right password: the user, or a disabled account's name (`hearth user disable`). */
export type FileAuthentication = { readonly kind: 'accepted'; readonly user: FileUser } | { readonly kind: 'disabled'; readonly name: string };

export interface FileUsers {
  /** What a right `password` proves (see `FileAuthentication`); undefined when it is wrong. */
  authenticate(name: string, password: string, remote: string): Promise<FileAuthentication | undefined>;
  /**
   * The user `name` (as `authenticate` gave it) as the accounts hold it now, without a password
   * check: its groups, and a stamp that changes whenever its password is set and whenever it is
   * disabled or enabled; undefined when it no longer exists. Without it, each connection's first
   * request makes the whole check (`Authenticator`'s `#recent`).
   */
  current?(name: string): { readonly user: FileUser; readonly stamp: string } | undefined;
}

/**
 * A login's outcome here: the login policy's, or `disabled` (the right password of a disabled
 * account: no login and no failure for the policy, answered as a wrong password after the same
 * delay).
 */
type FileLoginResult = LoginResult<FileUser> | { readonly ok: false; readonly reason: 'disabled' };

/** Users held in memory (tests, embedding). */
export class MemoryUsers implements FileUsers {
  readonly #users = new Map<string, { password: string; groups: readonly string[] }>();

  add(name: string, password: string, groups: readonly string[] = []): this {
    this.#users.set(name, { password, groups });
    return this;
  }

  current(name: string): { user: FileUser; stamp: string } | undefined {
    const user = this.#users.get(name);
    return user === undefined ? undefined : { user: { name, groups: user.groups }, stamp: user.password };
  }

  async authenticate(name: string, password: string): Promise<FileAuthentication | undefined> {
    const user = this.#users.get(name);
    if (user === undefined) return undefined;
    const a = Buffer.from(password);
    const b = Buffer.from(user.password);
    if (a.length !== b.length || !timingSafeEqual(a, b)) return undefined;
    return { kind: 'accepted', user: { name, groups: user.groups } };
  }
}

/** The suite's accounts as file users: the canonical (lower-case) name, the account's groups and when it was made. */
export function accountUsers(accounts: Accounts): FileUsers {
  return {
    async authenticate(name, password) {
      const checked = await accounts.authenticate(name, password);
      if (checked.kind === 'rejected') return undefined;
      if (checked.kind === 'disabled') return { kind: 'disabled', name: checked.user };
      const canonical = checked.user;
      const account = accounts.find(canonical);
      const user = account === undefined ? { name: canonical, groups: [] } : { name: canonical, groups: account.groups, createdAt: account.createdAt.getTime() };
      return { kind: 'accepted', user };
    },
    current(name) {
      const account = accounts.find(name);
      const stamp = accounts.credentialStamp(name);
      if (account === undefined || stamp === undefined) return undefined;
      return { user: { name: account.name, groups: account.groups, createdAt: account.createdAt.getTime() }, stamp };
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

/** A memo used this close to its end is renewed ahead (checked again in the background). */
const RENEW_AHEAD_MS = CONNECTION_MEMO_MS / 4;

/** Credentials kept for a client's next connections (`#recent`); past this many, the oldest half go. */
const MAX_RECENT = 4096;

/** What a client's next connections take as verified: a check's success, until its memo ends. */
interface Recent {
  readonly user: FileUser;
  /** The account's stamp right after the check (`FileUsers.current`). */
  readonly stamp: string;
  readonly until: number;
  readonly generation: number;
}

interface Verified {
  readonly header: string;
  readonly user: FileUser;
  /** Until when the credentials are taken again without a check (a `Date.now()` value). */
  readonly until: number;
  readonly generation: number;
  /**
   * The check made again ahead of `until` while the connection is in use, once started: its
   * outcome (undefined when the check itself failed) stands for the connection's next request.
   */
  renewal: Promise<FileLoginResult | undefined> | undefined;
}

export class Authenticator {
  readonly #login: LoginPolicy;
  /** Per connection: the last Authorization header that was verified, reused for a second. */
  readonly #verified = new SocketSlot<Verified>('verified credentials');
  /**
   * The same, for the client's next connections (`recentKey`: the client's address, HTTP or
   * HTTPS, the header): a connection's first request takes a success of the last second as its
   * own instead of making the whole check again, as Apache's mod_authn_socache and Dovecot's auth
   * cache do. A client opens several connections (a browser six, WebClient and rclone one per
   * transfer), each of whose first requests went the full way: a GET on a new connection took
   * 1.4 times the CPU time (bench/files README, "small listings"). Keyed by the address, so a
   * client the login policy refuses is never let in by another's success; by the kind of
   * connection, so the plaintext rule holds; never made longer than the check's second. Taken
   * only while the account's stamp is the one seen at the check (its password not set again, not
   * disabled since), with its groups as they are then.
   */
  readonly #recent = new Map<string, Recent>();
  /** Changes with the settings: a reload may refuse what was accepted. */
  #generation = 0;
  #mailDomains: ReadonlySet<string>;

  /**
   * `login`: the suite's persisted policy (from the accounts); in memory when none is given.
   * `log`: where each failed or refused login is written, with the user name and the client's
   * address (what fail2ban and the like look for). `mailDomains`: a user may log in as `alice@`
   * one of them, as for POP3 and SMTP.
   */
  constructor(
    private readonly users: FileUsers,
    private policy: AuthPolicy,
    private readonly counters: FilesCounters,
    private readonly isLoopback: (address: string) => boolean = isLoopbackAddress,
    login?: LoginPolicy,
    private readonly log?: Logger,
    mailDomains: readonly string[] = [],
  ) {
    this.#login = login ?? new LoginPolicy(loginLimits(policy));
    this.#login.setLimits(loginLimits(policy));
    this.#mailDomains = mailDomainSet(mailDomains);
  }

  /** The suite's mail domains changed (a reload): what was accepted under the old ones is checked again. */
  setMailDomains(domains: readonly string[]): void {
    this.#mailDomains = mailDomainSet(domains);
    this.#generation++;
  }

  update(policy: AuthPolicy): void {
    this.policy = policy;
    this.#generation++;
    this.#login.setLimits(loginLimits(policy));
  }

  /**
   * The user whose credentials the request's connection (`socket`) had verified within the last
   * second, when the request's Authorization header (`header`) is the same, under the same
   * settings; otherwise undefined (`check` decides). Nothing waits: for answers made at once
   * (`cached-get.ts`). `now` is `Date.now()`, read once by the caller for all of the request's
   * checks. A memo used in its last quarter is renewed: the same check as `check`'s, made in the
   * background, so that a busy connection's requests keep being answered at once.
   */
  verified(socket: Socket, header: string, now: number): FileUser | undefined {
    const memo = this.#verified.get(socket) ?? this.#adopt(socket, header, now);
    if (memo === undefined || memo.header !== header || memo.generation !== this.#generation || now >= memo.until) return undefined;
    if (memo.renewal === undefined && now >= memo.until - RENEW_AHEAD_MS) this.#renew(socket, memo, now);
    return memo.user;
  }

  /** A socket requests will come on was accepted: its credentials' slot is made now (see `settle` in `server.ts`). */
  accepted(socket: Socket): void {
    this.#verified.reserve(socket);
  }

  /** The request's user, or a DavError 401 (no or wrong credentials) / 403 (plaintext refused). */
  async check(req: IncomingMessage, secure: boolean, remote: string): Promise<FileUser> {
    const header = req.headers.authorization;
    if (header === undefined) throw challenge(this.policy, 'authentication required');
    const memo = this.#verified.get(req.socket) ?? this.#adopt(req.socket, header, Date.now());
    if (memo !== undefined && memo.header === header && memo.generation === this.#generation) {
      if (Date.now() < memo.until) return memo.user;
      // The renewal started for this connection answers for this request: one check, counted once.
      const renewed = memo.renewal === undefined ? undefined : await memo.renewal;
      if (renewed !== undefined) {
        // A failure is answered once: the connection's next request makes its own attempt.
        if (!renewed.ok && this.#verified.get(req.socket)?.renewal === memo.renewal) this.#verified.delete(req.socket);
        if (!renewed.ok) this.#logFailure(memo.user.name, remote, renewed.reason);
        return this.#outcome(renewed, memo, header);
      }
    }
    const token = basicToken(header);
    if (token === undefined) throw challenge(this.policy, 'only Basic authentication is supported');
    if (!secure && !this.policy.allowPlaintextAuth && !this.isLoopback(remote)) {
      throw new DavError(403, 'Basic authentication over plain HTTP is refused: use HTTPS');
    }
    const credentials = basicCredentials(token);
    if (credentials === undefined) throw challenge(this.policy, 'malformed Basic credentials');
    // The header this connection had accepted, past its second: checked again, not slowed.
    const recheck = memo !== undefined && memo.header === header && memo.generation === this.#generation;
    const result = await this.#attempt(req.socket, header, credentials, remote, Date.now(), recheck);
    if (!result.ok) this.#logFailure(credentials.name, remote, result.reason);
    return this.#outcome(result, memo, header);
  }

  /**
   * The login policy's attempt with these credentials; a success is kept for the connection for
   * `CONNECTION_MEMO_MS` from `started` (a `Date.now()` value), unless the settings changed
   * meanwhile or, for a renewal, the memo it renews was replaced (`renewing`); a failure ends what
   * was kept for this header. `recheck` (a renewal is one): the connection had these credentials
   * accepted, so the login policy does not slow the check for the user's failures (an attacker's
   * elsewhere would otherwise make every request of the user's open connections wait the delay).
   */
  async #attempt(
    socket: Socket,
    header: string,
    credentials: Credentials,
    remote: string,
    started: number,
    recheck: boolean,
    renewing?: Verified,
  ): Promise<FileLoginResult> {
    const generation = this.#generation;
    // Counted under the local user, so that `alice` and `alice@` a mail domain share their failures;
    // an address in another domain is checked by no one and fails as a wrong password does.
    const local = localUser(credentials.name, this.#mailDomains);
    const check = (): Promise<FileAuthentication | undefined> =>
      local === undefined ? Promise.resolve(undefined) : this.users.authenticate(local, credentials.password, remote);
    const admitted = await this.#login.attempt(remote, local ?? credentials.name, check, { recheck, password: credentials.password, isLogin: (checked) => checked.kind === 'accepted' });
    let result: FileLoginResult;
    if (!admitted.ok) {
      result = admitted;
    } else if (admitted.value.kind === 'disabled') {
      // Answered as a wrong password, after the policy's delay (neither a failure nor a login).
      result = { ok: false, reason: 'disabled' };
    } else {
      result = { ok: true, value: admitted.value.user };
    }
    // A failure forgets every client's successes: the login policy may now refuse this address or
    // this user, whatever the password, and no new connection may get past it.
    if (!result.ok) this.#recent.clear();
    else if (generation === this.#generation) {
      const stamp = this.#current(result.value.name)?.stamp;
      if (stamp !== undefined) this.#remember(recentKey(socket, header), { user: result.value, stamp, until: started + CONNECTION_MEMO_MS, generation });
    }
    if (renewing !== undefined && this.#verified.get(socket) !== renewing) return result;
    if (result.ok && generation === this.#generation) {
      this.#verified.set(socket, { header, user: result.value, until: started + CONNECTION_MEMO_MS, generation, renewal: undefined });
    } else if (!result.ok && this.#verified.get(socket)?.header === header) {
      this.#verified.delete(socket);
    }
    return result;
  }

  /**
   * A connection's first request: the success its client had with `header` on another connection
   * within the last second (`#recent`), while the account's stamp is unchanged, taken as this
   * connection's memo with the user as the accounts hold it now, ending when that one does, and
   * counted as a success; undefined when there is none.
   */
  #adopt(socket: Socket, header: string, now: number): Verified | undefined {
    const recent = this.#recent.get(recentKey(socket, header));
    if (recent === undefined || recent.generation !== this.#generation || now >= recent.until) return undefined;
    const current = this.#current(recent.user.name);
    if (current === undefined || current.stamp !== recent.stamp) return undefined;
    const memo: Verified = { header, user: current.user, until: recent.until, generation: recent.generation, renewal: undefined };
    this.#verified.set(socket, memo);
    this.counters.inc('authSuccesses');
    return memo;
  }

  /** `FileUsers.current`; undefined when the users cannot tell (none is kept or taken then). */
  #current(name: string): { readonly user: FileUser; readonly stamp: string } | undefined {
    try {
      return this.users.current?.(name);
    } catch {
      return undefined;
    }
  }

  /**
   * Keep `recent` under `key`, made at `recent.until - CONNECTION_MEMO_MS`: the ones over by then go
   * (a Map keeps the order of insertion, which is nearly that of their ends), and past
   * `MAX_RECENT`, the oldest half.
   */
  #remember(key: string, recent: Recent): void {
    this.#recent.delete(key);
    const now = recent.until - CONNECTION_MEMO_MS;
    const full = this.#recent.size >= MAX_RECENT;
    for (const [old, kept] of this.#recent) {
      if (kept.until > now && !(full && this.#recent.size >= MAX_RECENT / 2)) break;
      this.#recent.delete(old);
    }
    this.#recent.set(key, recent);
  }

  #logFailure(user: string, remote: string, reason: 'failed' | 'refused' | 'disabled'): void {
    const message = { failed: 'login failed', refused: 'login refused: too many failures', disabled: 'login refused: account disabled' }[reason];
    this.log?.warn({ user, remote, reason }, message);
  }

  /** The user of a successful attempt, or the 401 of a failed one (counted). */
  #outcome(result: FileLoginResult, previous: Verified | undefined, header: string): FileUser {
    if (result.ok) {
      if (previous?.header !== header) this.counters.inc('authSuccesses');
      return result.value;
    }
    // Wrong credentials are a failure; a refusal past the limits and a disabled account's right
    // password are not (a disabled user's mounted drive asks at every request).
    this.counters.inc(result.reason === 'failed' ? 'authFailures' : 'loginsRefused');
    throw challenge(this.policy, result.reason === 'refused' ? 'too many failed logins: try again later' : 'wrong user name or password');
  }

  /**
   * Check a connection's credentials again ahead of the end of its memo, from `now`. A failed one
   * ends the memo at once and is answered to the connection's next request (`check`); one whose
   * check could not be made (the accounts failed) leaves the next request to check for itself.
   */
  #renew(socket: Socket, memo: Verified, now: number): void {
    const token = basicToken(memo.header);
    const credentials = token === undefined ? undefined : basicCredentials(token);
    if (credentials === undefined) return;
    const renewal = this.#attempt(socket, memo.header, credentials, socket.remoteAddress ?? 'unknown', now, true, memo).then(
      (result) => {
        // Not answered yet: the failure waits in an ended memo for the connection's next request.
        if (!result.ok && memo.generation === this.#generation && this.#verified.get(socket) === undefined) this.#verified.set(socket, { ...memo, until: 0, renewal });
        return result;
      },
      () => undefined,
    );
    memo.renewal = renewal;
  }
}


/** `#recent`'s key: the client's address, whether the connection is HTTPS, the Authorization header. */
function recentKey(socket: Socket, header: string): string {
  return `${socket.remoteAddress ?? ''} ${(socket as TLSSocket).encrypted === true ? 'https' : 'http'} ${header}`;
}

interface Credentials {
  readonly name: string;
  readonly password: string;
}

/** The token of a Basic Authorization header; undefined for another scheme or a malformed one. */
function basicToken(header: string): string | undefined {
  return /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header)?.[1];
}

/** The user name and password of a Basic token (base64 of `name:password`); undefined without a name. */
function basicCredentials(token: string): Credentials | undefined {
  const decoded = Buffer.from(token, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { name: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
