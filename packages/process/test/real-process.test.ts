import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Lifeline, ProcessCore, findExecutable, resolveUser } from '@hearth/process';
import type { ManagedChild } from '@hearth/process';

const started: ManagedChild[] = [];
afterEach(() => {
  for (const c of started.splice(0)) c.signal('SIGKILL');
});

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** pgid and sid of a live process, from /proc/PID/stat. */
function ids(pid: number): { pgid: number; sid: number } {
  const rest = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return { pgid: Number(rest[2]), sid: Number(rest[3]) };
}

describe('ProcessCore with real processes', () => {
  it('runs each child as the leader of its own session and group', async () => {
    const core = new ProcessCore();
    const child = await core.start({ argv: ['sleep', '30'] });
    started.push(child);
    expect(ids(child.pid)).toEqual({ pgid: child.pid, sid: child.pid });
    expect(ids(process.pid).sid).not.toBe(child.pid);
  });

  it('signals the whole group, grandchildren included, and sees the exit at once', async () => {
    const core = new ProcessCore();
    const child = await core.start({ argv: ['sh', '-c', 'sleep 30 & echo $! ; wait'], stdio: ['ignore', 'pipe', 'ignore'] });
    started.push(child);
    const grandchild = await new Promise<number>((resolve) => child.process.stdout?.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
    expect(alive(grandchild)).toBe(true);
    child.signal('SIGTERM');
    const exit = await child.exited;
    expect(exit.signal).toBe('SIGTERM');
    await waitFor(() => !alive(grandchild));
  });

  it('kills what is left of the group when the leader exits', async () => {
    const core = new ProcessCore();
    const child = await core.start({ argv: ['sh', '-c', 'sleep 30 & echo $!'], stdio: ['ignore', 'pipe', 'ignore'] });
    const bg = await new Promise<number>((resolve) => child.process.stdout?.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
    const exit = await child.exited;
    expect(exit).toMatchObject({ code: 0, leftovers: true });
    await waitFor(() => !alive(bg));
  });

  it('reports an exit code, and no leftovers when the group ended with its leader', async () => {
    const core = new ProcessCore();
    const child = await core.start({ argv: ['sh', '-c', 'exit 3'] });
    const exit = await child.exited;
    expect(exit.code).toBe(3);
    expect(exit.leftovers).toBeUndefined();
    expect(core.children()).toEqual([]);
  });

  it('names a missing working directory, not the program, when the spawn fails for it', async () => {
    const core = new ProcessCore();
    await expect(core.start({ argv: ['sh', '-c', 'exit 0'], cwd: '/no/such/dir' })).rejects.toThrow('working directory /no/such/dir: no such directory');
    await expect(core.start({ argv: ['no-such-program-xyz'] })).rejects.toThrow('no-such-program-xyz: command not found');
  });

  it('applies limits through prlimit without changing the pid', async () => {
    const core = new ProcessCore();
    const child = await core.start({ argv: ['sh', '-c', 'echo $$ $(ulimit -n)'], limits: { nofile: 77 }, stdio: ['ignore', 'pipe', 'ignore'] });
    const out = await new Promise<string>((resolve) => child.process.stdout?.once('data', (d: Buffer) => resolve(String(d).trim())));
    expect(out).toBe(`${child.pid} 77`);
    await child.exited;
  });

  it('finds executables in PATH and not missing ones', () => {
    expect(findExecutable('sh')).toMatch(/\/sh$/);
    expect(findExecutable('definitely-not-a-command-xyz')).toBeUndefined();
  });

  it.runIf(process.getuid?.() === 0)('starts a child as another user when root', async () => {
    const nobody = resolveUser('nobody');
    const core = new ProcessCore();
    const child = await core.start({ argv: ['id', '-u'], uid: nobody.uid, gid: nobody.gid, stdio: ['ignore', 'pipe', 'ignore'] });
    const out = await new Promise<string>((resolve) => child.process.stdout?.once('data', (d: Buffer) => resolve(String(d).trim())));
    expect(Number(out)).toBe(nobody.uid);
  });
});

describe('Lifeline', () => {
  it('kills every group it knows when its stdin closes, and not the ones removed', async () => {
    const core = new ProcessCore();
    const lifeline = await Lifeline.start({ graceSeconds: 1 });
    const a = await core.start({ argv: ['sleep', '30'] });
    // b writes the marker once its trap is set: a SIGTERM before that would end it at once.
    const marker = join(mkdtempSync(join(tmpdir(), 'hearth-lifeline-')), 'trapped');
    const b = await core.start({ argv: ['sh', '-c', 'trap "" TERM; : > "$0"; sleep 30 & wait; sleep 30', marker] });
    const kept = await core.start({ argv: ['sleep', '30'] });
    started.push(a, b, kept);
    await waitFor(() => existsSync(marker));
    rmSync(dirname(marker), { recursive: true, force: true });
    lifeline.add(a.pid);
    lifeline.add(b.pid);
    lifeline.add(kept.pid);
    lifeline.del(kept.pid);
    lifeline.close();
    expect((await a.exited).signal).toBe('SIGTERM');
    // b ignores SIGTERM: the SIGKILL after the grace period gets it.
    expect((await b.exited).signal).toBe('SIGKILL');
    expect(alive(kept.pid)).toBe(true);
  });

  it('ends as soon as the groups it stopped are gone, not at the end of the grace', async () => {
    const core = new ProcessCore();
    const lifeline = await Lifeline.start({ graceSeconds: 600 });
    const a = await core.start({ argv: ['sleep', '30'] });
    started.push(a);
    await lifeline.add(a.pid);
    const watchdog = lifeline.pid ?? 0;
    lifeline.close();
    expect((await a.exited).signal).toBe('SIGTERM');
    await waitFor(() => !alive(watchdog));
  });

  it('keeps neither its own process nor the one that started it running', async () => {
    // A process that starts a lifeline, hands it a group and has nothing else to do exits; the
    // lifeline then stops that group.
    const kit = new URL('../dist/index.js', import.meta.url).href;
    const script = `
      import { spawn } from 'node:child_process';
      const { Lifeline } = await import(process.argv[1]);
      const lifeline = await Lifeline.start({ graceSeconds: 1 });
      const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
      child.unref();
      await lifeline.add(child.pid);
      console.log(child.pid);`;
    const core = new ProcessCore();
    const starter = await core.start({ argv: [process.execPath, '--input-type=module', '-e', script, kit], stdio: ['ignore', 'pipe', 'inherit'] });
    started.push(starter);
    let out = '';
    starter.process.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
    expect(await starter.exited).toMatchObject({ code: 0, signal: null });
    const sleeper = Number(out.trim());
    expect(sleeper).toBeGreaterThan(1);
    await waitFor(() => !alive(sleeper));
  });

  it('kills single processes added by pid (legacy shared group) and not their group', async () => {
    const core = new ProcessCore();
    const lifeline = await Lifeline.start({ graceSeconds: 1 });
    const a = await core.start({ argv: ['sleep', '30'], ownGroup: false });
    const kept = await core.start({ argv: ['sleep', '30'], ownGroup: false });
    started.push(a, kept);
    // Not detached: both stay in this test process's group (which the lifeline must not touch).
    expect(ids(a.pid).pgid).toBe(ids(process.pid).pgid);
    expect(a.ownGroup).toBe(false);
    lifeline.addPid(a.pid);
    lifeline.addPid(kept.pid);
    lifeline.delPid(kept.pid);
    lifeline.close();
    expect((await a.exited).signal).toBe('SIGTERM');
    expect(alive(kept.pid)).toBe(true);
    expect(kept.signal('SIGKILL')).toBe(true);
    expect((await kept.exited).signal).toBe('SIGKILL');
  });
});
