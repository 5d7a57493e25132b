import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AccountsError, APOP_SECRET_ALPHABET, disableReasonText, GENERATED_APOP_SECRET, generateApopSecret, MIGRATIONS, SCHEMA_VERSION, checkPassword, hashPassword, isValidUserName } from '@hearth/accounts';
import type { Accounts } from '@hearth/accounts';
import { open, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let accounts: Accounts;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  accounts = await open(dir);
});
afterEach(async () => {
  await accounts.close();
  await cleanup();
});

describe('the database', () => {
  it('is DIR/accounts.sqlite in WAL mode at the latest schema, and reopens with its accounts', async () => {
    const db = new Database(join(dir, 'accounts.sqlite'), { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    await accounts.add('alice', 'secret');
    await accounts.close();
    accounts = await open(dir);
    expect(accounts.has('alice')).toBe(true);
  });

  it('is not created when told not to, and refuses a newer schema', async () => {
    await expect(open(join(dir, 'missing'), { create: false })).rejects.toMatchObject({ code: 'ACCOUNTS_MISSING' });
    await accounts.close();
    const db = new Database(join(dir, 'accounts.sqlite'));
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    await expect(open(dir)).rejects.toMatchObject({ code: 'SCHEMA_TOO_NEW' });
    accounts = await open(join(dir, 'other'));
  });

  it('opens a schema 2 database with every account enabled and its credential stamp unchanged', async () => {
    await accounts.close();
    await mkdir(join(dir, 'old'));
    const db = new Database(join(dir, 'old', 'accounts.sqlite'));
    for (const migration of MIGRATIONS.filter((m) => m.version <= 2)) db.exec(migration.sql);
    db.pragma('user_version = 2');
    const hash = await hashPassword('pw', { ln: 10, r: 8, p: 1 });
    db.prepare('INSERT INTO accounts (name, password_hash, created_at, updated_at) VALUES (?, ?, 1, 1)').run('alice', hash);
    db.close();
    accounts = await open(join(dir, 'old'));
    expect(accounts.find('alice')?.disabled).toBeUndefined();
    expect(await accounts.authenticate('alice', 'pw')).toEqual({ kind: 'accepted', user: 'alice' });
    // What the admin page's sessions kept before the upgrade still matches.
    expect(accounts.credentialStamp('alice')).toBe(createHash('sha256').update(hash).digest('base64url'));
  });

  it('refuses calls once closed', async () => {
    await accounts.close();
    expect(() => accounts.list()).toThrow(expect.objectContaining({ code: 'ACCOUNTS_CLOSED', temporary: true }));
  });
});

describe('passwords', () => {
  it('adds, verifies, changes and lists users; the answer is the canonical name', async () => {
    expect(await accounts.add('Alice', 'correct horse')).toBe('alice');
    expect(accounts.has('ALICE')).toBe(true);
    expect(await accounts.verifyPassword('ALICE', 'correct horse')).toBe('alice');
    expect(await accounts.verifyPassword('alice', 'wrong')).toBeUndefined();
    expect(await accounts.verifyPassword('nobody', 'correct horse')).toBeUndefined();
    expect(await accounts.verifyPassword('bad name!', 'x')).toBeUndefined();
    await accounts.setPassword('alice', 'battery staple');
    expect(await accounts.verifyPassword('alice', 'correct horse')).toBeUndefined();
    expect(await accounts.verifyPassword('alice', 'battery staple')).toBe('alice');
    await accounts.add('bob', 'pw');
    expect(accounts.list().map((a) => [a.name, a.groups, a.admin, a.apop])).toEqual([
      ['alice', [], false, false],
      ['bob', [], false, false],
    ]);
  });

  it('stores scrypt hashes in a PHC string with a salt per user', async () => {
    await accounts.add('alice', 'same');
    await accounts.add('bob', 'same');
    const db = new Database(join(dir, 'accounts.sqlite'), { readonly: true });
    const hashes = db.prepare('SELECT password_hash FROM accounts ORDER BY name').pluck().all() as string[];
    db.close();
    for (const hash of hashes) expect(hash).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    expect(hashes[0]).not.toBe(hashes[1]);
  });

  it('checks a hash written with the default parameters (N=2^15, r=8, p=1) before accounts had their own file', async () => {
    // Written by the mail store's hashPassword, as `hearth user add` stored it in DATA/mail/store.db.
    const phc = '$scrypt$ln=15,r=8,p=1$rScLzIly4btzieSH8N+1pw$DHaVL4SGOKbj8vUnhY5EJuufZ8JvTR3TgYN5YQvhC4I';
    expect(await checkPassword('alice-pw', phc)).toBe(true);
    expect(await checkPassword('alice-pW', phc)).toBe(false);
    expect(await hashPassword('x')).toMatch(/^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  });

  it('rejects bad names, duplicate users, empty passwords, and unknown users with clear errors', async () => {
    for (const name of ['', '-x', 'a b', 'a@b', 'x'.repeat(65), 'a..b', 'dot.']) {
      await expect(accounts.add(name, 'pw')).rejects.toMatchObject({ code: 'BAD_USER_NAME' });
      expect(isValidUserName(name)).toBe(false);
    }
    await accounts.add('alice', 'pw');
    await expect(accounts.add('ALICE', 'pw')).rejects.toMatchObject({ code: 'USER_EXISTS', message: 'user alice already exists' });
    await expect(accounts.add('bob', '')).rejects.toMatchObject({ code: 'BAD_PASSWORD' });
    await expect(accounts.add('bob', 'a\nb')).rejects.toMatchObject({ code: 'BAD_PASSWORD' });
    await expect(accounts.setPassword('carol', 'pw')).rejects.toMatchObject({ code: 'NO_SUCH_USER', message: 'no such user: carol' });
    expect(() => accounts.remove('carol')).toThrow(AccountsError);
  });

  it('removes an account with its groups and APOP secret', async () => {
    await accounts.add('alice', 'pw');
    accounts.setGroups('alice', ['family']);
    accounts.setApopSecret('alice', 'tanstaaf');
    accounts.remove('ALICE');
    expect(accounts.find('alice')).toBeUndefined();
    expect(await accounts.verifyPassword('alice', 'pw')).toBeUndefined();
    await accounts.add('alice', 'pw2');
    expect(accounts.find('alice')).toMatchObject({ groups: [], admin: false, apop: false });
  });
});

describe('the credential stamp', () => {
  it('changes when the password is set, from any process, and is gone with the account, even one made again', async () => {
    expect(accounts.credentialStamp('alice')).toBeUndefined();
    await accounts.add('alice', 'pw');
    const first = accounts.credentialStamp('ALICE');
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    accounts.setAdmin('alice', true);
    accounts.setGroups('alice', ['family']);
    expect(accounts.credentialStamp('alice')).toBe(first);
    const other = await open(dir); // the CLI, in its own process
    await other.setPassword('alice', 'pw');
    await other.close();
    const second = accounts.credentialStamp('alice');
    expect(second).not.toBe(first);
    accounts.remove('alice');
    expect(accounts.credentialStamp('alice')).toBeUndefined();
    await accounts.add('alice', 'pw');
    expect([first, second]).not.toContain(accounts.credentialStamp('alice'));
    expect(accounts.credentialStamp('no such name!')).toBeUndefined();
  });
});

describe('disabled accounts', () => {
  it('refuse the right password as a wrong one (verifyPassword), and authenticate tells them apart', async () => {
    await accounts.add('alice', 'pw');
    expect(await accounts.verifyPassword('alice', 'pw')).toBe('alice'); // now in the cache
    expect(accounts.disable('ALICE', '  lost phone  ')).toBe(true);
    expect(await accounts.verifyPassword('alice', 'pw')).toBeUndefined();
    expect(await accounts.authenticate('alice', 'pw')).toEqual({ kind: 'disabled', user: 'alice', reason: 'lost phone' });
    expect(await accounts.authenticate('alice', 'wrong')).toEqual({ kind: 'rejected' });
    expect(await accounts.authenticate('nobody', 'pw')).toEqual({ kind: 'rejected' });
    // Its right password always costs the scrypt of a wrong one: never answered from the cache.
    const before = accounts.authCacheStats();
    await accounts.authenticate('alice', 'pw');
    await accounts.authenticate('alice', 'pw');
    expect(accounts.authCacheStats()).toEqual({ hits: before.hits, misses: before.misses + 2 });
    expect(accounts.find('alice')?.disabled).toEqual({ since: expect.any(Date), reason: 'lost phone' });
    expect(accounts.enable('alice')).toBe(true);
    expect(accounts.enable('alice')).toBe(false);
    expect(await accounts.verifyPassword('alice', 'pw')).toBe('alice');
    expect(accounts.find('alice')?.disabled).toBeUndefined();
  });

  it('keep the time of the first disable, take a new reason (none given keeps it), and are listed with it', async () => {
    await accounts.add('alice', 'pw');
    await accounts.add('bob', 'pw');
    expect(accounts.disable('bob')).toBe(true);
    const since = accounts.find('bob')?.disabled?.since;
    expect(accounts.find('bob')?.disabled?.reason).toBeUndefined();
    expect(accounts.disable('bob', 'left the company')).toBe(false);
    expect(accounts.list().map((a) => [a.name, a.disabled?.reason ?? (a.disabled ? '(disabled)' : '')])).toEqual([
      ['alice', ''],
      ['bob', 'left the company'],
    ]);
    expect(accounts.find('bob')?.disabled?.since).toEqual(since);
    expect(accounts.disable('bob')).toBe(false);
    expect(accounts.find('bob')?.disabled?.reason).toBe('left the company');
    accounts.disable('bob', '');
    expect(accounts.find('bob')?.disabled).toEqual({ since, reason: undefined });
  });

  it('never leave no administrator that can sign in: the last one not disabled is refused (LAST_ADMIN)', async () => {
    await accounts.add('root', 'pw');
    await accounts.add('bob', 'pw');
    accounts.setAdmin('root', true);
    expect(() => accounts.disable('root', 'leaving')).toThrow(expect.objectContaining({ code: 'LAST_ADMIN', message: 'root is the last administrator who can sign in: make another account an administrator first' }));
    expect(accounts.find('root')?.disabled).toBeUndefined();
    accounts.setAdmin('bob', true);
    expect(accounts.disable('bob')).toBe(true);
    expect(() => accounts.disable('root')).toThrow(expect.objectContaining({ code: 'LAST_ADMIN' }));
    accounts.enable('bob');
    expect(accounts.disable('root')).toBe(true);
    // One disabled already takes a new reason: that leaves no fewer administrators who can sign in.
    expect(accounts.disable('root', 'on leave')).toBe(false);
    expect(accounts.find('root')?.disabled?.reason).toBe('on leave');
  });

  it('are refused for unknown users and bad reasons, with clear errors and nothing changed', async () => {
    await accounts.add('alice', 'pw');
    expect(() => accounts.disable('carol')).toThrow(expect.objectContaining({ code: 'NO_SUCH_USER', message: 'no such user: carol' }));
    expect(() => accounts.enable('carol')).toThrow(expect.objectContaining({ code: 'NO_SUCH_USER', message: 'no such user: carol' }));
    expect(() => accounts.disable('bad name!')).toThrow(expect.objectContaining({ code: 'BAD_USER_NAME' }));
    expect(() => accounts.disable('alice', 'x'.repeat(201))).toThrow(expect.objectContaining({ code: 'BAD_REASON', message: 'the reason is longer than 200 characters' }));
    const refusal = (message: string) => expect.objectContaining({ code: 'BAD_REASON', message });
    expect(() => accounts.disable('alice', 'two\nlines')).toThrow(refusal('the reason contains a control character, U+000A (a line feed), at position 4: write it on one line'));
    expect(() => accounts.disable('alice', 'a\ttab')).toThrow(refusal('the reason contains a control character, U+0009 (a tab), at position 2: write it on one line'));
    expect(() => accounts.disable('alice', 'escape \u001b[2J')).toThrow(refusal('the reason contains a control character, U+001B (an escape), at position 8: write it on one line'));
    expect(() => accounts.disable('alice', 'bell\u0007')).toThrow(refusal('the reason contains a control character, U+0007, at position 5: write it on one line'));
    expect(() => accounts.disable('alice', 'line\u2028separator')).toThrow(refusal('the reason contains a control character, U+2028 (a line separator), at position 5: write it on one line'));
    expect(accounts.find('alice')?.disabled).toBeUndefined();
  });

  it('refuse a reason with a bidirectional formatting character, naming it and its position, and keep nothing of it', async () => {
    await accounts.add('alice', 'pw');
    const bidi = (code: string, name: string, position: number) =>
      expect.objectContaining({
        code: 'BAD_REASON',
        message: `the reason contains a bidirectional control, ${code} (${name}), at position ${position}: it would show the text around it in another order; remove it`,
      });
    // "Trojan Source": shown as "on leave until 1 May", the text after the override reversed.
    expect(() => accounts.disable('alice', 'on leave \u202eyaM 1 litnu')).toThrow(bidi('U+202E', 'right-to-left override', 10));
    const every: [string, string, string][] = [
      ['\u202a', 'U+202A', 'left-to-right embedding'], ['\u202b', 'U+202B', 'right-to-left embedding'],
      ['\u202c', 'U+202C', 'pop directional formatting'], ['\u202d', 'U+202D', 'left-to-right override'],
      ['\u202e', 'U+202E', 'right-to-left override'], ['\u2066', 'U+2066', 'left-to-right isolate'],
      ['\u2067', 'U+2067', 'right-to-left isolate'], ['\u2068', 'U+2068', 'first strong isolate'],
      ['\u2069', 'U+2069', 'pop directional isolate'], ['\u200e', 'U+200E', 'left-to-right mark'],
      ['\u200f', 'U+200F', 'right-to-left mark'], ['\u061c', 'U+061C', 'arabic letter mark'],
    ];
    for (const [c, code, name] of every) expect(() => accounts.disable('alice', `ab${c}c`)).toThrow(bidi(code, name, 3));
    // The position counts characters (a letter outside the BMP is one) of the reason as given, before trimming.
    expect(() => accounts.disable('alice', '  \u{1F3D6}\u2066x\u2069')).toThrow(bidi('U+2066', 'left-to-right isolate', 4));
    // The first one found is named, whichever kind it is.
    expect(() => accounts.disable('alice', 'a\u202eb\nc')).toThrow(bidi('U+202E', 'right-to-left override', 2));
    expect(accounts.find('alice')?.disabled).toBeUndefined();
    // Right-to-left text itself is no control: Hebrew and Arabic reasons are kept as given.
    expect(accounts.disable('alice', 'בחופשה עד 3 במאי')).toBe(true);
    expect(accounts.find('alice')?.disabled?.reason).toBe('בחופשה עד 3 במאי');
  });

  it('take the longest reason there may be', async () => {
    await accounts.add('alice', 'pw');
    expect(accounts.disable('alice', 'é'.repeat(200))).toBe(true);
    expect(accounts.find('alice')?.disabled?.reason).toHaveLength(200);
  });

  it('change the credential stamp at each disable and enable, from any process, never back to an earlier one', async () => {
    await accounts.add('alice', 'pw');
    const enabled = accounts.credentialStamp('alice');
    const other = await open(dir); // the CLI, in its own process
    other.disable('alice', 'lost phone');
    const disabled = accounts.credentialStamp('alice');
    expect(disabled).not.toBe(enabled);
    other.disable('alice', 'another reason');
    expect(accounts.credentialStamp('alice')).toBe(disabled);
    other.enable('alice');
    await other.close();
    const again = accounts.credentialStamp('alice');
    expect([enabled, disabled]).not.toContain(again);
    accounts.setGroups('alice', ['family']);
    expect(accounts.credentialStamp('alice')).toBe(again);
  });
});

describe('groups and the administrator flag', () => {
  it('sets, replaces and clears groups; finds the members of a group', async () => {
    await accounts.add('alice', 'pw');
    await accounts.add('bob', 'pw');
    accounts.setGroups('alice', ['Family', 'photos', 'family']);
    accounts.setGroups('bob', ['family']);
    expect(accounts.find('alice')?.groups).toEqual(['family', 'photos']);
    expect(accounts.members('FAMILY').map((a) => a.name)).toEqual(['alice', 'bob']);
    expect(accounts.members('photos').map((a) => a.name)).toEqual(['alice']);
    accounts.setGroups('alice', []);
    expect(accounts.find('alice')?.groups).toEqual([]);
    expect(() => accounts.setGroups('alice', ['no spaces'])).toThrow(expect.objectContaining({ code: 'BAD_GROUP_NAME' }));
    expect(() => accounts.setGroups('carol', ['x'])).toThrow('no such user: carol');
  });

  it('marks and unmarks administrators', async () => {
    await accounts.add('alice', 'pw');
    expect(accounts.hasAdmin()).toBe(false);
    accounts.setAdmin('alice', true);
    expect(accounts.find('alice')).toMatchObject({ name: 'alice', admin: true });
    expect(accounts.list().filter((a) => a.admin).map((a) => a.name)).toEqual(['alice']);
    expect(accounts.hasAdmin()).toBe(true);
    accounts.setAdmin('alice', false);
    expect(accounts.find('alice')?.admin).toBe(false);
    expect(accounts.hasAdmin()).toBe(false);
    expect(() => accounts.setAdmin('carol', true)).toThrow('no such user: carol');
    // Only an administrator that can sign in counts (the admin page's setup link opens without one).
    await accounts.add('bob', 'pw');
    accounts.setAdmin('alice', true);
    accounts.setAdmin('bob', true);
    accounts.disable('bob');
    accounts.remove('alice');
    expect(accounts.hasAdmin()).toBe(false);
    accounts.enable('bob');
    expect(accounts.hasAdmin()).toBe(true);
  });
});

describe('password cache', () => {
  it('answers a repeated successful login from the cache, never a wrong password', async () => {
    await accounts.add('alice', 'pw');
    expect(await accounts.verifyPassword('alice', 'pw')).toBe('alice');
    expect(await accounts.verifyPassword('alice', 'pw')).toBe('alice');
    expect(accounts.authCacheStats()).toEqual({ hits: 1, misses: 1 });
    expect(await accounts.verifyPassword('alice', 'PW')).toBeUndefined();
    expect(accounts.authCacheStats()).toEqual({ hits: 1, misses: 2 });
  });

  it('forgets an entry when the password changes, even from another process', async () => {
    await accounts.add('alice', 'old');
    expect(await accounts.verifyPassword('alice', 'old')).toBe('alice');
    const other = await open(dir); // the CLI, in its own process
    await other.setPassword('alice', 'new');
    await other.close();
    expect(await accounts.verifyPassword('alice', 'old')).toBeUndefined();
    expect(await accounts.verifyPassword('alice', 'new')).toBe('alice');
  });

  it('can be disabled, and expires entries after the TTL', async () => {
    const noCache = await open(dir, { authCacheTtlMs: 0 });
    await noCache.add('alice', 'pw');
    await noCache.verifyPassword('alice', 'pw');
    await noCache.verifyPassword('alice', 'pw');
    expect(noCache.authCacheStats()).toEqual({ hits: 0, misses: 2 });
    await noCache.close();
    const short = await open(dir, { authCacheTtlMs: 30 });
    await short.verifyPassword('alice', 'pw');
    const checked = Date.now();
    // Waiting out the TTL is the behaviour under test (not ordering two events).
    while (Date.now() - checked <= 30) await new Promise((resolve) => setTimeout(resolve, 31 - (Date.now() - checked)));
    await short.verifyPassword('alice', 'pw');
    expect(short.authCacheStats()).toEqual({ hits: 0, misses: 2 });
    await short.close();
  });
});

describe('APOP secrets', () => {
  it('are opt-in, separate from the password, and removable', async () => {
    await accounts.add('alice', 'pw');
    expect(accounts.getApopSecret('alice')).toBeUndefined();
    accounts.setApopSecret('alice', 'tanstaaf');
    expect(accounts.getApopSecret('ALICE')).toBe('tanstaaf');
    await accounts.setPassword('alice', 'other');
    expect(accounts.getApopSecret('alice')).toBe('tanstaaf');
    expect(await accounts.verifyPassword('alice', 'tanstaaf')).toBeUndefined();
    expect(accounts.find('alice')?.apop).toBe(true);
    expect(accounts.clearApopSecret('alice')).toBe(true);
    expect(accounts.clearApopSecret('alice')).toBe(false);
    expect(accounts.getApopSecret('alice')).toBeUndefined();
    expect(() => accounts.setApopSecret('nobody', 'x')).toThrow('no such user: nobody');
    expect(accounts.getApopSecret('bad name!')).toBeUndefined();
  });

  it('are generated in four groups of five from letters and digits without look-alikes, each time another', () => {
    const secrets = Array.from({ length: 200 }, generateApopSecret);
    for (const secret of secrets) expect(secret).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}-[a-z2-9]{5}-[a-z2-9]{5}$/);
    expect(secrets.join('')).not.toMatch(/[01ilo]/);
    expect(new Set(secrets).size).toBe(secrets.length);
    // Every character of the alphabet turns up (4,000 draws from 31), and nothing else.
    expect(new Set(secrets.join('').replaceAll('-', ''))).toEqual(new Set(APOP_SECRET_ALPHABET));
    expect(GENERATED_APOP_SECRET.test(secrets[0]!)).toBe(true);
    expect(GENERATED_APOP_SECRET.test('abcde-fghjk-mnpqr-stuv0')).toBe(false);
  });
});

describe('disableReasonText', () => {
  it('keeps a reason as it is for UTF-8, every control character or line separator (stored before they were refused) as ?', () => {
    expect(disableReasonText('congé jusqu’au 3 — voir Zoë', 'utf-8')).toBe('congé jusqu’au 3 — voir Zoë');
    expect(disableReasonText('two\r\n+OK lines\tand\u2028more\u0085', 'utf-8')).toBe('two??+OK lines?and?more?');
  });

  it('shows every bidirectional formatting character (stored before they were refused) as ?, in UTF-8 as in ASCII', () => {
    const stored = 'on leave \u202eyaM 1 litnu\u202c, \u2067\u05d1\u05d7\u05d5\u05e4\u05e9\u05d4\u2069 \u200e\u200f\u061c\u202a\u202b\u202d\u2066\u2068';
    expect(disableReasonText(stored, 'utf-8')).toBe('on leave ?yaM 1 litnu?, ?בחופשה? ????????');
    expect(disableReasonText(stored, 'ascii')).toBe('on leave ?yaM 1 litnu?, ???????? ????????');
  });

  it('spells a reason in printable US-ASCII for a reply that allows nothing else', () => {
    expect(disableReasonText('congé jusqu’au 3 — voir Zoë…', 'ascii')).toBe("conge jusqu'au 3 - voir Zoe...");
    expect(disableReasonText('Straße «fermée» ﬁn', 'ascii')).toBe('Stra?e "fermee" fin');
    expect(disableReasonText('在休假', 'ascii')).toBe('???');
    expect(disableReasonText('two\r\nlines\u001b[2J', 'ascii')).toBe('two??lines?[2J');
    // One character (or one letter with its accent) is one at most: the line stays as long.
    const long = 'é'.repeat(200);
    expect(disableReasonText(long, 'ascii')).toBe('e'.repeat(200));
    expect(disableReasonText(long.normalize('NFD'), 'ascii')).toBe('e'.repeat(200));
    // A compatibility form may spell out to many characters (U+FDFA to 18): the line is cut.
    const spelled = disableReasonText('\ufdfa'.repeat(200), 'ascii');
    expect([spelled.length, spelled.endsWith('?...')]).toEqual([400, true]);
  });
});
