/**
 * `hearth user`: manage mail users in the store at DATA/mail. Passwords come from a prompt without
 * echo or from one line of stdin (`--password-stdin`), never from the command line, where every
 * user of the machine could read them in the process list.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MailStoreError, openMailStore } from '@hearth/mail-store';
import type { MailStore } from '@hearth/mail-store';
import { UsageError } from '../command.js';
import type { CliCommand, CliIo } from '../command.js';
import { EX_TEMPFAIL, runVerb } from '../verb.js';


const usage = `Usage: hearth user <command> [options]

Commands:
  add NAME            create a user with a password (and an empty maildrop)
  passwd NAME         change a user's password
  del NAME [--purge]  delete a user; --purge also deletes the mail in the maildrop
  list                list users with their message count and size
  apop NAME [--clear] set the user's APOP secret (opt-in; --clear removes it)

Options:
  --data DIR          the data dir (default: $HEARTH_DATA, else ./data); the store is DIR/mail
  --password-stdin    read the password (or APOP secret) from the first line of stdin
  -h, --help          show this help

Without --password-stdin the password is asked for on the terminal, without echo.
APOP needs a secret the server can read back, so it is stored readable, apart from the
password: choose one you use nowhere else.`;

type Sub = 'add' | 'passwd' | 'del' | 'list' | 'apop';
const SUBS: readonly Sub[] = ['add', 'passwd', 'del', 'list', 'apop'];

interface Parsed {
  readonly sub: Sub;
  readonly name: string | undefined;
  readonly dataDir: string;
  readonly passwordStdin: boolean;
  readonly purge: boolean;
  readonly clear: boolean;
}

export const userCommand: CliCommand = {
  name: 'user',
  summary: 'manage mail users: add, passwd, del, list, apop',
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
          if (error instanceof PromptError) return { message: error.message, code: 1 };
          return undefined;
        },
      },
      io,
    ),
};

function parse(argv: readonly string[], io: CliIo): Parsed | 'help' {
  let values: { data?: string; 'password-stdin'?: boolean; purge?: boolean; clear?: boolean; help?: boolean };
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
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  const [subName, name, ...extra] = positionals;
  if (subName === undefined) throw new UsageError(`missing command: one of ${SUBS.join(', ')} (see hearth user --help)`);
  const sub = SUBS.find((candidate) => candidate === subName);
  if (!sub) throw new UsageError(`unknown command "${subName}": one of ${SUBS.join(', ')}`);
  if (sub === 'list' ? name !== undefined : name === undefined || extra.length > 0) {
    throw new UsageError(sub === 'list' ? 'list takes no arguments' : `usage: hearth user ${sub} NAME`);
  }
  if (values.purge && sub !== 'del') throw new UsageError('--purge only applies to del');
  if (values.clear && sub !== 'apop') throw new UsageError('--clear only applies to apop');
  const takesSecret = sub === 'add' || sub === 'passwd' || (sub === 'apop' && !values.clear);
  if (values['password-stdin'] && !takesSecret) throw new UsageError(`--password-stdin does not apply to ${sub}${values.clear ? ' --clear' : ''}`);
  const data = values.data ?? io.env['HEARTH_DATA'] ?? './data';
  if (data === '') throw new UsageError('--data needs a directory');
  return {
    sub,
    name,
    dataDir: resolve(io.cwd, data),
    passwordStdin: values['password-stdin'] === true,
    purge: values.purge === true,
    clear: values.clear === true,
  };
}

async function execute(args: Parsed, io: CliIo): Promise<number> {
  const dir = resolve(args.dataDir, 'mail');
  const name = args.name ?? '';
  if (args.sub === 'add') {
    const password = await readSecret(args, io, `Password for ${name}: `);
    return withStore(dir, true, async (store) => {
      await store.addUser(name, password);
      io.stdout.write(`added user ${name.toLowerCase()}\n`);
      return 0;
    });
  }
  if (args.sub === 'list') {
    return withStore(dir, false, async (store) => {
      io.stdout.write(formatUsers(store));
      return 0;
    }).catch((error: unknown) => {
      if (!(error instanceof MailStoreError && error.code === 'STORE_MISSING')) throw error;
      io.stderr.write(`hearth user: no users yet (no mail store at ${dir})\n`);
      return 0;
    });
  }
  return withStore(dir, false, async (store) => {
    const user = name.toLowerCase();
    if (!store.hasUser(name)) throw new MailStoreError('NO_SUCH_USER', `no such user: ${name}`);
    switch (args.sub) {
      case 'passwd': {
        await store.setPassword(name, await readSecret(args, io, `New password for ${user}: `));
        io.stdout.write(`changed the password of ${user}\n`);
        return 0;
      }
      case 'del': {
        const { purged } = await store.deleteUser(name, { purge: args.purge });
        io.stdout.write(`deleted user ${user}${purged > 0 ? ` and ${purged} message${purged === 1 ? '' : 's'}` : ''}\n`);
        return 0;
      }
      case 'apop': {
        if (args.clear) {
          const had = store.clearApopSecret(name);
          io.stdout.write(had ? `removed the APOP secret of ${user}\n` : `${user} had no APOP secret\n`);
          return 0;
        }
        const secret = await readSecret(args, io, `APOP secret for ${user}: `);
        if (await store.verifyPassword(name, secret)) {
          throw new UsageError('the APOP secret must differ from the login password (it is stored readable)');
        }
        store.setApopSecret(name, secret);
        io.stdout.write(`set the APOP secret of ${user}\n`);
        return 0;
      }
      default:
        return 0;
    }
  }).catch((error: unknown) => {
    if (error instanceof MailStoreError && error.code === 'STORE_MISSING') {
      throw new MailStoreError('NO_SUCH_USER', `no such user: ${name} (no mail store at ${dir})`);
    }
    throw error;
  });
}

async function withStore(dir: string, create: boolean, run: (store: MailStore) => Promise<number>): Promise<number> {
  const store = await openMailStore({ dir, create });
  try {
    return await run(store);
  } finally {
    await store.close();
  }
}

function describe(error: MailStoreError): string {
  if (error.code === 'MAILDROP_NOT_EMPTY') return error.message.replace(/: purge them.*$/, ': use --purge to delete the user with its mail');
  return error.message;
}

function formatUsers(store: MailStore): string {
  const rows = store.listUsers().map((user) => [
    user.name,
    String(user.messages),
    String(user.size),
    user.apop ? 'yes' : 'no',
    user.createdAt.toISOString().slice(0, 19).replace('T', ' '),
  ]);
  const table = [['NAME', 'MESSAGES', 'BYTES', 'APOP', 'CREATED (UTC)'], ...rows];
  const widths = table[0]?.map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length))) ?? [];
  return table.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n') + '\n';
}

// ---- reading secrets ---------------------------------------------------------------------------

class PromptError extends Error {
  override readonly name = 'PromptError';
}

async function readSecret(args: Parsed, io: CliIo, prompt: string): Promise<string> {
  if (args.passwordStdin) {
    const line = await readLine(io.stdin, false);
    if (line === undefined || line === '') throw new PromptError('no password on stdin (--password-stdin reads one line)');
    return line;
  }
  if (!io.stdin.isTTY) {
    throw new PromptError('stdin is not a terminal: pass the password on stdin with --password-stdin');
  }
  const first = await promptHidden(io, prompt);
  if (args.sub === 'apop' || args.sub === 'add' || args.sub === 'passwd') {
    const again = await promptHidden(io, 'Retype it: ');
    if (again !== first) throw new PromptError('the two entries differ; nothing was changed');
  }
  if (first === '') throw new PromptError('empty password; nothing was changed');
  return first;
}

async function promptHidden(io: CliIo, prompt: string): Promise<string> {
  const stdin = io.stdin as CliIo['stdin'] & { setRawMode?: (raw: boolean) => unknown };
  // Echo off before the prompt appears, so nothing typed in answer to it is ever echoed.
  stdin.setRawMode?.(true);
  io.stderr.write(prompt);
  try {
    const line = await readLine(stdin, true);
    if (line === undefined) throw new PromptError('cancelled');
    return line;
  } finally {
    stdin.setRawMode?.(false);
    io.stderr.write('\n');
  }
}

/**
 * Reads one line from `input` and stops reading (pauses, removes its listeners) so the process can
 * exit. In raw terminal mode it also handles backspace, Ctrl-C and Ctrl-D; nothing is echoed.
 * Resolves undefined on cancel, or on end of input before any character.
 */
