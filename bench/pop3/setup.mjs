/**
 * The same mail on both sides: messages generated once (LF line ends, as Dovecot keeps them in a
 * Maildir), hard-linked into each user's Maildir for Dovecot and delivered into Hearth's store
 * (one body shared by all recipients, stored with CRLF). LIST sizes are the same on both sides:
 * the Maildir file names carry `S=` (size on disk) and `W=` (size with CRLF), as Dovecot's own
 * delivery writes them.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, linkSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const PASSWORD = 'bench-secret';

/** Deterministic text: `count` messages of exactly `size` bytes (LF line ends). */
export function makeMessages(count, size, firstIndex) {
  let seed = 0x9e3779b9 ^ size;
  const letter = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return 'abcdefghijklmnopqrstuvwxyz      '.charCodeAt(seed >>> 27);
  };
  const messages = [];
  for (let k = 0; k < count; k++) {
    const i = firstIndex + k;
    const head = [
      'Return-Path: <sender@example.org>',
      'From: Bench Sender <sender@example.org>',
      'To: <bench@localhost>',
      `Subject: bench message ${i}`,
      'Date: Mon, 01 Jan 2024 00:00:00 +0000',
      `Message-ID: <bench-${i}@example.org>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=us-ascii',
      '',
      '',
    ].join('\n');
    const bytes = Buffer.alloc(size);
    let at = bytes.write(head, 'latin1');
    while (at < size) {
      const lineEnd = Math.min(size - 1, at + 72);
      while (at < lineEnd) bytes[at++] = letter();
      bytes[at++] = 0x0a;
    }
    const lines = bytes.reduce((n, b) => n + (b === 0x0a ? 1 : 0), 0);
    messages.push({ index: i, lf: bytes, lfSize: size, crlfSize: size + lines });
  }
  return messages;
}

/** A Maildir base name with Dovecot's size fields, unique per message, the same for every user. */
const maildirName = (m) => `1704067200.M${m.index}P1.bench,S=${m.lfSize},W=${m.crlfSize}:2,`;

/** Dovecot: ROOT/mail/USER/Maildir for each user group, one inode per message shared by all. */
export function buildMaildirs(root, groups, owner) {
  const store = join(root, 'messages');
  mkdirSync(store, { recursive: true });
  const written = new Set();
  const lines = [];
  for (const { users, messages } of groups) {
    for (const m of messages) {
      if (written.has(m.index)) continue;
      writeFileSync(join(store, maildirName(m)), m.lf);
      written.add(m.index);
    }
    for (const user of users) {
      const maildir = join(root, 'mail', user, 'Maildir');
      for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(maildir, sub), { recursive: true });
      for (const m of messages) linkSync(join(store, maildirName(m)), join(maildir, 'cur', maildirName(m)));
      lines.push(`${user}:{PLAIN}${PASSWORD}::::::`);
    }
  }
  const usersFile = join(root, 'dovecot', 'users');
  mkdirSync(join(root, 'dovecot'), { recursive: true });
  writeFileSync(usersFile, `${lines.join('\n')}\n`);
  chmodSync(root, 0o755);
  const r = spawnSync('chown', ['-R', `${owner.uid}:${owner.gid}`, join(root, 'mail'), store]);
  if (r.status !== 0) throw new Error(`chown of the Maildirs failed: ${r.stderr}`);
  return usersFile;
}

/**
 * Hearth: users and mail through the store and accounts APIs (what `hearth user add` and SMTP
 * use): the store in `dir` (DATA/mail), the accounts beside it (DATA/accounts). Each group may
 * lower the scrypt cost of its users' hashes (`passwordParams`); the default is the accounts'.
 */
export async function buildStore(repoRoot, dir, groups) {
  const { openMailStore } = await import(pathToFileURL(join(repoRoot, 'packages/mail-store/dist/index.js')).href);
  const { openAccounts, DEFAULT_SCRYPT_PARAMS } = await import(pathToFileURL(join(repoRoot, 'packages/accounts/dist/index.js')).href);
  for (const { users, messages, passwordParams } of groups) {
    const store = await openMailStore({ dir });
    const accounts = await openAccounts({ dir: join(dir, '..', 'accounts'), passwordParams: passwordParams ?? DEFAULT_SCRYPT_PARAMS });
    try {
      for (let i = 0; i < users.length; i += 64) {
        const batch = users.slice(i, i + 64);
        for (const u of batch) store.addMaildrop(u);
        await Promise.all(batch.map((u) => accounts.add(u, PASSWORD)));
      }
      if (users.length > 0) {
        for (let i = 0; i < messages.length; i += 16) {
          await Promise.all(messages.slice(i, i + 16).map((m) => store.deliver({ recipients: users, body: m.lf })));
        }
      }
    } finally {
      await accounts.close();
      await store.close();
    }
  }
  return DEFAULT_SCRYPT_PARAMS;
}

/** A self-signed pair for Dovecot's `ssl = yes` (the bench itself speaks plain POP3). */
export function makeCert(dir) {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ]);
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  chmodSync(join(dir, 'key.pem'), 0o600);
}
