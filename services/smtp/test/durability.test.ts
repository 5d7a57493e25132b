/**
 * kill -9 of the SMTP service process: a message answered 250 is in the store; a message killed
 * before its 250 (mid-DATA, or held between the final dot and the commit) is not there at all.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openMailStore } from '@hearth/mail-store';
import { spawnTied } from '@hearth/testkit';
import { mailDir } from '@hearth/smtp';
import { RawClient } from './harness.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'smtp-child.mjs');

let dataDir: string;
const children: ChildProcess[] = [];
const clients: RawClient[] = [];

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'hearth-smtp-kill-'));
  const store = await openMailStore({ dir: mailDir(dataDir) });
  store.addMaildrop('alice');
  await store.close();
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

interface Child {
  readonly process: ChildProcess;
  readonly port: number;
  /** Resolves when the child printed `line`. */
  printed(line: string): Promise<void>;
  kill9(): Promise<void>;
}

async function startChild(env: Record<string, string> = {}): Promise<Child> {
  const child = spawnTied(process.execPath, [CHILD, dataDir], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  children.push(child);
  let out = '';
  let err = '';
  const waiters: { line: string; resolve: () => void }[] = [];
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child did not start: ${err}`)), 10_000);
    child.on('exit', (code) => reject(new Error(`child exited ${code}: ${err}`)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^(\{.*\})$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve((JSON.parse(m[1]!) as { mx: number }).mx);
      }
      for (const w of waiters.filter((w) => out.split('\n').includes(w.line))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    });
  });
  return {
    process: child,
    port,
    printed: (line) =>
      out.split('\n').includes(line) ? Promise.resolve() : new Promise((resolve) => waiters.push({ line, resolve })),
    kill9: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

async function storedSubjects(): Promise<string[]> {
  const store = await openMailStore({ dir: mailDir(dataDir), create: false });
  try {
    const subjects: string[] = [];
    for (const m of store.listMessages('alice')) {
      const chunks: Buffer[] = [];
      for await (const chunk of await store.openBody(m.messageId)) chunks.push(chunk as Buffer);
      subjects.push(/^Subject: (.*)\r$/m.exec(Buffer.concat(chunks).toString())?.[1] ?? '?');
    }
    return subjects;
  } finally {
    await store.close();
  }
}

async function openTransaction(port: number): Promise<RawClient> {
  const client = await RawClient.connect(port);
  clients.push(client);
  expect(await client.reply()).toMatch(/^220 /);
  expect(await client.command('EHLO killer.example')).toMatch(/^250/);
  expect(await client.command('MAIL FROM:<sender@example.org>')).toMatch(/^250/);
  expect(await client.command('RCPT TO:<alice@localhost>')).toMatch(/^250/);
  expect(await client.command('DATA')).toMatch(/^354/);
  return client;
}

describe('kill -9 of the SMTP service', () => {
  it('keeps a message answered 250, and stores nothing of one killed mid-DATA', async () => {
    const child = await startChild();
    const first = await openTransaction(child.port);
    first.write('Subject: acknowledged\r\n\r\nkeep me\r\n.\r\n');
    expect(await first.reply()).toMatch(/^250 2\.0\.0 /);
    await child.kill9();
    expect(await storedSubjects()).toEqual(['acknowledged']);

    const again = await startChild();
    const second = await openTransaction(again.port);
    // Two megabytes of body reach the store's file, but never the final dot.
    const line = `${'y'.repeat(1000)}\r\n`;
    second.write(`Subject: in flight\r\n\r\n${line.repeat(2000)}`);
    // The store writes a large body to a file under tmp/ before it is committed: wait for a megabyte there.
    const tmp = join(mailDir(dataDir), 'tmp');
    const written = async (): Promise<number> => {
      let most = 0;
      for (const name of await readdir(tmp).catch(() => [])) most = Math.max(most, (await stat(join(tmp, name)).catch(() => ({ size: 0 }))).size);
      return most;
    };
    for (let i = 0; i < 500 && (await written()) < 1_000_000; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await written()).toBeGreaterThanOrEqual(1_000_000);
    await again.kill9();
    expect(await second.reply()).toBeUndefined();
    expect(await storedSubjects()).toEqual(['acknowledged']);
  });

  it('stores nothing of a message killed after its final dot but before the commit', async () => {
    const child = await startChild({ HOLD: '1' });
    const client = await openTransaction(child.port);
    client.write('Subject: held\r\n\r\nnever acknowledged\r\n.\r\n');
    await child.printed('held');
    await child.kill9();
    expect(await client.reply()).toBeUndefined();
    expect(await storedSubjects()).toEqual([]);
  });
});
