/**
 * Resource views for PROPFIND and LOCK replies: the target or a member of a folder, with its locks,
 * dead properties and (in a home folder or share with a quota) the RFC 4331 figures.
 */
import type { Stats } from 'node:fs';
import type { Env, FsTarget } from './context.js';
import type { DeadProp } from './dead-props.js';
import type { Lock } from './locks.js';
import type { ResourceView } from './props.js';

/**
 * RFC 4331's figures for `t`'s folder: the bytes stored, and those an upload may still take (the
 * room reserved by uploads in progress, of every instance, is not: an upload of what is shown
 * fits).
 */
export async function quotaOf(env: Env, t: FsTarget): Promise<ResourceView['quota']> {
  const share = t.share;
  if (share.quota > 0) {
    const used = await env.quotas.used(share.root);
    return { used, available: await env.quotas.available(share.root, share.quota) };
  }
  return undefined;
}

export function viewOf(
  env: Env,
  href: string,
  path: string,
  name: string,
  stat: Stats,
  dead: readonly DeadProp[],
  quota: ResourceView['quota'],
  locks: readonly Lock[] = env.locks.covering(path),
): ResourceView {
  const collection = stat.isDirectory();
  return {
    href,
    stat,
    collection,
    displayName: name,
    locks,
    dead,
    ...(collection && quota !== undefined ? { quota } : {}),
  };
}
