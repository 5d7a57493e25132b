/**
 * Restarts and reloads of the real mail services under a churn of full sessions: no session is
 * cut, no accepted message is lost or stored twice; a session held open past the drain's goodbye
 * time gets the protocol's goodbye.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LineClient, freePorts, makeTempDir, startMailChurn, waitFor } from '@hearth/testkit';
import { addUsers, openStore } from '@hearth/testkit/suite';
import { startUp, stopAll, waitRunning, type Up } from './helpers.js';

afterEach(stopAll);

const POP3_USERS = ['p0', 'p1', 'p2', 'p3'];

function config(ports: { smtp: number; pop3: number }, generation: number): string {
  return `services:
  smtp:
    service: smtp
    listen: { mx: { port: ${ports.smtp} } }
    stopTimeout: 4s
    env: { GENERATION: "${generation}" }
  pop3:
    service: pop3
    listen: { pop3: { port: ${ports.pop3} } }
    stopTimeout: 4s
    env: { GENERATION: "${generation}" }
`;
}

/** `hearth up` with the two mail services, users p0..p3 (one message each) and `sink`. */
async function mailSuite(): Promise<{ up: Up; ports: { smtp: number; pop3: number } }> {
  const dir = await makeTempDir('hearth-churn-');
  const data = join(dir.path, 'data');
  await addUsers(data, [...POP3_USERS, 'sink']);
  const store = await openStore(data);
  try {
    for (const user of POP3_USERS) await store.deliver({ recipients: [user], body: `Subject: seed\r\n\r\nFor ${user}.\r\n` });
  } finally {
    await store.close();
  }
  const [smtp, pop3] = await freePorts(['tcp', 'tcp']);
  const ports = { smtp, pop3 };
  const up = await startUp(config(ports, 0), { dir });
  await waitRunning(up, 'smtp', 20_000);
  await waitRunning(up, 'pop3', 20_000);
  return { up, ports };
}

/** The Subject of every message in `user`'s maildrop, over POP3 (TOP n 0). */
async function subjectsOver(port: number, user: string): Promise<string[]> {
  const c = await LineClient.connect(port);
  try {
    await c.expect(null, /^\+OK/);
    await c.expect(`USER ${user}`, /^\+OK/);
    await c.expect(`PASS ${user}-pw`, /^\+OK/);
    const count = Number(/^\+OK (\d+) /.exec(await c.expect('STAT', /^\+OK/))![1]);
    const subjects: string[] = [];
    for (let n = 1; n <= count; n++) {
      const lines = await c.multiline(`TOP ${n} 0`);
      subjects.push(...lines.filter((l) => l.startsWith('Subject: ')).map((l) => l.slice('Subject: '.length)));
    }
    await c.expect('QUIT', /^\+OK/);
    return subjects;
  } finally {
    c.destroy();
  }
}

describe('restarts and reloads under a churn of full mail sessions', () => {
  it('5 restarts and 2 reloads: 0 sessions get an error, every accepted message is stored exactly once', async () => {
    const { up, ports } = await mailSuite();
    const churn = startMailChurn({
      pop3: { port: ports.pop3, accounts: POP3_USERS.map((user) => ({ user, password: `${user}-pw` })) },
      smtp: { port: ports.smtp, recipient: 'sink@localhost', loops: 4 },
    });
    const pids = new Set<number>();
    const steps: Array<() => Promise<void>> = [
      ...['pop3', 'smtp', 'pop3', 'smtp', 'pop3'].map((name) => async () => {
        const s = (await up.request({ verb: 'restart', name })) as { pid: number; state: string };
        expect(s.state).toBe('running');
        pids.add(s.pid);
      }),
      ...[1, 2].map((generation) => async () => {
        up.writeConfig(config(ports, generation));
        const before = await up.status();
        await up.request({ verb: 'reload' });
        // A reload that changes a service's environment replaces its instance.
        for (const name of ['smtp', 'pop3']) {
          const now = await up.service(name);
          expect(now.state).toBe('running');
          expect(now.pid).not.toBe(before.find((s) => s.name === name)?.pid);
        }
      }),
    ];
    for (const step of steps) {
      const before = churn.sessions;
      // Sessions in flight at every step: wait until some finished since the last one.
      await waitFor(() => churn.sessions >= before + 8, { timeout: 30_000, what: 'sessions between restarts' });
      await step();
    }
    const seen = churn.sessions;
    await waitFor(() => churn.sessions >= seen + 8, { timeout: 30_000, what: 'sessions after the last restart' });
    const result = await churn.stop();
    expect(result.failures).toEqual([]);
    expect(result.samples.filter((s) => s.protocol === 'pop3').length).toBeGreaterThan(20);
    expect(result.accepted.length).toBeGreaterThan(20);
    expect(pids.size).toBe(5);
    const stored = await subjectsOver(ports.pop3, 'sink');
    expect(stored.length).toBe(result.accepted.length);
    expect(new Set(stored)).toEqual(new Set(result.accepted));
  }, 240_000);

  it('a session held open past the goodbye time gets the goodbye (POP3 -ERR [SYS/TEMP], SMTP 421), the others finish', async () => {
    const { up, ports } = await mailSuite();
    const pop3Held = await LineClient.connect(ports.pop3);
    await pop3Held.expect(null, /^\+OK/);
    await pop3Held.expect('USER p0', /^\+OK/);
    await pop3Held.expect('PASS p0-pw', /^\+OK/);
    const smtpHeld = await LineClient.connect(ports.smtp);
    await smtpHeld.expect(null, /^220 /);
    const greeted = await LineClient.connect(ports.pop3);
    await greeted.expect(null, /^\+OK/);
    const restarts = Promise.all([up.request({ verb: 'restart', name: 'pop3' }), up.request({ verb: 'restart', name: 'smtp' })]);
    // The session greeted by the old instance logs in and works while it drains.
    await greeted.expect('USER p1', /^\+OK/);
    await greeted.expect('PASS p1-pw', /^\+OK/);
    await greeted.expect('STAT', /^\+OK 1 /);
    await greeted.expect('QUIT', /^\+OK/);
    expect(await pop3Held.line()).toBe('-ERR [SYS/TEMP] Server shutting down; try again later');
    expect(await smtpHeld.line()).toBe('421 4.4.2 Server shutting down, try again later');
    await restarts;
    for (const c of [pop3Held, smtpHeld, greeted]) c.destroy();
  }, 120_000);
});
