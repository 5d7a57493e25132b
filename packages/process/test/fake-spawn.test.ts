import { EventEmitter } from 'node:events';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ProcessCore, SpawnError } from '@hearth/process';
import type { KillFn, SpawnFn } from '@hearth/process';

interface FakeChild extends EventEmitter {
  pid: number | undefined;
}

function fakes(opts: { fail?: string } = {}) {
  const spawned: { command: string; args: readonly string[]; options: SpawnOptions; child: FakeChild }[] = [];
  const kills: [number, NodeJS.Signals | number][] = [];
  let nextPid = 1000;
  const spawn: SpawnFn = (command, args, options) => {
    const child = new EventEmitter() as FakeChild;
    child.pid = opts.fail ? undefined : nextPid++;
    spawned.push({ command, args, options, child });
    process.nextTick(() => {
      if (opts.fail) child.emit('error', Object.assign(new Error('spawn failed'), { code: opts.fail }));
      else child.emit('spawn');
    });
    return child as unknown as ChildProcess;
  };
  const kill: KillFn = (pid, signal) => {
    kills.push([pid, signal]);
    return true;
  };
  return { spawn, kill, spawned, kills };
}

describe('ProcessCore with a fake spawn', () => {
  it('starts every child detached and tracks it until it exits', async () => {
    const f = fakes();
    const core = new ProcessCore({ spawn: f.spawn, kill: f.kill });
    const child = await core.start({ argv: ['sleep', '10'], env: { A: '1' }, cwd: '/tmp' });
    expect(f.spawned[0]?.command).toBe('sleep');
    expect(f.spawned[0]?.args).toEqual(['10']);
    expect(f.spawned[0]?.options).toMatchObject({ detached: true, env: { A: '1' }, cwd: '/tmp' });
    expect(core.owns(child.pid)).toBe(true);
    expect(core.children().map((c) => c.pid)).toEqual([child.pid]);

    f.spawned[0]?.child.emit('exit', null, 'SIGSEGV');
    const exit = await child.exited;
    expect(exit).toMatchObject({ code: null, signal: 'SIGSEGV' });
    expect(core.owns(child.pid)).toBe(false);
    expect(core.children()).toEqual([]);
  });

  it('signals only the child\'s own group, sweeps it at exit, and nothing after', async () => {
    const f = fakes();
    const core = new ProcessCore({ spawn: f.spawn, kill: f.kill });
    const child = await core.start({ argv: ['x'] });
    child.signal('SIGTERM');
    expect(f.kills).toEqual([[-child.pid, 'SIGTERM']]);
    f.spawned[0]?.child.emit('exit', 0, null);
    await child.exited;
    expect(f.kills).toEqual([[-child.pid, 'SIGTERM'], [-child.pid, 'SIGKILL']]);
    expect(child.signal('SIGKILL')).toBe(false);
    expect(f.kills).toHaveLength(2);
  });

  it('reports a command that does not exist as a SpawnError and tracks nothing', async () => {
    const f = fakes({ fail: 'ENOENT' });
    const core = new ProcessCore({ spawn: f.spawn, kill: f.kill });
    await expect(core.start({ argv: ['nope'] })).rejects.toThrow(SpawnError);
    await expect(core.start({ argv: ['nope'] })).rejects.toThrow('nope: command not found');
    expect(core.children()).toEqual([]);
  });

  it('wraps a child with resource limits through prlimit', async () => {
    const f = fakes();
    const core = new ProcessCore({ spawn: f.spawn, kill: f.kill });
    await core.start({ argv: ['app', '-v'], limits: { nofile: 256, nproc: 50 } });
    expect(f.spawned[0]?.command).toBe('prlimit');
    expect(f.spawned[0]?.args).toEqual(['--nofile=256:256', '--nproc=50:50', '--', 'app', '-v']);
  });
});
