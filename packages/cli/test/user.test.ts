import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { GENERATED_APOP_SECRET, openSuiteAccounts } from '@hearth/accounts';
import { openMailStore } from '@hearth/mail-store';
import { runProgram } from '@hearth/testkit';
import { hearth } from '@hearth/testkit/hearth-up';
import { userCommand } from '../dist/commands/user.js';
import { capturedOutput } from './captured.js';

let cwd: string;
/** What del and admin --off add when they leave no administrator who can sign in. */
const SETUP_LINK_NOTE =
  'no administrator can sign in now: the admin service opens a one-time setup link to make one, logged (hearth logs admin) once its sign-in page is opened or at its next start\n';

beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'hearth-cli-user-'));
});
afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `hearth user ARGV` with `input` on a piped stdin (or typed on a fake terminal). */
async function user(argv: string[], options: { input?: string; tty?: boolean; env?: Record<string, string> } = {}): Promise<Run> {
  const stdin = Object.assign(new PassThrough(), {
    isTTY: options.tty === true,
    rawModes: [] as boolean[],
    setRawMode(raw: boolean) {
      this.rawModes.push(raw);
    },
  });
  const { stdout, stderr, out, err } = capturedOutput();
  if (options.input !== undefined) stdin.write(options.input);
  if (!options.tty) stdin.end();
  const code = await userCommand.run(argv, { stdin, stdout, stderr, env: options.env ?? {}, cwd });
  if (options.tty) expect(stdin.rawModes.at(-1)).toBe(false);
  return { code, stdout: out(), stderr: err() };
}

async function withStore<T>(run: (store: Awaited<ReturnType<typeof openMailStore>>) => Promise<T> | T): Promise<T> {
  const store = await openMailStore({ dir: join(cwd, 'data', 'mail'), create: false });
  try {
    return await run(store);
  } finally {
    await store.close();
  }
}

async function withAccounts<T>(run: (accounts: Awaited<ReturnType<typeof openSuiteAccounts>>) => Promise<T> | T): Promise<T> {
  const accounts = await openSuiteAccounts(join(cwd, 'data'), { create: false });
  try {
    return await run(accounts);
  } finally {
    await accounts.close();
  }
}

