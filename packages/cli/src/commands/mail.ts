/**
 * `hearth mail`: read and send mail over the suite's POP3 service, with Hearth's push
 * (X-HEARTH-PUSH) and send (X-HEARTH-SEND) extensions. The client lives in `src/mail/`.
 */
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { UsageError } from '../command.js';
import type { CliCommand, CliIo } from '../command.js';
import { EX_TEMPFAIL, runVerb } from '../verb.js';
import type { Pop3Address, Target } from '../mail/connect.js';
import { openSession } from '../mail/connect.js';
import { password } from '../mail/password.js';
import { recipientOf } from '../mail/recipient.js';
import { MailClientError, type Pop3Client } from '../mail/pop3-client.js';
import { DEFAULT_HOST, DEFAULT_PORT, suitePop3Address } from '../mail/suite-address.js';
import { summaryLine } from '../mail/summary.js';
import { watch } from '../mail/watch.js';
import { dataDirOf, usageError } from '../options.js';


const usage = `Usage: hearth mail <command> [options]

Commands:
  check               count and size of the messages in the maildrop
  list                one line per message: number, size, From, Subject
  read N              print message N
  send --to USER      send the message on stdin to local users (repeat --to for more; each
                      --to is one address, its local part quoted when it needs it)
  watch               print a line per new message as it arrives, until interrupted

Options:
  --user NAME         the mail user (default: $HEARTH_USER, else $USER)
  --host HOST         the POP3 server (default: the running suite's POP3 listener, else
                      127.0.0.1)
  --port PORT         its port (default: the running suite's POP3 listener, else 2110)
  --data DIR          the suite's data dir: the suite running there is asked where its POP3
                      service listens, and its generated certificate DIR/tls/self-signed/cert.pem
                      is trusted for TLS (default: $HEARTH_DATA, else ./data)
  --cafile FILE       trust this CA certificate (PEM) for TLS instead
  --insecure          do not verify the server's certificate (or allow a clear-text password
                      to a non-loopback server without STLS)
  --subject TEXT      send: add Subject, To and Date headers; stdin is then the body only
  --count N           watch: stop after N new messages
  -h, --help          show this help

Without --host and --port, hearth mail connects to the POP3 service of the suite running on
the data dir: its plain listener, else its implicit-TLS one (POP3S); with no suite running
there, or none with a pop3 service, to 127.0.0.1:2110. STLS is used whenever the server offers
it. The password comes from $HEARTH_PASSWORD, else from a prompt on the terminal without echo;
never from the command line.`;

type Sub = 'check' | 'list' | 'read' | 'send' | 'watch';
const SUBS: readonly Sub[] = ['check', 'list', 'read', 'send', 'watch'];

interface Parsed {
  readonly sub: Sub;
  /** --host/--port, or `suite`: ask the suite running on the data dir. */
  readonly address: Pop3Address | 'suite';
  readonly login: Omit<Target, 'password' | keyof Pop3Address>;
  readonly number: number | undefined;
  readonly to: readonly string[];
  readonly subject: string | undefined;
  readonly count: number | undefined;
}

/** The command's io may carry an AbortSignal (tests, embedding); otherwise SIGINT stops `watch`. */
type MailIo = CliIo & { readonly signal?: AbortSignal };

export const mailCommand: CliCommand = {
  name: 'mail',
  summary: 'read and send mail over POP3: check, list, read, send, watch',
  usage,
  run: (argv, io: MailIo) =>
    runVerb<Parsed>(
      {
        name: 'mail',
        usage,
        parse: () => parse(argv, io),
        execute: (parsed) => execute(parsed, io),
        explain: (error) =>
          error instanceof MailClientError ? { message: error.message, code: error.transient ? EX_TEMPFAIL : 1 } : undefined,
      },
      io,
    ),
};

