/**
 * `hearth user`: manage the suite's users. An account (password, groups, administrator flag, APOP
 * secret) lives in @hearth/accounts at DATA/accounts; its mail in the maildrop of the same name in
 * the mail store at DATA/mail; its files in its home folder of the file service, DATA/files/home/NAME.
 * This command keeps them together, with the admin page's functions (`@hearth/admin/users`): `add`
 * creates the maildrop, then the account; `del` is refused while the home folder holds anything
 * without --purge, then deletes the maildrop (refused while it holds mail without --purge, or while
 * a POP3 session holds its exclusive lock), the home folder and, last, the account. Either order
 * leaves, after a crash between the steps, a state the same command repairs when run again.
 *
 * Run as root on a data dir another user owns (the services' `user:`), it acts as that user
 * (`data-owner.ts`), so that nothing it makes there is root's.
 *
 * Passwords come from a prompt without echo or from one line of stdin (`--password-stdin`), never
 * from the command line, where every user of the machine could read them in the process list.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createUser, deleteUser, deletedText, HomeNotEmptyError } from '@hearth/admin/users';
import { AccountsError, disableReasonText, generateApopSecret, normalizeUserName, openSuiteAccounts, parseGroupList, validatePassword } from '@hearth/accounts';
import type { Accounts, Disabled } from '@hearth/accounts';
import { MailStoreError, openMailStore } from '@hearth/mail-store';
import type { MailStore } from '@hearth/mail-store';
import { UsageError } from '../command.js';
import { actAsDataDirOwner, DataOwnerError } from '../data-owner.js';
import type { CliCommand, CliIo } from '../command.js';
import { EX_TEMPFAIL, runVerb } from '../verb.js';
import { usageError } from '../options.js';
import { PromptError, readSecret } from './user-secret.js';

const usage = `Usage: hearth user <command> [options]

Commands:
  add NAME              create a user with a password (and an empty maildrop)
  passwd NAME           change a user's password
  del NAME [--purge]    delete a user; refused while its maildrop holds mail or its home
                        folder (DATA/files/home/NAME) holds files, unless --purge, which
                        deletes them with it
  list                  list users with their message count and size, flags and groups
  apop NAME [--generate | --clear]
                        set the user's APOP secret (opt-in), typed or read from stdin;
                        refused when it is the user's password. --generate makes one and
                        prints it once; --clear removes it
  groups NAME [G1,G2]   set the user's groups (comma-separated; --clear removes them all);
                        without a list, print them
  admin NAME [--off]    make the user an administrator (--off: no longer one; once no
                        administrator can sign in, the admin page's setup link opens)
  disable NAME [--reason TEXT]
                        keep the user from logging in anywhere (POP3, SMTP AUTH, files,
                        the admin page) and end its sessions, keeping its password, mail and
                        files; mail to it is still delivered. The reason (one line, up to
                        200 characters) is shown by list, and to a client that gives the right
                        password (POP3, SMTP AUTH, the admin page's sign-in), as Dovecot's
                        nologin reason; without one, a login is told only that it failed.
                        On a disabled user, --reason replaces the reason (--reason '' clears it).
                        The last administrator not disabled cannot be: no one could sign in
                        to the admin page
  enable NAME           let a disabled user log in again, with the same password

Options:
  --data DIR          the data dir (default: $HEARTH_DATA, else ./data); the accounts are
                      DIR/accounts, the mail store DIR/mail, the home folders DIR/files/home
  --password-stdin    read the password (or APOP secret) from the first line of stdin
  --generate          apop: make a random secret (four groups of five letters and digits)
                      and print it, once, instead of reading one
  --reason TEXT       why the user is disabled (disable)
  -h, --help          show this help

Without --password-stdin the password is asked for on the terminal, without echo.
APOP needs a secret the server can read back, so it is stored readable, apart from the
password: choose one you use nowhere else, or let --generate make one.`;

type Sub = 'add' | 'passwd' | 'del' | 'list' | 'apop' | 'groups' | 'admin' | 'disable' | 'enable';
const SUBS: readonly Sub[] = ['add', 'passwd', 'del', 'list', 'apop', 'groups', 'admin', 'disable', 'enable'];

interface Parsed {
  readonly sub: Sub;
  readonly name: string | undefined;
  /** The group list of `groups NAME LIST`. */
  readonly groups: string | undefined;
  readonly dataDir: string;
  readonly passwordStdin: boolean;
  readonly purge: boolean;
  readonly clear: boolean;
  /** `apop NAME --generate`: make the secret instead of reading one. */
  readonly generate: boolean;
  readonly off: boolean;
  /** The reason of `disable NAME --reason TEXT`. */
  readonly reason: string | undefined;
}

