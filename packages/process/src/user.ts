/**
 * `user:` for a child: only a supervisor running as root may start children as another user.
 * Names are resolved through the system's user database (`getent passwd`, so NSS sources count).
 */
import { execFileSync } from 'node:child_process';

export interface UserIds {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

export class UserError extends Error {
  override readonly name = 'UserError';
}

/** Looks up a passwd entry: `getent passwd NAME` (a numeric NAME is a uid). */
export type PasswdLookup = (nameOrUid: string) => string | undefined;

export const getentPasswd: PasswdLookup = (nameOrUid) => {
  try {
    return execFileSync('getent', ['passwd', nameOrUid], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
};

export interface ResolveUserOptions {
  /** Whether this process runs as root (default: `process.getuid() === 0`). */
  readonly isRoot?: boolean;
  readonly lookup?: PasswdLookup;
}

/** The uid and primary gid of `user`; throws a `UserError` with a one-line reason. */
export function resolveUser(user: string, options: ResolveUserOptions = {}): UserIds {
  const isRoot = options.isRoot ?? process.getuid?.() === 0;
  if (!isRoot) throw new UserError(`user "${user}": hearth must run as root to start a service as another user`);
  const line = (options.lookup ?? getentPasswd)(user)?.split('\n')[0];
  if (!line) throw new UserError(`user "${user}": no such user`);
  const [name, , uid, gid, , home] = line.split(':');
  const u = Number(uid);
  const g = Number(gid);
  if (!name || !Number.isSafeInteger(u) || !Number.isSafeInteger(g)) throw new UserError(`user "${user}": unreadable passwd entry`);
  return { name, uid: u, gid: g, home: home ?? '/' };
}

/** The gid of group `name` (`getent group NAME`; a numeric NAME is a gid); throws a `UserError`. */
export function resolveGroup(name: string, lookup: PasswdLookup = getentGroup): number {
  const line = lookup(name)?.split('\n')[0];
  if (!line) throw new UserError(`group "${name}": no such group`);
  const gid = Number(line.split(':')[2]);
  if (!Number.isSafeInteger(gid)) throw new UserError(`group "${name}": unreadable group entry`);
  return gid;
}

export const getentGroup: PasswdLookup = (nameOrGid) => {
  try {
    return execFileSync('getent', ['group', nameOrGid], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
};
