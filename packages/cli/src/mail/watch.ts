/**
 * `hearth mail watch`: wait with XIDLE and print a line per new message until interrupted (or
 * `count` messages). Renews the wait every 5 minutes (autologout is at least 10, RFC 1939). When
 * the connection is lost it reconnects with backoff (0.5 s doubling to 30 s) and reports what
 * arrived meanwhile by UIDL. A wait the server ends with `-ERR [AUTH]` (RFC 3206: permanent; the
 * password was changed, or the account disabled or removed, since this login) ends the watch, as
 * a failed login ends `hearth mail`: logging in again with the same password cannot succeed, and
 * each attempt would count as a failed login.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CliIo } from '../command.js';
import { openSession, type Target } from './connect.js';
import { MailClientError, type Pop3Client } from './pop3-client.js';
import { summaryLine } from './summary.js';

const RENEW_MS = 5 * 60_000;
const PUSH = /^\* NEW (\d+) (\S+) (\d+)$/;

export interface WatchOptions {
  readonly count?: number;
  readonly signal: AbortSignal;
  /** First reconnect delay (tests shorten it). */
  readonly backoffMs?: number;
  readonly renewMs?: number;
}

export async function watch(target: Target, io: CliIo, options: WatchOptions): Promise<number> {
  const known = new Set<string>();
  const firstDelay = options.backoffMs ?? 500;
  let delay = firstDelay;
  let first = true;
  let attempts = 0;
  let printed = 0;
  const done = (): boolean => options.signal.aborted || (options.count !== undefined && printed >= options.count);

  while (!done()) {
    let client: Pop3Client | undefined;
    const onAbort = (): void => client?.close();
    options.signal.addEventListener('abort', onAbort, { once: true });
    try {
      // Why a default address is tried is said once, when the first attempt fails.
      client = await openSession(target, io, attempts++ === 0);
      if (!client.has('X-HEARTH-PUSH')) {
        throw new MailClientError(`${target.host}:${target.port} does not offer X-HEARTH-PUSH: watch needs a Hearth POP3 server`);
      }
      // What is there now; after a reconnect, what arrived while we were away.
      const listing = await client.lines('UIDL');
      const fresh: number[] = [];
      for (const line of listing) {
        const [n = '', uidl = ''] = line.split(' ');
        if (!known.has(uidl) && !first) fresh.push(Number(n));
        known.add(uidl);
      }
      if (first) io.stderr.write(`hearth mail: watching ${target.user} at ${target.host}:${target.port} (${listing.length} message${listing.length === 1 ? '' : 's'})\n`);
      else io.stderr.write(`hearth mail: reconnected\n`);
      first = false;
      delay = firstDelay;
      printed += await announce(client, fresh, io, options.count === undefined ? undefined : options.count - printed);
      while (!done()) {
        const pushed = await waitOnce(client, target.user, options.renewMs ?? RENEW_MS);
        const numbers = pushed.filter((p) => !known.has(p.uidl)).map((p) => p.number);
        for (const p of pushed) known.add(p.uidl);
        printed += await announce(client, numbers, io, options.count === undefined ? undefined : options.count - printed);
      }
      await client.quit();
    } catch (error) {
      if (done()) break;
      if (!(error instanceof MailClientError) || !error.transient) throw error;
      io.stderr.write(`hearth mail: ${error.message}; reconnecting in ${formatDelay(delay)}\n`);
      await sleep(delay, undefined, { signal: options.signal }).catch(() => {});
      delay = Math.min(delay * 2, 30_000);
    } finally {
      options.signal.removeEventListener('abort', onAbort);
      client?.close();
    }
  }
  return 0;
}

interface Pushed {
  readonly number: number;
  readonly uidl: string;
}

/**
 * One XIDLE: wait for the first push (or the renewal time), then DONE; returns every message
 * pushed before the server's closing +OK. A server -ERR ending the wait is a lost connection,
 * except `[AUTH]`: the login of `user` no longer holds (a MailClientError that is not transient).
 */
async function waitOnce(client: Pop3Client, user: string, renewMs: number): Promise<Pushed[]> {
  await client.command('XIDLE');
  const pushed: Pushed[] = [];
  let doneSent = false;
  const sendDone = (): void => {
    if (doneSent) return;
    doneSent = true;
    client.send('DONE');
  };
  const timer = setTimeout(sendDone, renewMs);
  try {
    for (;;) {
      const line = await client.readLine();
      const push = PUSH.exec(line);
      if (push !== null) {
        pushed.push({ number: Number(push[1]), uidl: push[2]! });
        sendDone();
        continue;
      }
      if (line.startsWith('+OK')) return pushed;
      const reason = line.replace(/^-ERR ?/, '');
      if (reason.startsWith('[AUTH]')) throw new MailClientError(`login as ${user} ended: ${reason.replace(/^\[AUTH\] ?/, '')}`);
      throw new MailClientError(`the server ended the wait: ${reason}`, true);
    }
  } finally {
    clearTimeout(timer);
  }
}

async function announce(client: Pop3Client, numbers: readonly number[], io: CliIo, left: number | undefined): Promise<number> {
  let count = 0;
  for (const n of numbers) {
    if (left !== undefined && count >= left) break;
    const [status = '', ...header] = await headerOf(client, n);
    io.stdout.write(`${summaryLine(n, Number(status), header)}\n`);
    count++;
  }
  return count;
}

/** The size (from LIST n) and the header lines (TOP n 0) of message n. */
async function headerOf(client: Pop3Client, n: number): Promise<string[]> {
  const scan = await client.command(`LIST ${n}`);
  const size = scan.split(' ')[1] ?? '0';
  return [size, ...(await client.lines(`TOP ${n} 0`))];
}

function formatDelay(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${ms / 1000} s`;
}
