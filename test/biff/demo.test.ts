/**
 * The SIGUSR1 reproduction, `node demo/sigusr1/run.mjs` run as a program (with `--json`, so the
 * test reads what it observed):
 * (a) legacy: one process group and a `kill(0, SIGUSR1)` notifier: after one delivery the plain
 *     daemon is dead by SIGUSR1 and the plain Node siblings opened or raced for the inspector;
 * (b) Hearth: the same delivery leaves every service alive, no inspector open, and the push
 *     reaches alice's waiting POP3 session.
 * `hearth up` runs detached (its own group), so the legacy signal never reaches this runner.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const RUN = fileURLToPath(new URL('../../demo/sigusr1/run.mjs', import.meta.url));

interface Observed {
  readonly code: number | null;
  readonly stderr: string;
  // What scenario.mjs returns (plain JSON).
  readonly a: any;
  readonly b: any;
}

function runDemo(): Promise<Observed> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUN, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').at(-1) ?? '';
      try {
        resolve({ code, stderr, ...(JSON.parse(last) as { a: unknown; b: unknown }) } as Observed);
      } catch {
        reject(new Error(`the demo printed no JSON (exit ${code}): ${stdout}${stderr}`));
      }
    });
  });
}

describe('SIGUSR1 demo', () => {
  let run: Observed;
  beforeAll(async () => {
    run = await runDemo();
  }, 150_000);

  it('(a) legacy arrangement: the non-Node sibling dies by SIGUSR1, plain Node siblings open or race for 9229', () => {
    const { a } = run;
    expect(a.daemon).toMatchObject({ alive: false, signal: 'SIGUSR1' });
    // Every plain Node sibling tried to start its inspector: one won 127.0.0.1:9229 (unless
    // something else on this host holds the port), the others lost the race.
    for (const n of a.plainNode) {
      expect(n.alive, n.name).toBe(true);
      expect(n.line, n.name).toMatch(/Debugger listening on ws:\/\/127\.0\.0\.1:9229|Starting inspector on 127\.0\.0\.1:9229 failed/);
    }
    const winners = a.plainNode.filter((n: { opened: boolean }) => n.opened).map((n: { name: string }) => n.name);
    expect(winners.length).toBeLessThanOrEqual(1);
    expect(a.inspectorHolders).toEqual(winners);
    // Hearth's own service and the supervisor were in the group too, and shrugged it off.
    expect(a.fixture).toMatchObject({ alive: true, samePid: true, state: 'running' });
    expect(a.supervisor).toEqual({ alive: true, ignoredSignal: true });
  });

  it('(b) Hearth arrangement: every service alive, no inspector, the push reaches the waiting POP3 session', () => {
    const { b } = run;
    for (const s of b.services) expect(s, s.name).toMatchObject({ alive: true, samePid: true, state: 'running' });
    expect(b.services.map((s: { name: string }) => s.name).sort()).toEqual(['biff', 'daemon', 'fixture', 'node-a', 'node-b', 'pop3']);
    expect(b.inspectorHolders).toEqual([]);
    expect(b.inspectorLines).toEqual([]);
    expect(b.push).toBe(`* NEW 1 ${b.delivered.uidl} ${b.delivered.size}`);
  });

  it('says so by its exit status', () => {
    expect(run.code, run.stderr).toBe(0);
  });
});