describe('hearth user', () => {
  it('adds a user with the password from stdin into ./data/mail and lists it', async () => {
    expect(await user(['add', 'Alice', '--password-stdin'], { input: 's3cret pass\n' })).toEqual({
      code: 0,
      stdout: 'added user alice\n',
      stderr: '',
    });
    expect(await withAccounts((accounts) => accounts.verifyPassword('alice', 's3cret pass'))).toBe('alice');
    const list = await user(['list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^NAME +MESSAGES +BYTES +APOP +ADMIN +CREATED \(UTC\) +GROUPS +DISABLED\nalice +0 +0 +no +no +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +- +-\n$/);
  });

  it('never takes a password from the command line', async () => {
    const extra = await user(['add', 'alice', 'hunter2']);
    expect(extra).toMatchObject({ code: 64, stderr: 'hearth user: usage: hearth user add NAME\n' });
    const option = await user(['add', 'alice', '--password', 'hunter2']);
    expect(option.code).toBe(64);
    expect(option.stderr).toMatch(/^hearth user: unknown option --password\n$/);
    expect(existsSync(join(cwd, 'data'))).toBe(false);
  });

  it('refuses to prompt without a terminal, and an empty stdin', async () => {
    expect(await user(['add', 'alice'], { input: 'pw\n' })).toMatchObject({
      code: 1,
      stderr: 'hearth user: stdin is not a terminal: pass the password on stdin with --password-stdin\n',
    });
    expect(await user(['add', 'alice', '--password-stdin'], { input: '' })).toMatchObject({
      code: 1,
      stderr: 'hearth user: no password on stdin (--password-stdin reads one line)\n',
    });
  });

  it('prompts twice on a terminal without echoing the password', async () => {
    const run = await user(['add', 'alice'], { tty: true, input: 'pa\u007fw\r\npw\r' });
    expect(run).toEqual({ code: 0, stdout: 'added user alice\n', stderr: 'Password for alice: \nRetype it: \n' });
    expect(await withAccounts((accounts) => accounts.verifyPassword('alice', 'pw'))).toBe('alice');
    const differ = await user(['passwd', 'alice'], { tty: true, input: 'firstpw\rsecondpw\r' });
    expect(differ).toMatchObject({ code: 1, stdout: '' });
    expect(differ.stderr).toContain('hearth user: the two entries differ; nothing was changed\n');
    expect(differ.stderr).not.toMatch(/firstpw|secondpw/);
    expect(await user(['passwd', 'alice'], { tty: true, input: '\u0003' })).toMatchObject({ code: 1, stderr: 'New password for alice: \nhearth user: cancelled\n' });
  });

  it('changes a password', async () => {
    await user(['add', 'alice', '--password-stdin'], { input: 'old\n' });
    expect(await user(['passwd', 'alice', '--password-stdin'], { input: 'new\r\n' })).toMatchObject({
      code: 0,
      stdout: 'changed the password of alice\n',
    });
    expect(await withAccounts(async (accounts) => [await accounts.verifyPassword('alice', 'old'), await accounts.verifyPassword('alice', 'new')])).toEqual([
      undefined,
      'alice',
    ]);
  });

  it('refuses to delete a non-empty maildrop without --purge', async () => {
    await user(['add', 'bob', '--password-stdin'], { input: 'pw\n' });
    await withStore((store) => store.deliver({ recipients: ['bob'], body: 'Subject: hi\r\n\r\nhello\r\n' }));
    expect(await user(['del', 'bob'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'hearth user: the maildrop of bob holds 1 message: use --purge to delete the user with its mail\n',
    });
    expect(await user(['del', 'bob', '--purge'])).toEqual({ code: 0, stdout: 'deleted user bob and 1 message\n', stderr: '' });
    expect(await withStore((store) => store.hasMaildrop('bob'))).toBe(false);
    expect(await withAccounts((accounts) => accounts.has('bob'))).toBe(false);
  });

  it('sets and clears an APOP secret, which must differ from the password', async () => {
    await user(['add', 'alice', '--password-stdin'], { input: 'pw\n' });
    const samePassword = 'hearth user: the APOP secret must differ from the login password (it is stored readable): type another, or let --generate make one\n';
    expect(await user(['apop', 'alice', '--password-stdin'], { input: 'pw\n' })).toEqual({ code: 64, stdout: '', stderr: samePassword });
    expect(await user(['apop', 'alice', '--password-stdin'], { input: 'tanstaaf\n' })).toMatchObject({
      code: 0,
      stdout: 'set the APOP secret of alice\n',
    });
    expect(await withAccounts((accounts) => accounts.getApopSecret('alice'))).toBe('tanstaaf');
    // Typed at the prompt (twice), the password is refused as well, and the secret set before stays.
    const typed = await user(['apop', 'alice'], { tty: true, input: 'pw\rpw\r' });
    expect(typed).toMatchObject({ code: 64, stdout: '' });
    expect(typed.stderr.endsWith(samePassword)).toBe(true);
    expect(await withAccounts((accounts) => accounts.getApopSecret('alice'))).toBe('tanstaaf');
    expect((await user(['list'])).stdout).toMatch(/alice +0 +0 +yes +no /);
    expect(await user(['apop', 'alice', '--clear'])).toMatchObject({ code: 0, stdout: 'removed the APOP secret of alice\n' });
    expect(await withAccounts((accounts) => accounts.getApopSecret('alice'))).toBeUndefined();
    // A disabled account's password is still its own: the secret must differ from it too.
    await user(['disable', 'alice']);
    expect(await user(['apop', 'alice', '--password-stdin'], { input: 'pw\n' })).toMatchObject({ code: 64 });
    expect(await withAccounts((accounts) => accounts.getApopSecret('alice'))).toBeUndefined();
  });

  it('makes an APOP secret with --generate and prints it once; refuses --generate with another way to give one', async () => {
    await user(['add', 'alice', '--password-stdin'], { input: 'pw\n' });
    const made = await user(['apop', 'alice', '--generate']);
    const m = /^set the APOP secret of alice: (\S+)\nenter it, hyphens included, as the POP3 password in a mail client set to use APOP; it is not shown again\n$/.exec(made.stdout);
    expect(made).toMatchObject({ code: 0, stderr: '' });
    expect(m).not.toBeNull();
    const secret = m![1]!;
    expect(secret).toMatch(GENERATED_APOP_SECRET);
    expect(await withAccounts((accounts) => accounts.getApopSecret('alice'))).toBe(secret);
    const again = await user(['apop', 'ALICE', '--generate']);
    const renewed = /: (\S+)\n/.exec(again.stdout)![1]!;
    expect(renewed).not.toBe(secret);
    expect(await withAccounts((accounts) => accounts.getApopSecret('alice'))).toBe(renewed);
    expect(await user(['apop', 'alice', '--generate', '--password-stdin'], { input: 'tanstaaf\n' })).toEqual({
      code: 64,
      stdout: '',
      stderr: 'hearth user: --generate makes the secret: it reads none from stdin (no --password-stdin)\n',
    });
    expect(await user(['apop', 'alice', '--generate', '--clear'])).toMatchObject({ code: 64, stderr: 'hearth user: --generate and --clear exclude each other\n' });
    expect(await user(['passwd', 'alice', '--generate'])).toMatchObject({ code: 64, stderr: 'hearth user: --generate only applies to apop\n' });
    expect(await withAccounts((accounts) => accounts.getApopSecret('alice'))).toBe(renewed);
    expect(await user(['apop', 'nobody', '--generate'])).toMatchObject({ code: 1, stdout: '', stderr: 'hearth user: no such user: nobody\n' });
  });

  it('sets, prints and clears groups, and the administrator flag, shown by list', async () => {
    await user(['add', 'alice', '--password-stdin'], { input: 'pw\n' });
    expect(await user(['groups', 'alice', 'Family,photos'])).toEqual({ code: 0, stdout: 'alice is in family, photos\n', stderr: '' });
    expect(await user(['groups', 'ALICE'])).toEqual({ code: 0, stdout: 'family,photos\n', stderr: '' });
    expect(await user(['admin', 'alice'])).toEqual({ code: 0, stdout: 'alice is an administrator\n', stderr: '' });
    expect(await withAccounts((accounts) => accounts.find('alice'))).toMatchObject({ groups: ['family', 'photos'], admin: true });
    expect((await user(['list'])).stdout).toMatch(/\nalice +0 +0 +no +yes +[\d-]+ [\d:]+ +family,photos +-\n$/);
    expect(await user(['groups', 'alice', '--clear'])).toEqual({ code: 0, stdout: 'alice is in no group\n', stderr: '' });
    // The only administrator: the admin page's setup link opens again, and the command says so.
    expect(await user(['admin', 'alice', '--off'])).toEqual({ code: 0, stdout: `alice is no longer an administrator\n${SETUP_LINK_NOTE}`, stderr: '' });
    expect(await user(['admin', 'alice', '--off'])).toEqual({ code: 0, stdout: 'alice is no longer an administrator\n', stderr: '' });
    expect(await withAccounts((accounts) => accounts.find('alice'))).toMatchObject({ groups: [], admin: false });
    expect(await user(['groups', 'alice', 'bad group'])).toMatchObject({ code: 1, stderr: expect.stringMatching(/^hearth user: invalid group name "bad group": /) });
    expect(await user(['groups', 'carol', 'x'])).toMatchObject({ code: 1, stderr: 'hearth user: no such user: carol\n' });
    expect(await user(['admin', 'alice', 'x'])).toMatchObject({ code: 64, stderr: 'hearth user: usage: hearth user admin NAME\n' });
    expect(await user(['groups', 'alice', '--off'])).toMatchObject({ code: 64, stderr: 'hearth user: --off only applies to admin\n' });
  });

  it('disables a user with a reason, lists it, enables it again with the same password (the real hearth binary)', async () => {
    await user(['add', 'alice', '--password-stdin'], { input: 'pw\n' });
    await user(['add', 'bob', '--password-stdin'], { input: 'pw\n' });
    expect(await hearth(['user', 'disable', 'Alice', '--reason', 'lost phone'], { cwd })).toEqual({
      code: 0,
      stdout: 'disabled alice (lost phone): it can no longer log in\n',
      stderr: '',
    });
    expect(await withAccounts((accounts) => accounts.verifyPassword('alice', 'pw'))).toBeUndefined();
    const list = await hearth(['user', 'list'], { cwd });
    expect(list.stdout).toMatch(/ GROUPS +DISABLED\nalice +0 +0 +no +no +[\d-]+ [\d:]+ +- +since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d: lost phone\nbob +.* +- +-\n$/);
    expect(await hearth(['user', 'disable', 'alice'], { cwd })).toMatchObject({ code: 0, stdout: 'alice was already disabled; the reason is "lost phone"\n' });
    expect(await hearth(['user', 'disable', 'alice', '--reason', ''], { cwd })).toMatchObject({ code: 0, stdout: 'alice was already disabled; the reason is none\n' });
    expect(await hearth(['user', 'enable', 'alice'], { cwd })).toEqual({ code: 0, stdout: 'enabled alice: it can log in again\n', stderr: '' });
    expect(await hearth(['user', 'enable', 'alice'], { cwd })).toMatchObject({ code: 0, stdout: 'alice was not disabled\n' });
    expect(await withAccounts((accounts) => accounts.verifyPassword('alice', 'pw'))).toBe('alice');
    expect(await hearth(['user', 'disable', 'carol'], { cwd })).toEqual({ code: 1, stdout: '', stderr: 'hearth user: no such user: carol\n' });
    expect(await hearth(['user', 'enable', 'carol'], { cwd })).toEqual({ code: 1, stdout: '', stderr: 'hearth user: no such user: carol\n' });
    expect(await hearth(['user', 'disable', 'bob', '--reason', 'x'.repeat(201)], { cwd })).toEqual({
      code: 1,
      stdout: '',
      stderr: 'hearth user: the reason is longer than 200 characters\n',
    });
    expect(await hearth(['user', 'disable', 'bob', '--reason', 'on leave\n+OK until May'], { cwd })).toEqual({
      code: 1,
      stdout: '',
      stderr: 'hearth user: the reason contains a control character, U+000A (a line feed), at position 9: write it on one line\n',
    });
    // "Trojan Source": would list as "on leave until 1 May", and reorder the rest of its line.
    expect(await hearth(['user', 'disable', 'bob', '--reason', 'on leave \u202eyaM 1 litnu'], { cwd })).toEqual({
      code: 1,
      stdout: '',
      stderr: 'hearth user: the reason contains a bidirectional control, U+202E (right-to-left override), at position 10: it would show the text around it in another order; remove it\n',
    });
    expect(await withAccounts((accounts) => accounts.find('bob')?.disabled)).toBeUndefined();
    expect(await user(['enable', 'bob', '--reason', 'x'])).toMatchObject({ code: 64, stderr: 'hearth user: --reason only applies to disable\n' });
  });

  it('refuses to disable the last administrator not disabled, naming it and what to do instead (the real hearth binary)', async () => {
    for (const name of ['root', 'bob', 'carol']) await user(['add', name, '--password-stdin'], { input: 'pw\n' });
    await user(['admin', 'root']);
    await user(['admin', 'bob']);
    // A user who is no administrator, while no administrator could sign in: nothing to keep.
    expect(await hearth(['user', 'disable', 'bob'], { cwd })).toMatchObject({ code: 0, stdout: 'disabled bob: it can no longer log in\n' });
    expect(await hearth(['user', 'disable', 'root', '--reason', 'leaving'], { cwd })).toEqual({
      code: 1,
      stdout: '',
      stderr: 'hearth user: root is the last administrator who can sign in: make another account an administrator first (hearth user admin NAME), then disable it\n',
    });
    expect(await withAccounts((accounts) => accounts.find('root')?.disabled)).toBeUndefined();
    expect(await hearth(['user', 'disable', 'carol'], { cwd })).toMatchObject({ code: 0 });
    // Another administrator who can sign in: then root may be disabled.
    expect(await hearth(['user', 'enable', 'bob'], { cwd })).toMatchObject({ code: 0 });
    expect(await hearth(['user', 'disable', 'root'], { cwd })).toMatchObject({ code: 0, stdout: 'disabled root: it can no longer log in\n' });
    expect(await hearth(['user', 'disable', 'Bob'], { cwd })).toMatchObject({ code: 1, stderr: expect.stringMatching(/^hearth user: bob is the last administrator who can sign in/) });
  });

  it('says when del or admin --off leaves no administrator who can sign in, and only then', async () => {
    for (const name of ['root', 'bob', 'carol']) await user(['add', name, '--password-stdin'], { input: 'pw\n' });
    await user(['admin', 'root']);
    await user(['admin', 'bob']);
    expect(await user(['admin', 'bob', '--off'])).toEqual({ code: 0, stdout: 'bob is no longer an administrator\n', stderr: '' });
    await user(['admin', 'bob']);
    await user(['disable', 'bob']);
    // root is the last one who can sign in; bob is an administrator, but disabled.
    expect(await user(['del', 'carol'])).toEqual({ code: 0, stdout: 'deleted user carol\n', stderr: '' });
    expect(await user(['del', 'root'])).toEqual({ code: 0, stdout: `deleted user root\n${SETUP_LINK_NOTE}`, stderr: '' });
    expect(await user(['admin', 'bob', '--off'])).toEqual({ code: 0, stdout: 'bob is no longer an administrator\n', stderr: '' });
  });

  it('lists a UTF-8 reason as it is, and one stored with control or bidirectional characters (before they were refused, or by hand) on one line, in order', async () => {
    await user(['add', 'zoe', '--password-stdin'], { input: 'pw\n' });
    await user(['add', 'bob', '--password-stdin'], { input: 'pw\n' });
    expect(await hearth(['user', 'disable', 'zoe', '--reason', 'congé — Zoë'], { cwd })).toMatchObject({ code: 0, stdout: 'disabled zoe (congé — Zoë): it can no longer log in\n' });
    expect(await user(['disable', 'bob'])).toMatchObject({ code: 0 });
    // A reason written into the database by another program: an escape sequence, a line break, a right-to-left override.
    const edited = await runProgram('python3', ['-c', `import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE accounts SET disabled_reason = ? WHERE name = 'bob'", ("on leave\\x1b[2J\\nbob2  9  9 \\u202eyaM 1",))
db.commit()`, join(cwd, 'data', 'accounts', 'accounts.sqlite')]);
    expect(edited).toMatchObject({ code: 0, stderr: '' });
    const list = await hearth(['user', 'list'], { cwd });
    expect(list.stdout.split('\n').slice(1)).toEqual([
      expect.stringMatching(/^bob .* since [\d-]+ [\d:]+: on leave\?\[2J\?bob2  9  9 \?yaM 1$/),
      expect.stringMatching(/^zoe .* since [\d-]+ [\d:]+: congé — Zoë$/),
      '',
    ]);
    expect(await hearth(['user', 'disable', 'bob'], { cwd })).toMatchObject({ code: 0, stdout: 'bob was already disabled; the reason is "on leave?[2J?bob2  9  9 ?yaM 1"\n' });
  });

  it('deletes a user whose account is gone but whose maildrop remains (a del cut short)', async () => {
    await user(['add', 'bob', '--password-stdin'], { input: 'pw\n' });
    await withAccounts((accounts) => accounts.remove('bob'));
    expect(await user(['del', 'bob'])).toEqual({ code: 0, stdout: 'deleted user bob\n', stderr: '' });
    expect(await withStore((store) => store.hasMaildrop('bob'))).toBe(false);
  });

  it('finds the data dir from --data, then $HEARTH_DATA, then ./data', async () => {
    const env = { HEARTH_DATA: 'from-env' };
    await user(['add', 'alice', '--password-stdin'], { input: 'pw\n', env });
    await user(['add', 'bob', '--password-stdin', '--data', 'from-flag'], { input: 'pw\n', env });
    expect(existsSync(join(cwd, 'from-env', 'mail', 'store.db'))).toBe(true);
    expect(existsSync(join(cwd, 'from-flag', 'mail', 'store.db'))).toBe(true);
    expect((await user(['list'], { env })).stdout).toContain('alice');
    expect((await user(['list', '--data', 'from-flag'], { env })).stdout).toContain('bob');
  });

  it('reports mistakes in one line with a non-zero exit, without creating a store', async () => {
    expect(await user(['passwd', 'carol', '--password-stdin'], { input: 'pw\n' })).toMatchObject({
      code: 1,
      stderr: `hearth user: no such user: carol (no mail store at ${join(cwd, 'data', 'mail')})\n`,
    });
    expect(await user(['list'])).toEqual({ code: 0, stdout: '', stderr: `hearth user: no users yet (no mail store at ${join(cwd, 'data', 'mail')})\n` });
    expect(existsSync(join(cwd, 'data'))).toBe(false);
    expect(await user(['add', 'no body', '--password-stdin'], { input: 'pw\n' })).toMatchObject({ code: 1 });
    expect((await user(['add', 'no body', '--password-stdin'], { input: 'pw\n' })).stderr).toMatch(/^hearth user: invalid user name "no body": /);
    await user(['add', 'alice', '--password-stdin'], { input: 'pw\n' });
    expect(await user(['add', 'alice', '--password-stdin'], { input: 'pw\n' })).toMatchObject({ code: 1, stderr: 'hearth user: user alice already exists\n' });
    expect(await user(['del', 'carol'])).toMatchObject({ code: 1, stderr: 'hearth user: no such user: carol\n' });
    expect(await user([])).toMatchObject({ code: 64 });
    expect(await user(['frob'])).toMatchObject({ code: 64, stderr: 'hearth user: unknown command "frob": one of add, passwd, del, list, apop, groups, admin, disable, enable\n' });
    expect(await user(['list', '--purge'])).toMatchObject({ code: 64, stderr: 'hearth user: --purge only applies to del\n' });
    const help = await user(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: hearth user <command>');
  });
});