export const userCommand: CliCommand = {
  name: 'user',
  summary: 'manage users: add, passwd, del, list, apop, groups, admin, disable, enable',
  usage,
  run: (argv, io) =>
    runVerb<Parsed>(
      {
        name: 'user',
        usage,
        parse: () => parse(argv, io),
        execute: (parsed) => execute(parsed, io),
        explain: (error) => {
          if (error instanceof MailStoreError) return { message: describe(error), code: error.temporary ? EX_TEMPFAIL : 1 };
          if (error instanceof AccountsError && error.code === 'LAST_ADMIN') return { message: `${error.message} (hearth user admin NAME), then disable it`, code: 1 };
          if (error instanceof AccountsError) return { message: error.message, code: error.temporary ? EX_TEMPFAIL : 1 };
          if (error instanceof HomeNotEmptyError) return { message: error.message.replace(/: purge them.*$/, PURGE_HINT), code: 1 };
          if (error instanceof PromptError) return { message: error.message, code: 1 };
          if (error instanceof DataOwnerError) return { message: error.message, code: 1 };
          return undefined;
        },
      },
      io,
    ),
};

function parse(argv: readonly string[], io: CliIo): Parsed | 'help' {
  let values: { data?: string; 'password-stdin'?: boolean; purge?: boolean; clear?: boolean; generate?: boolean; off?: boolean; reason?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        data: { type: 'string' },
        'password-stdin': { type: 'boolean' },
        purge: { type: 'boolean' },
        clear: { type: 'boolean' },
        generate: { type: 'boolean' },
        off: { type: 'boolean' },
        reason: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw usageError(error);
  }
  if (values.help) return 'help';
  const [subName, name, ...extra] = positionals;
  if (subName === undefined) throw new UsageError(`missing command: one of ${SUBS.join(', ')} (see hearth user --help)`);
  const sub = SUBS.find((candidate) => candidate === subName);
  if (!sub) throw new UsageError(`unknown command "${subName}": one of ${SUBS.join(', ')}`);
  const maxExtra = sub === 'groups' && !values.clear ? 1 : 0;
  if (sub === 'list' ? name !== undefined : name === undefined || extra.length > maxExtra) {
    throw new UsageError(sub === 'list' ? 'list takes no arguments' : `usage: hearth user ${sub} NAME${maxExtra > 0 ? ' [G1,G2,...]' : ''}`);
  }
  if (values.purge && sub !== 'del') throw new UsageError('--purge only applies to del');
  if (values.clear && sub !== 'apop' && sub !== 'groups') throw new UsageError('--clear only applies to apop and groups');
  if (values.generate && sub !== 'apop') throw new UsageError('--generate only applies to apop');
  if (values.generate && values.clear) throw new UsageError('--generate and --clear exclude each other');
  if (values.generate && values['password-stdin']) throw new UsageError('--generate makes the secret: it reads none from stdin (no --password-stdin)');
  if (values.off && sub !== 'admin') throw new UsageError('--off only applies to admin');
  if (values.reason !== undefined && sub !== 'disable') throw new UsageError('--reason only applies to disable');
  const takesSecret = sub === 'add' || sub === 'passwd' || (sub === 'apop' && !values.clear && !values.generate);
  if (values['password-stdin'] && !takesSecret) throw new UsageError(`--password-stdin does not apply to ${sub}${values.clear ? ' --clear' : ''}`);
  const data = values.data ?? io.env['HEARTH_DATA'] ?? './data';
  if (data === '') throw new UsageError('--data needs a directory');
  return {
    sub,
    name,
    groups: extra[0],
    dataDir: resolve(io.cwd, data),
    passwordStdin: values['password-stdin'] === true,
    purge: values.purge === true,
    clear: values.clear === true,
    generate: values.generate === true,
    off: values.off === true,
    reason: values.reason,
  };
}

