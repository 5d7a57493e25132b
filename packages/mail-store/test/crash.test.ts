import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { MailStore } from '@hearth/mail-store';
import { open, readAll, tempDir } from './helpers.js';

const LARGE = `Subject: committed\r\n\r\n${'c'.repeat(100_000)}\r\n`;
const CHILD = fileURLToPath(new URL('./fixtures/child.mjs', import.meta.url));

let dir: string;
let cleanup: () => Promise<void>;
let store: MailStore | undefined;
const children: ChildProcess[] = [];

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  const setup = await open(dir);
  await setup.addMaildrop('alice');
  await setup.close();
});
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await store?.close();
  store = undefined;
  await cleanup();
});

/**
 * Starts the fixture and resolves with it and its first stdout line. Its stdin is a pipe from this
 * process, which it reads until its end: it exits when this process does, however that ends.
 */
async function startChild(...args: string[]): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(process.execPath, [CHILD, args[0] ?? '', dir, ...args.slice(1)], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const [line] = (await Promise.race([
    once(lines, 'line'),
    once(child, 'exit').then(() => {
      throw new Error('child exited before reporting');
    }),
  ])) as [string];
  return { child, line };
}

async function kill9(child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

async function files(sub: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(dir, sub), { withFileTypes: true })) {
    if (entry.isDirectory()) out.push(...(await readdir(join(dir, sub, entry.name))).map((n) => `${entry.name}/${n}`));
    else out.push(entry.name);
  }
  return out;
}

describe('crash safety', () => {
  it('keeps a message whose delivery resolved before the process was killed with SIGKILL', async () => {
    const { child, line } = await startChild('deliver', 'alice');
    const [, small, large] = line.split(' ').map(Number);
    await kill9(child);
    store = await open(dir);
    expect(store.listMessages('alice').map((m) => m.messageId).sort()).toEqual([small, large].sort());
    expect((await readAll(await store.openBody(small ?? 0))).toString()).toBe('Subject: acked\r\n\r\nkeep me\r\n');
    expect((await readAll(await store.openBody(large ?? 0))).toString()).toBe(`Subject: acked\r\n\r\n${'k'.repeat(100_000)}\r\n`);
  });

  it('leaves nothing half-stored when killed before the commit, and removes the orphan at the next open', async () => {
    const { child, line } = await startChild('deliver-unfinished', 'alice');
    expect(line).toBe('writing');
    expect(await files('tmp')).toHaveLength(1);
    // While the writer lives, its file may still be committed: another process leaves it alone.
    const meanwhile = await open(dir);
    expect(await files('tmp')).toHaveLength(1);
    await meanwhile.close();
    await kill9(child);
    store = await open(dir);
    expect(store.listMessages('alice')).toEqual([]);
    expect(await files('tmp')).toEqual([]);
  });

  it('removes a placed but never committed body file whose writer died', async () => {
    const dead = spawn(process.execPath, ['-e', '']);
    await once(dead, 'exit');
    await mkdir(join(dir, 'bodies', '20240101'), { recursive: true });
    await writeFile(join(dir, 'bodies', '20240101', `${dead.pid}.12345.00ff00ff00ff00ff`), 'orphan\r\n');
    const [kept] = await (async () => {
      const s = await open(dir);
      const d = await s.deliver({ recipients: ['alice'], body: LARGE });
      await s.close();
      return d;
    })();
    store = await open(dir);
    expect(await files('bodies')).toHaveLength(1);
    expect((await readAll(await store.openBody(kept?.messageId ?? 0))).toString()).toBe(LARGE);
  });
});

describe('maildrop lock', () => {
  it('is exclusive across sessions and store instances, and released by unlock and close', async () => {
    store = await open(dir);
    const other = await open(dir);
    expect(store.tryLockMaildrop('alice', 's1')).toBe(true);
    expect(store.tryLockMaildrop('alice', 's1')).toBe(true);
    expect(store.tryLockMaildrop('alice', 's2')).toBe(false);
    expect(other.tryLockMaildrop('alice', 's3')).toBe(false);
    expect(other.maildropLockHolder('alice')).toMatchObject({ holder: 's1', pid: process.pid });
    store.unlockMaildrop('alice', 's1');
    expect(other.tryLockMaildrop('alice', 's3')).toBe(true);
    await expect(store.deleteMaildrop('alice')).rejects.toMatchObject({ code: 'MAILDROP_LOCKED' });
    await other.close();
    expect(store.tryLockMaildrop('alice', 's2')).toBe(true);
  });

  it('is seen by another process and freed when the holder is killed with SIGKILL', async () => {
    const { child, line } = await startChild('lock', 'alice');
    expect(line).toBe('locked true');
    store = await open(dir);
    expect(store.tryLockMaildrop('alice', 'parent-session')).toBe(false);
    expect(store.maildropLockHolder('alice')).toMatchObject({ holder: 'child-session', pid: child.pid });
    await kill9(child);
    expect(store.maildropLockHolder('alice')).toBeUndefined();
    expect(store.tryLockMaildrop('alice', 'parent-session')).toBe(true);
  });
});
