#!/usr/bin/env node
/**
 * The SIGUSR1 demo: `node demo/sigusr1/run.mjs` (after `npx tsc -b`). See README.md.
 * Runs the legacy arrangement, then Hearth's, on the same delivery, and says what happened
 * (with `--json`: prints what was observed as one JSON line instead, for the test).
 */
import { existsSync } from 'node:fs';
import { BIFF_MODULE, HEARTH } from '../../packages/testkit/dist/suite.js';
import { runHearth, runLegacy } from './scenario.mjs';

if (!existsSync(HEARTH) || !existsSync(BIFF_MODULE)) {
  console.error('Build first: npx tsc -b   (the demo runs the compiled packages)');
  process.exit(1);
}

const json = process.argv.includes('--json');
const say = (s = '') => json || console.log(s);
const step = (s) => json || console.log(`   - ${s}`);
const yes = (ok, good, bad) => (ok ? good : bad);

say('(a) The legacy arrangement: every service in one process group, and a notifier that');
say('    tells "its children" about new mail with kill(0, SIGUSR1).');
const a = await runLegacy({ log: step });
say('    What happened after ONE delivery:');
say(
  `   * the plain daemon (sleep, pid ${a.daemon.pid}): ${yes(
    !a.daemon.alive,
    `DEAD, killed by ${a.daemon.signal ?? 'a signal'} (it has no handler, and the default action of SIGUSR1 is to terminate)`,
    'still alive (unexpected)',
  )}`,
);
for (const n of a.plainNode) {
  const what = n.opened
    ? 'OPENED NODE\'S INSPECTOR: an unauthenticated debugger on 127.0.0.1:9229 that can run any code as this service'
    : n.failed
      ? 'tried to open Node\'s inspector and lost the race for port 9229 (another sibling holds it)'
      : 'no inspector line seen';
  say(`   * plain Node program ${n.name} (pid ${n.pid}, no SIGUSR1 handler): ${what}`);
  if (n.line) say(`       its stderr: "${n.line}"`);
}
say(`   * listening on 9229 now: ${a.inspectorHolders.length > 0 ? a.inspectorHolders.join(', ') : 'none of ours (something else may hold the port)'}`);
say(`   * the Hearth fixture service: ${yes(a.fixture.alive && a.fixture.samePid, 'alive (Hearth\'s runtime handles SIGUSR1 on purpose)', 'NOT alive')}`);
say(`   * the supervisor itself, in the same group: ${yes(a.supervisor.alive, 'alive', 'dead')}${a.supervisor.ignoredSignal ? ' (it logged the SIGUSR1 and ignored it)' : ''}`);
say();

say('(b) The Hearth arrangement: every service in a process group of its own; biff takes the');
say('    comsat datagram and tells exactly the subscribed service over IPC.');
const b = await runHearth({ log: step });
say('    What happened after the same delivery:');
const dead = b.services.filter((s) => !s.alive || !s.samePid);
say(`   * services alive: ${b.services.filter((s) => s.alive && s.samePid).map((s) => s.name).join(', ')}${dead.length ? `; NOT alive: ${dead.map((s) => s.name).join(', ')}` : ' (all of them, same pids)'}`);
say(`   * Node inspector: ${b.inspectorHolders.length === 0 && b.inspectorLines.length === 0 ? 'not opened by any of them (no "Debugger listening", nothing of ours on 9229)' : `OPENED: ${b.inspectorLines.join('; ')}`}`);
say(`   * alice's waiting POP3 session: ${b.push ? `got "${b.push}" ${b.pushMs} ms after the delivery, without polling` : 'got nothing (unexpected)'}`);
say();
const ok = !a.daemon.alive && a.plainNode.some((n) => n.opened || n.failed) && dead.length === 0 && b.push !== null && b.inspectorHolders.length === 0;
say(ok ? 'Reproduced: the legacy arrangement kills and exposes its siblings; Hearth\'s does neither and still pushes the mail.' : 'The demo did not turn out as expected: see above.');
if (json) console.log(JSON.stringify({ a, b }));
process.exit(ok ? 0 : 1);