/**
 * The line for a change that left no administrator who can sign in (one could `before`): the
 * admin service opens its one-time setup link again (`@hearth/admin`'s SetupToken).
 */
function setupLinkNote(accounts: Accounts, before: boolean): string {
  if (!before || accounts.hasAdmin()) return '';
  return 'no administrator can sign in now: the admin service opens a one-time setup link to make one, logged (hearth logs admin) once its sign-in page is opened or at its next start\n';
}

interface Data {
  readonly store: MailStore;
  readonly accounts: Accounts;
  readonly dataDir: string;
}

async function execute(args: Parsed, io: CliIo): Promise<number> {
  // Root on the services' data dir: as its owner, before anything is opened or made there.
  actAsDataDirOwner(args.dataDir);
  const mailDir = resolve(args.dataDir, 'mail');
  const name = args.name ?? '';
  const secret = (prompt: string): Promise<string> => readSecret({ passwordStdin: args.passwordStdin, confirm: true }, io, prompt);
  if (args.sub === 'add') {
    const user = normalizeUserName(name);
    const password = await secret(`Password for ${name}: `);
    validatePassword(password);
    return withData(args.dataDir, true, async (data) => {
      io.stdout.write(`added user ${await createUser(data, user, password)}\n`);
      return 0;
    });
  }
  if (args.sub === 'list') {
    return withData(args.dataDir, false, async (data) => {
      io.stdout.write(formatUsers(data));
      return 0;
    }).catch((error: unknown) => {
      if (!(error instanceof MailStoreError && error.code === 'STORE_MISSING')) throw error;
      io.stderr.write(`hearth user: no users yet (no mail store at ${mailDir})\n`);
      return 0;
    });
  }
  return withData(args.dataDir, false, async (data) => {
    const { store, accounts } = data;
    const user = name.toLowerCase();
    const account = accounts.find(name);
    if (account === undefined && !(args.sub === 'del' && store.hasMaildrop(name))) {
      throw new AccountsError('NO_SUCH_USER', `no such user: ${name}`);
    }
    switch (args.sub) {
      case 'passwd': {
        await accounts.setPassword(user, await secret(`New password for ${user}: `));
        io.stdout.write(`changed the password of ${user}\n`);
        return 0;
      }
      case 'del': {
        const before = accounts.hasAdmin();
        io.stdout.write(`deleted ${deletedText(await deleteUser(data, user, args.purge))}\n${setupLinkNote(accounts, before)}`);
        return 0;
      }
      case 'apop': {
        if (args.clear) {
          const had = accounts.clearApopSecret(user);
          io.stdout.write(had ? `removed the APOP secret of ${user}\n` : `${user} had no APOP secret\n`);
          return 0;
        }
        if (args.generate) {
          // Made here, so it cannot be the password: nothing to compare.
          const made = generateApopSecret();
          accounts.setApopSecret(user, made);
          io.stdout.write(`set the APOP secret of ${user}: ${made}\nenter it, hyphens included, as the POP3 password in a mail client set to use APOP; it is not shown again\n`);
          return 0;
        }
        const apop = await secret(`APOP secret for ${user}: `);
        // Root reads the store anyway, so comparing tells it nothing new. `authenticate`, not
        // `verifyPassword`: a disabled account's password is still its own.
        if ((await accounts.authenticate(user, apop)).kind !== 'rejected') {
          throw new UsageError('the APOP secret must differ from the login password (it is stored readable): type another, or let --generate make one');
        }
        accounts.setApopSecret(user, apop);
        io.stdout.write(`set the APOP secret of ${user}\n`);
        return 0;
      }
      case 'groups': {
        if (args.groups === undefined && !args.clear) {
          io.stdout.write(`${(account?.groups ?? []).join(',')}\n`);
          return 0;
        }
        const groups = args.clear ? [] : parseGroupList(args.groups ?? '');
        accounts.setGroups(user, groups);
        const now = accounts.find(user)?.groups ?? [];
        io.stdout.write(now.length > 0 ? `${user} is in ${now.join(', ')}\n` : `${user} is in no group\n`);
        return 0;
      }
      case 'admin': {
        const before = accounts.hasAdmin();
        accounts.setAdmin(user, !args.off);
        io.stdout.write(args.off ? `${user} is no longer an administrator\n${setupLinkNote(accounts, before)}` : `${user} is an administrator\n`);
        return 0;
      }
      case 'disable': {
        const newly = accounts.disable(user, args.reason);
        const stored = accounts.find(user)?.disabled?.reason;
        const reason = stored === undefined ? undefined : disableReasonText(stored, 'utf-8');
        const why = reason === undefined ? '' : ` (${reason})`;
        io.stdout.write(newly ? `disabled ${user}${why}: it can no longer log in\n` : `${user} was already disabled; the reason is ${reason === undefined ? 'none' : `"${reason}"`}\n`);
        return 0;
      }
      case 'enable': {
        io.stdout.write(accounts.enable(user) ? `enabled ${user}: it can log in again\n` : `${user} was not disabled\n`);
        return 0;
      }
      default:
        return 0;
    }
  }).catch((error: unknown) => {
    if (error instanceof MailStoreError && error.code === 'STORE_MISSING') {
      throw new AccountsError('NO_SUCH_USER', `no such user: ${name} (no mail store at ${mailDir})`);
    }
    throw error;
  });
}