function parse(argv: readonly string[], io: CliIo): Parsed | 'help' {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      options: {
        user: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        data: { type: 'string' },
        cafile: { type: 'string' },
        insecure: { type: 'boolean' },
        to: { type: 'string', multiple: true },
        subject: { type: 'string' },
        count: { type: 'string' },
        password: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    }));
  } catch (error) {
    throw usageError(error);
  }
  if (values.help === true) return 'help';
  if (values.password !== undefined) {
    throw new UsageError('--password is not accepted: the command line is visible to every user; use $HEARTH_PASSWORD or the prompt');
  }
  const [sub, ...rest] = positionals;
  if (sub === undefined) throw new UsageError(`expected a command: ${SUBS.join(', ')}`);
  if (!SUBS.includes(sub as Sub)) throw new UsageError(`unknown command ${JSON.stringify(sub)}: expected ${SUBS.join(', ')}`);
  const command = sub as Sub;
  let number: number | undefined;
  if (command === 'read') {
    if (rest.length !== 1 || !/^[1-9]\d{0,9}$/.test(rest[0]!)) throw new UsageError('read: expected one message number N');
    number = Number(rest[0]);
  } else if (rest.length > 0) {
    throw new UsageError(`${command}: unexpected argument ${JSON.stringify(rest[0])}`);
  }
  const to = (values.to ?? []).map((arg) => {
    const recipient = recipientOf(arg);
    if (recipient.kind === 'invalid') throw new UsageError(`--to ${recipient.problem}`);
    return recipient.address;
  });
  if (command === 'send' && to.length === 0) throw new UsageError('send: expected --to USER');
  if (command !== 'send' && (to.length > 0 || values.subject !== undefined)) throw new UsageError('--to and --subject go with send');
  let count: number | undefined;
  if (values.count !== undefined) {
    if (command !== 'watch') throw new UsageError('--count goes with watch');
    if (!/^[1-9]\d{0,8}$/.test(values.count)) throw new UsageError(`--count: not a positive number: ${values.count}`);
    count = Number(values.count);
  }
  const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`--port: not a port number: ${values.port}`);
  const given = values.host !== undefined || values.port !== undefined;
  const user = values.user ?? io.env['HEARTH_USER'] ?? io.env['USER'];
  if (user === undefined || user === '') throw new UsageError('expected --user NAME');
  if (/[\s\x00-\x1f]/.test(user)) throw new UsageError('--user: no spaces or control characters');
  return {
    sub: command,
    address: given ? { host: values.host ?? DEFAULT_HOST, port, tls: 'stls', defaultBecause: undefined } : 'suite',
    login: {
      user,
      dataDir: dataDirOf(values.data, io),
      cafile: values.cafile,
      insecure: values.insecure === true,
    },
    number,
    to,
    subject: values.subject,
    count,
  };
}

async function execute(parsed: Parsed, io: MailIo): Promise<number> {
  const address = parsed.address === 'suite' ? await suitePop3Address(parsed.login.dataDir) : parsed.address;
  const target: Target = { ...address, ...parsed.login, password: await password(io, parsed.login.user, parsed.sub === 'send') };
  if (parsed.sub === 'watch') {
    const controller = new AbortController();
    const onSigint = (): void => controller.abort();
    const signal = io.signal ?? controller.signal;
    if (io.signal === undefined) process.once('SIGINT', onSigint);
    try {
      return await watch(target, io, { signal, ...(parsed.count === undefined ? {} : { count: parsed.count }) });
    } finally {
      process.off('SIGINT', onSigint);
    }
  }
  // Read the message before connecting: a slow pipe must not hold a session (and its lock) open.
  const message = parsed.sub === 'send' ? await readMessage(io.stdin, parsed) : undefined;
  const client = await openSession(target, io);
  try {
    switch (parsed.sub) {
      case 'check': {
        const [count = '0', octets = '0'] = (await client.command('STAT')).split(' ');
        io.stdout.write(`${count} message${count === '1' ? '' : 's'} (${octets} octets)\n`);
        break;
      }
      case 'list':
        await list(client, io);
        break;
      case 'read': {
        const body = await client.message(`RETR ${parsed.number}`);
        io.stdout.write(body.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
        break;
      }
      case 'send': {
        if (!client.has('X-HEARTH-SEND')) {
          throw new MailClientError(`${target.host}:${target.port} does not offer X-HEARTH-SEND: send needs a Hearth POP3 server`);
        }
        const max = Number(client.capability('X-HEARTH-SEND'));
        if (Number.isFinite(max) && max > 0 && message!.length > max) {
          throw new MailClientError(`the message is ${message!.length} octets; the server accepts at most ${max}`);
        }
        const reply = await client.xsend(parsed.to, message!);
        io.stderr.write(`hearth mail: ${reply}\n`);
        break;
      }
    }
    await client.quit();
    return 0;
  } finally {
    client.close();
  }
}

async function list(client: Pop3Client, io: CliIo): Promise<void> {
  const scan = await client.lines('LIST');
  for (const line of scan) {
    const [n = '', size = '0'] = line.split(' ');
    const header = await client.lines(`TOP ${n} 0`);
    io.stdout.write(`${summaryLine(Number(n), Number(size), header)}\n`);
  }
  if (scan.length === 0) io.stderr.write('hearth mail: no messages\n');
}

const READ_CAP = 64 * 1024 * 1024;

async function readMessage(stdin: Readable, parsed: Parsed): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin as AsyncIterable<Buffer | string>) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += bytes.length;
    if (size > READ_CAP) throw new MailClientError(`the message on stdin is larger than ${READ_CAP} octets`);
    chunks.push(bytes);
  }
  const body = Buffer.concat(chunks);
  if (parsed.subject === undefined) {
    if (body.length === 0) throw new MailClientError('no message on stdin');
    return body;
  }
  const header =
    `Subject: ${parsed.subject.replace(/[\r\n]+/g, ' ')}\r\n` +
    `To: ${parsed.to.join(', ')}\r\n` +
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}\r\n\r\n`;
  return Buffer.concat([Buffer.from(header), body]);
}
