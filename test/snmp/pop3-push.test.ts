/**
 * POP3's own extensions counted under a real `hearth up` (pop3, snmp): a scripted session where
 * bob waits in XIDLE and alice sends him a message with XSEND shows messagesSent, messagesPushed
 * and the pushWaiting gauge in `hearth status pop3 --json` and in an SNMP walk of the Hearth MIB.
 */
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ServiceStatus } from '@hearth/supervisor';
import { LineClient, freePorts, makeTempDir, waitFor } from '@hearth/testkit';
import { startUp, waitState, type Up } from '@hearth/testkit/hearth-up';
import { addUsers } from '@hearth/testkit/suite';
import { walk, type Agent } from './helpers.js';

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

let up: Up;
let pop3Port: number;
let agent: Agent;

beforeAll(async () => {
  const dir = await makeTempDir('hearth-pop3-push-');
  await addUsers(join(dir.path, 'data'), ['alice', 'bob']);
  const [pop3, snmpPort] = await freePorts(['tcp', 'udp']);
  pop3Port = pop3;
  up = await startUp(
    `services:
  pop3:
    service: pop3
    standby: false
    listen: { pop3: { address: 127.0.0.1, port: ${pop3Port} } }
  snmp:
    service: snmp
    standby: false
    listen: { snmp: { protocol: udp, address: 127.0.0.1, port: ${snmpPort} } }
`,
    { dir },
  );
  for (const name of ['pop3', 'snmp']) await waitState(up, name, 'running', 30_000);
  agent = { port: snmpPort, community: (await up.cli('snmp', 'credentials')).stdout.trim() };
});
afterAll(() => up?.stop());

const PUSH_COUNTERS = ['messagesSent', 'messagesPushed', 'pushWaiting'] as const;

/** The three push and send figures as `hearth status pop3 --json` prints them. */
async function fromStatus(): Promise<Record<string, number>> {
  const r = await up.cli('status', 'pop3', '--json');
  expect(r.code).toBe(0);
  const row = JSON.parse(r.stdout) as ServiceStatus;
  return Object.fromEntries((row.counters ?? []).filter((c) => (PUSH_COUNTERS as readonly string[]).includes(c.name)).map((c) => [c.name, c.value]));
}

async function fromWalk(): Promise<Record<string, number>> {
  const served = (await walk(agent)).get('pop3')?.counters ?? {};
  return Object.fromEntries(PUSH_COUNTERS.map((name) => [name, served[name]!]));
}

async function login(user: string): Promise<LineClient> {
  const c = await LineClient.connect(pop3Port);
  await c.expect(null, /^\+OK/);
  await c.expect(`USER ${user}`, /^\+OK/);
  await c.expect(`PASS ${user}-pw`, /^\+OK/);
  return c;
}

describe('XSEND and XIDLE counters', () => {
  it('appear in hearth status pop3 --json and in the SNMP walk', async () => {
    expect(await fromStatus()).toEqual({ messagesSent: 0, messagesPushed: 0, pushWaiting: 0 });
    const bob = await login('bob');
    const alice = await login('alice');
    try {
      await bob.expect('XIDLE', /^\+OK Waiting/);
      const waiting = { messagesSent: 0, messagesPushed: 0, pushWaiting: 1 };
      await waitFor(async () => isDeepStrictEqual(await fromStatus(), waiting), { timeout: 5000, what: 'pushWaiting 1 in hearth status' });
      await waitFor(async () => isDeepStrictEqual(await fromWalk(), waiting), { timeout: 5000, what: 'pushWaiting 1 in the walk' });

      await alice.expect('XSEND bob', /^\+OK Send the message/);
      alice.send('Subject: counted\r\n\r\n..a line that starts with a dot\r\n.\r\n');
      await alice.line('XSEND message').then((l) => expect(l).toMatch(/^\+OK Message \w+ delivered to 1 maildrop$/));
      expect(await bob.line('push')).toMatch(/^\* NEW 1 \S+ \d+$/);
      const sent = { messagesSent: 1, messagesPushed: 1, pushWaiting: 1 };
      await waitFor(async () => isDeepStrictEqual(await fromStatus(), sent), { timeout: 5000, what: 'sent and pushed in hearth status' });
      await waitFor(async () => isDeepStrictEqual(await fromWalk(), sent), { timeout: 5000, what: 'sent and pushed in the walk' });

      await bob.expect('DONE', /^\+OK Done waiting, 1 message /);
      const done = { messagesSent: 1, messagesPushed: 1, pushWaiting: 0 };
      await waitFor(async () => isDeepStrictEqual(await fromStatus(), done), { timeout: 5000, what: 'no one waiting in hearth status' });
      await waitFor(async () => isDeepStrictEqual(await fromWalk(), done), { timeout: 5000, what: 'no one waiting in the walk' });

      // A waiting session whose connection drops leaves the gauge too.
      await bob.expect('XIDLE', /^\+OK Waiting/);
      await waitFor(async () => (await fromStatus())['pushWaiting'] === 1, { timeout: 5000, what: 'waiting again' });
      bob.destroy();
      await waitFor(async () => (await fromStatus())['pushWaiting'] === 0, { timeout: 5000, what: 'the dropped wait gone' });
      await alice.expect('QUIT', /^\+OK/);
    } finally {
      bob.destroy();
      alice.destroy();
    }
  });
});