/**
 * Opens the mail store, then the accounts (so that on a data dir made before accounts had their
 * own file, they move out of the store at once), runs `run`, closes both.
 */
async function withData(dataDir: string, create: boolean, run: (data: Data) => Promise<number>): Promise<number> {
  const store = await openMailStore({ dir: resolve(dataDir, 'mail'), create });
  try {
    const accounts = await openSuiteAccounts(dataDir, { create });
    try {
      return await run({ store, accounts, dataDir });
    } finally {
      await accounts.close();
    }
  } finally {
    await store.close();
  }
}

/** What a refusal for files says to do, in place of the library's words ("purge them ..."). */
const PURGE_HINT = ': use --purge to delete the user with its mail and files';

function describe(error: MailStoreError): string {
  // The home folder was found empty before the maildrop was asked: --purge deletes only mail.
  if (error.code === 'MAILDROP_NOT_EMPTY') return error.message.replace(/: purge them.*$/, ': use --purge to delete the user with its mail');
  return error.message;
}

const utc = (date: Date): string => date.toISOString().slice(0, 19).replace('T', ' ');

/** `-` for an account that may log in; else since when (UTC) and why, when a reason was given. */
function disabledText(disabled: Disabled | undefined): string {
  if (disabled === undefined) return '-';
  return `since ${utc(disabled.since)}${disabled.reason === undefined ? '' : `: ${disableReasonText(disabled.reason, 'utf-8')}`}`;
}

/** One row per account, with its maildrop's count and size (0 when it has none). */
function formatUsers({ store, accounts }: Data): string {
  const mail = new Map(store.listMaildrops().map((maildrop) => [maildrop.name, maildrop]));
  const rows = accounts.list().map((account) => [
    account.name,
    String(mail.get(account.name)?.messages ?? 0),
    String(mail.get(account.name)?.size ?? 0),
    account.apop ? 'yes' : 'no',
    account.admin ? 'yes' : 'no',
    utc(account.createdAt),
    account.groups.join(',') || '-',
    disabledText(account.disabled),
  ]);
  const table = [['NAME', 'MESSAGES', 'BYTES', 'APOP', 'ADMIN', 'CREATED (UTC)', 'GROUPS', 'DISABLED'], ...rows];
  const widths = table[0]?.map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length))) ?? [];
  return table.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n') + '\n';
}