function readLine(input: CliIo['stdin'], raw: boolean): Promise<string | undefined> {
  return new Promise((resolvePromise, reject) => {
    let text = '';
    const stop = (): void => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onError);
      input.pause();
    };
    const finish = (value: string | undefined): void => {
      stop();
      resolvePromise(value);
    };
    const fail = (error: PromptError): void => {
      stop();
      reject(error);
    };
    const onData = (chunk: Buffer | string): void => {
      const data = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      for (let i = 0; i < data.length; i++) {
        const char = data[i];
        const done = char === '\n' || (raw && (char === '\r' || char === '\u0003' || char === '\u0004'));
        if (done) {
          // Keep what follows (typed or pasted ahead) for the next read.
          // Paused first: unshift on a flowing stream would emit the data again at once.
          const rest = data.slice(i + 1).replace(raw && char === '\r' ? /^\n/ : /^$/, '');
          stop();
          if (rest !== '') input.unshift(Buffer.from(rest, 'utf8'));
          return resolvePromise(char === '\u0003' || (char === '\u0004' && text === '') ? undefined : text.replace(/\r$/, ''));
        }
        if (raw && (char === '\u007f' || char === '\b')) {
          text = Array.from(text).slice(0, -1).join('');
          continue;
        }
        text += char;
        if (text.length > 4096) return fail(new PromptError('the password line is too long'));
      }
    };
    const onEnd = (): void => finish(text === '' ? undefined : text.replace(/\r$/, ''));
    const onError = (error: Error): void => fail(new PromptError(`cannot read stdin: ${error.message}`));
    if (input.readableEnded) return resolvePromise(undefined);
    input.on('data', onData);
    input.on('end', onEnd);
    input.on('error', onError);
    input.resume();
  });
}
