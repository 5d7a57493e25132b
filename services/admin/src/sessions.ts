/**
 * Sessions, in this process's memory: a random id (the cookie) to a session whose state is one
 * union, anonymous or signed in. Signing in makes a new session with a new id and a new CSRF
 * token and forgets the old one (no fixation); a session unused for `idleMs` is gone; at most
 * `max` are kept, the least recently used dropped first. A restart of the service signs
 * everyone out.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

export type SessionState =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'signed-in'; readonly user: string; readonly since: number };

/** A one-time message shown on the next page (the result of a form). */
export interface Notice {
  readonly kind: 'ok' | 'error';
  readonly text: string;
  /** Lines shown under the text (a refused config's problems, one per line). */
  readonly details?: readonly string[];
}

export interface Session {
  readonly id: string;
  readonly state: SessionState;
  /** The token every form of this session carries. */
  readonly csrf: string;
  lastSeen: number;
  notice: Notice | undefined;
}

export const COOKIE_NAME = '__Host-hearth-admin';

const token = (): string => randomBytes(32).toString('base64url');

export class Sessions {
  /** Insertion order is recency order: a touched session is moved to the end. */
  readonly #byId = new Map<string, Session>();

  constructor(
    private idleMs: number,
    private max: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.#byId.size;
  }

  update(idleMs: number, max: number): void {
    this.idleMs = idleMs;
    this.max = max;
  }

  /** The live session with this id (touched), or undefined when unknown or idle too long. */
  get(id: string | undefined): Session | undefined {
    if (id === undefined) return undefined;
    const session = this.#byId.get(id);
    if (session === undefined) return undefined;
    const now = this.now();
    this.#byId.delete(id);
    if (now - session.lastSeen > this.idleMs) return undefined;
    session.lastSeen = now;
    this.#byId.set(id, session);
    return session;
  }

  create(state: SessionState = { kind: 'anonymous' }): Session {
    const session: Session = { id: token(), state, csrf: token(), lastSeen: this.now(), notice: undefined };
    this.#byId.set(session.id, session);
    this.#sweep();
    return session;
  }

  /** An anonymous session that is not kept (requests of routes without a session). */
  ephemeral(): Session {
    return { id: '', state: { kind: 'anonymous' }, csrf: token(), lastSeen: this.now(), notice: undefined };
  }

  /** A new signed-in session replacing `old` (which is forgotten). */
  signIn(old: Session, user: string): Session {
    this.#byId.delete(old.id);
    return this.create({ kind: 'signed-in', user, since: this.now() });
  }

  end(session: Session): void {
    this.#byId.delete(session.id);
  }

  /** Ends every session of `user` (deleted, or the password changed elsewhere) but `keep`. */
  endUser(user: string, keep?: Session): void {
    for (const s of this.#byId.values()) if (s.state.kind === 'signed-in' && s.state.user === user && s !== keep) this.#byId.delete(s.id);
  }

  #sweep(): void {
    const now = this.now();
    for (const [id, s] of this.#byId) {
      if (this.#byId.size <= this.max && now - s.lastSeen <= this.idleMs) break;
      this.#byId.delete(id);
    }
  }
}

/** Whether a submitted token is the session's (constant time). */
export function csrfMatches(session: Session, submitted: string | null): boolean {
  if (submitted === null) return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(submitted);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The session id from a Cookie header. */
export function sessionIdOf(cookieHeader: string | undefined): string | undefined {
  if (cookieHeader === undefined) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === COOKIE_NAME) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sessionCookie(session: Session): string {
  return `${COOKIE_NAME}=${session.id}; Path=/; Secure; HttpOnly; SameSite=Strict`;
}
