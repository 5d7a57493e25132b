/**
 * Brute force over SMTP AUTH (submission, after STARTTLS, with smtplib) against the real
 * accounts and their persistent login policy: 200 wrong passwords get at most the per-pair limit
 * of real password checks, the owner logs in from a clean address, the counts survive a restart.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@hearth/log';
import type { ServiceListener } from '@hearth/runtime';
import { loginLimits, settingsSchema, startSmtp, type RunningSmtp } from '@hearth/smtp';
import { DOMAINS, loopbackListener, makeCerts, python, TestStore, type Certs } from './harness.js';

const settings = settingsSchema.parse({
  hostname: 'mx.example.test',
  loginFailureDelay: '100ms',
  maxLoginFailuresPerIp: 20,
  maxLoginFailuresPerUser: 10,
});

let dir: string;
let certs: Certs;
let store: TestStore;
let running: RunningSmtp;

async function startService(users: Record<string, string> = {}): Promise<void> {
  store = await TestStore.open(join(dir, 'mail'), users);
  const listeners = new Map<string, ServiceListener>([['submission', loopbackListener('submission')]]);
  running = await startSmtp(
    {
      settings,
      suite: { dataDir: dir, mail: { domains: DOMAINS }, tls: { cert: certs.cert, key: certs.key } },
      log: createLogger({ svc: 'smtp', level: process.env['HEARTH_TEST_LOG'] ?? 'silent' }),
      listeners,
      bus: { send: () => true, publish: () => true, on: () => undefined, writable: true, drained: () => Promise.resolve() },
    },
    {
      sink: store,
      users: store,
      tls: async (s) => ({ cert: await readFile(s.tls.cert ?? ''), key: await readFile(s.tls.key ?? '') }),
      loginPolicy: store.accounts.loginPolicy(loginLimits(settings)),
    },
  );
}

async function stopService(): Promise<void> {
  await running.stop(Date.now() + 1000);
  await store.store.close();
  await store.accounts.close(); // flushes the policy's counts
}

const port = (): number => (running.servers.get('submission')!.server.address() as AddressInfo).port;

/**
 * `threads` smtplib clients from `source`, each over STARTTLS sending `each` AUTH PLAIN commands
 * with `password` (or wrong ones when null); the reply codes, and the seconds each AUTH took.
 */
function authRun(source: string, user: string, password: string | null, threads: number, each: number): Promise<unknown> {
  return python(
    `import base64, threading, time
codes = []; times = []; lock = threading.Lock()
def client(t):
    s = smtplib.SMTP(HOST, PORT, timeout=30, source_address=(${JSON.stringify(source)}, 0))
    s.starttls(context=ctx())
    s.ehlo("guesser.example")
    for i in range(${each}):
        pw = ${password === null ? '"guess-%d-%d" % (t, i)' : JSON.stringify(password)}
        token = base64.b64encode(("\\0${user}\\0" + pw).encode()).decode()
        started = time.monotonic()
        code, _ = s.docmd("AUTH", "PLAIN " + token)
        with lock:
            codes.append(code); times.append(time.monotonic() - started)
        if code == 235: break
    s.close()
workers = [threading.Thread(target=client, args=(t,)) for t in range(${threads})]
for w in workers: w.start()
for w in workers: w.join()
out({"codes": codes, "times": times})`,
    { port: port(), ca: certs.cert },
  );
}

interface Run {
  readonly codes: number[];
  readonly times: number[];
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-smtp-auth-'));
  certs = await makeCerts(dir);
  await startService({ alice: 'alice-pw' });
});

afterAll(async () => {
  await stopService();
  await rm(dir, { recursive: true, force: true });
});

describe('SMTP AUTH under brute force', () => {
  it('200 wrong passwords get at most the per-pair limit of checks, each answer delayed; the owner logs in elsewhere', async () => {
    const before = store.accounts.passwordChecks();
    const run = (await authRun('127.0.0.1', 'alice', null, 10, 20)) as Run;
    const checks = store.accounts.passwordChecks() - before;
    expect(run.codes).toHaveLength(200);
    expect(checks).toBeGreaterThan(0);
    expect(checks).toBeLessThanOrEqual(settings.maxLoginFailuresPerUser);
    expect(run.codes.filter((c) => c === 535)).toHaveLength(checks);
    expect(run.codes.filter((c) => c === 454)).toHaveLength(200 - checks);
    expect(Math.min(...run.times)).toBeGreaterThanOrEqual(0.09); // every answer waited the delay
    expect(running.loginPolicy.stats()).toMatchObject({ failures: checks, refused: 200 - checks, delayed: 200 });
    // The wrong passwords checked are failures; the ones refused unchecked past the limits are
    // logins refused, as POP3, the file service and the admin page count them.
    expect(running.counters.snapshot()).toMatchObject({ authFailures: checks, loginsRefused: 200 - checks });
    const owner = (await authRun('127.0.0.2', 'alice', 'alice-pw', 1, 1)) as Run;
    expect(owner.codes).toEqual([235]);
    expect(owner.times[0]).toBeLessThan(0.1 + 2);
    const refused = (await authRun('127.0.0.1', 'alice', 'alice-pw', 1, 1)) as Run;
    expect(refused.codes).toEqual([454]);
  }, 90_000); // python clients and TLS handshakes: slow on a loaded machine

  it('keeps the counts across a restart of the service', async () => {
    await stopService();
    await startService();
    const checked = store.accounts.passwordChecks();
    expect(((await authRun('127.0.0.1', 'alice@localhost', 'alice-pw', 1, 1)) as Run).codes).toEqual([454]);
    expect(store.accounts.passwordChecks()).toBe(checked);
    expect(((await authRun('127.0.0.3', 'alice', 'alice-pw', 1, 1)) as Run).codes).toEqual([235]);
  }, 90_000);
});
