/**
 * The two arrangements of the SIGUSR1 demo, as functions returning what was observed (run.mjs
 * prints it in words, or as JSON for test/biff/demo.test.ts to assert).
 *
 * Both run the same siblings: a plain non-Node daemon (`sleep`), two plain Node programs without a
 * SIGUSR1 handler, and a Hearth service (the testkit fixture). Both see the same delivery: an
 * external delivery agent stores a message for alice and sends a comsat datagram, as Postfix
 * local(8) does.
 *
 *  (a) legacy: `legacy.sharedProcessGroup` puts every child in the supervisor's process group,
 *      and the notifier is the old master's way: `kill(0, SIGUSR1)` on each datagram.
 *  (b) Hearth: every child in its own group; biff takes the datagram and sends `mail.notify` over
 *      IPC to the POP3 service, whose waiting XIDLE session gets `* NEW` at once.
 */
import { fileURLToPath } from 'node:url';
import {
  FIXTURE_MODULE,
  BIFF_MODULE,
  INSPECTOR_LINE,
  INSPECTOR_PORT,
  addUsers,
  alive,
  deliverAndNotify,
  pidsListeningOn,
  poll,
  pop3Waiting,
  portListening,
  startSuite,
} from '../../packages/testkit/dist/suite.js';
import { freePorts } from '../../packages/testkit/dist/index.js';

const LEGACY_NOTIFIER = fileURLToPath(new URL('./legacy-notifier.mjs', import.meta.url));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const q = (s) => JSON.stringify(s);
const PLAIN_NODE = ['node-a', 'node-b'];

/** The siblings common to both arrangements, as YAML. */
function siblings() {
  const idle = [process.execPath, '-e', 'setInterval(() => {}, 1000)'];
  return `  daemon:
    command: [sleep, "1000"]
    restart: never
${PLAIN_NODE.map((n) => `  ${n}:\n    command: [${idle.map(q).join(', ')}]\n    restart: never\n`).join('')}  fixture:
    module: ${q(FIXTURE_MODULE)}
    listen: { main: { port: 0 } }
`;
}

async function pidsOf(suite) {
  const rows = await suite.status();
  return Object.fromEntries(rows.map((r) => [r.name, r]));
}

/** What became of the plain Node programs' inspector. */
function inspectorOf(suite, name) {
  const line = suite.logsOf(name).find((l) => INSPECTOR_LINE.test(String(l.msg ?? '')));
  if (!line) return { opened: false, line: undefined };
  return { opened: /Debugger listening/.test(line.msg), failed: /failed/.test(line.msg), line: String(line.msg) };
}

/** (a) The legacy arrangement. */
export async function runLegacy({ log = () => {} } = {}) {
  const [port] = await freePorts(['udp']);
  const yaml = `legacy: { sharedProcessGroup: true }
services:
${siblings()}  notifier:
    command: [${[process.execPath, LEGACY_NOTIFIER, String(port)].map(q).join(', ')}]
    restart: never
`;
  const suite = await startSuite(yaml, { prepare: (data) => addUsers(data, ['alice']) });
  try {
    await suite.waitLog('notifier', /comsat on/);
    const before = await pidsOf(suite);
    log(`started: supervisor ${suite.pid}; every child in its process group (${Object.keys(before).join(', ')})`);
    await deliverAndNotify(suite.data, 'alice', port);
    log('delivered one message for alice and sent the comsat datagram to the legacy notifier');

    const daemonExit = await poll(async () => (await suite.service('daemon'))?.lastExit ?? undefined, 5000, 50);
    await poll(() => PLAIN_NODE.every((n) => inspectorOf(suite, n).line !== undefined), 5000, 50);
    await sleep(200); // let the inspector that won the race finish binding
    const after = await pidsOf(suite);
    const plainNode = PLAIN_NODE.map((name) => ({ name, pid: before[name].pid, alive: alive(before[name].pid), ...inspectorOf(suite, name) }));
    const watched = [suite.pid, ...Object.values(before).map((r) => r.pid).filter(Boolean)];
    const holders = pidsListeningOn(watched, INSPECTOR_PORT);
    const nameOf = (pid) => (pid === suite.pid ? 'supervisor' : Object.values(before).find((r) => r.pid === pid)?.name ?? String(pid));
    return {
      daemon: { pid: before.daemon.pid, alive: alive(before.daemon.pid), signal: daemonExit?.signal ?? null, state: after.daemon.state },
      plainNode,
      inspectorHolders: holders.map(nameOf),
      fixture: { alive: alive(before.fixture.pid), samePid: after.fixture.pid === before.fixture.pid, state: after.fixture.state },
      supervisor: { alive: alive(suite.pid), ignoredSignal: suite.lines.some((l) => l.svc === 'supervisor' && l.signal === 'SIGUSR1') },
    };
  } finally {
    await suite.stop();
  }
}

/** (b) The Hearth arrangement. */
export async function runHearth({ log = () => {} } = {}) {
  const yaml = `services:
${siblings()}  biff:
    module: ${q(BIFF_MODULE)}
    listen: { comsat: { protocol: udp, port: 0 } }
  pop3:
    service: pop3
    listen: { pop3: { port: 0 } }
    requires: [biff]
`;
  const suite = await startSuite(yaml, { prepare: (data) => addUsers(data, ['alice']) });
  let session;
  try {
    const before = await pidsOf(suite);
    const comsat = before.biff.listeners.find((l) => l.name === 'comsat').port;
    const pop3 = before.pop3.listeners.find((l) => l.name === 'pop3').port;
    log(`started: supervisor ${suite.pid}; every child in a process group of its own (${Object.keys(before).join(', ')})`);
    session = await pop3Waiting(pop3, 'alice', 'alice-pw');
    log('alice logged in to POP3 and is waiting for new mail (XIDLE)');
    const { message, notifiedAt } = await deliverAndNotify(suite.data, 'alice', comsat);
    log('delivered one message for alice and sent the comsat datagram to biff');
    const push = await session.waitPush(5000);
    const pushMs = push ? Date.now() - notifiedAt : null;
    await sleep(300); // anything a signal would have done has happened by now
    const after = await pidsOf(suite);
    const services = Object.values(before).map((r) => ({
      name: r.name,
      pid: r.pid,
      alive: r.pid !== null && alive(r.pid),
      samePid: after[r.name].pid === r.pid,
      state: after[r.name].state,
    }));
    const watched = [suite.pid, ...services.map((s) => s.pid).filter(Boolean)];
    return {
      services,
      inspectorHolders: pidsListeningOn(watched, INSPECTOR_PORT),
      inspectorLines: suite.lines.filter((l) => INSPECTOR_LINE.test(String(l.msg ?? ''))).map((l) => String(l.msg)),
      inspectorPortOpenOnHost: portListening(INSPECTOR_PORT),
      push: push ?? null,
      pushMs,
      delivered: message,
    };
  } finally {
    session?.close();
    await suite.stop();
  }
}
