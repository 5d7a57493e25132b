/**
 * A churn of full mail sessions over loopback, for restart tests and benchmarks: POP3 loops
 * (connect, USER/PASS, STAT, RETR 1, QUIT) and SMTP loops (EHLO, MAIL, RCPT, DATA, QUIT), again
 * and again until stopped. Every session is classified: `ok` when every reply was the expected
 * one, or a failure naming the step and the reply (an `-ERR`, a `421`, a refused or cut
 * connection). Each message the server accepted (`250` after the data) is kept by its Subject,
 * so a test can check the store holds each exactly once.
 */
import { performance } from 'node:perf_hooks';
import { LineClient, LineFailure } from './line-client.js';

export interface Pop3Account {
  readonly user: string;
  readonly password: string;
}

export interface MailChurnOptions {
  readonly host?: string;
  /** POP3 port and one account per POP3 loop (each loop logs in as its own account). */
  readonly pop3?: { readonly port: number; readonly accounts: readonly Pop3Account[] };
  /** SMTP port, the recipient of every message, and the number of loops. */
  readonly smtp?: { readonly port: number; readonly recipient: string; readonly loops: number };
  /** A session with no reply for this long counts as failed (default 10 s). */
  readonly timeoutMs?: number;
  /** Prefix of each message's Subject (default `churn`). */
  readonly tag?: string;
}

export interface SessionSample {
  readonly protocol: 'pop3' | 'smtp';
  /** `performance.now()` when the session began, and its length in ms. */
  readonly at: number;
  readonly ms: number;
  /** Undefined for a session that went as expected; else what went wrong, in one line. */
  readonly failure?: string;
}

export interface MailChurnResult {
  readonly sessions: number;
  readonly ok: number;
  readonly failed: number;
  /** The first failures, described. */
  readonly failures: readonly string[];
  /** Subjects of the messages the server answered 250 to. */
  readonly accepted: readonly string[];
  readonly samples: readonly SessionSample[];
  readonly elapsedMs: number;
}

export interface RunningMailChurn {
  /** Sessions finished so far. */
  readonly sessions: number;
  /** Ends every loop after its current session; resolves with the result. */
  stop(): Promise<MailChurnResult>;
}

async function expectLine(c: LineClient, step: string, deadline: number, ok: RegExp): Promise<string> {
  const line = await c.line(step, deadline);
  if (!ok.test(line)) throw new LineFailure(`${step}: ${line}`);
  return line;
}

async function pop3Session(c: LineClient, account: Pop3Account, deadline: number): Promise<void> {
  await expectLine(c, 'greeting', deadline, /^\+OK/);
  c.send(`USER ${account.user}\r\n`);
  await expectLine(c, 'USER', deadline, /^\+OK/);
  c.send(`PASS ${account.password}\r\n`);
  await expectLine(c, 'PASS', deadline, /^\+OK/);
  c.send('STAT\r\n');
  const stat = await expectLine(c, 'STAT', deadline, /^\+OK \d+ \d+/);
  if (!stat.startsWith('+OK 0 ')) {
    c.send('RETR 1\r\n');
    await expectLine(c, 'RETR', deadline, /^\+OK/);
    while ((await c.line('RETR body', deadline)) !== '.');
  }
  c.send('QUIT\r\n');
  await expectLine(c, 'QUIT', deadline, /^\+OK/);
  await c.closed('after QUIT', deadline);
}

/** One SMTP reply, multi-line ones read to their last line; returns the last line. */
async function smtpReply(c: LineClient, step: string, deadline: number, ok: RegExp): Promise<string> {
  for (;;) {
    const line = await c.line(step, deadline);
    if (/^\d{3}-/.test(line)) continue;
    if (!ok.test(line)) throw new LineFailure(`${step}: ${line}`);
    return line;
  }
}

async function smtpSession(c: LineClient, recipient: string, subject: string, deadline: number, accepted: string[]): Promise<void> {
  await smtpReply(c, 'greeting', deadline, /^220 /);
  c.send('EHLO churn.example\r\n');
  await smtpReply(c, 'EHLO', deadline, /^250 /);
  c.send('MAIL FROM:<churn@example.org>\r\n');
  await smtpReply(c, 'MAIL', deadline, /^250 /);
  c.send(`RCPT TO:<${recipient}>\r\n`);
  await smtpReply(c, 'RCPT', deadline, /^250 /);
  c.send('DATA\r\n');
  await smtpReply(c, 'DATA', deadline, /^354 /);
  c.send(`From: churn@example.org\r\nTo: ${recipient}\r\nSubject: ${subject}\r\n\r\nOne message of the churn.\r\n.\r\n`);
  await smtpReply(c, 'end of data', deadline, /^250 /);
  accepted.push(subject);
  c.send('QUIT\r\n');
  await smtpReply(c, 'QUIT', deadline, /^221 /);
  await c.closed('after QUIT', deadline);
}

/** Starts the loops at once; they run until `stop()`. */
export function startMailChurn(options: MailChurnOptions): RunningMailChurn {
  const host = options.host ?? '127.0.0.1';
  const timeoutMs = options.timeoutMs ?? 10_000;
  const tag = options.tag ?? 'churn';
  const samples: SessionSample[] = [];
  const accepted: string[] = [];
  const t0 = performance.now();
  let stopping = false;

  async function session(protocol: 'pop3' | 'smtp', port: number, talk: (c: LineClient, deadline: number) => Promise<void>): Promise<void> {
    const at = performance.now();
    let c: LineClient | undefined;
    try {
      c = await LineClient.connect(port, host);
      await talk(c, at + timeoutMs);
      samples.push({ protocol, at, ms: performance.now() - at });
    } catch (err) {
      const failure = err instanceof LineFailure ? err.message : `unexpected: ${String(err)}`;
      samples.push({ protocol, at, ms: performance.now() - at, failure: `${protocol} ${failure}` });
    } finally {
      c?.destroy();
    }
  }

  const loops: Promise<void>[] = [];
  for (const account of options.pop3?.accounts ?? []) {
    const port = options.pop3!.port;
    loops.push(
      (async () => {
        while (!stopping) await session('pop3', port, (c, deadline) => pop3Session(c, account, deadline));
      })(),
    );
  }
  for (let loop = 0; loop < (options.smtp?.loops ?? 0); loop++) {
    const { port, recipient } = options.smtp!;
    loops.push(
      (async () => {
        for (let n = 0; !stopping; n++) {
          const subject = `${tag}-${loop}-${n}`;
          await session('smtp', port, (c, deadline) => smtpSession(c, recipient, subject, deadline, accepted));
        }
      })(),
    );
  }

  return {
    get sessions() {
      return samples.length;
    },
    async stop() {
      stopping = true;
      await Promise.all(loops);
      const failures = samples.flatMap((s) => (s.failure === undefined ? [] : [s.failure]));
      return {
        sessions: samples.length,
        ok: samples.length - failures.length,
        failed: failures.length,
        failures: failures.slice(0, 20),
        accepted,
        samples,
        elapsedMs: performance.now() - t0,
      };
    },
  };
}
