/**
 * The two operating-system hooks the process core uses, as parameters: tests pass fakes (as libxl's
 * fork_replacement hook lets its tests do), production passes Node's own.
 */
import { spawn as nodeSpawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';

/** Same shape as `child_process.spawn(command, args, options)`. */
export type SpawnFn = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

/** Same shape as `process.kill(pid, signal)`; a negative pid names a process group. */
export type KillFn = (pid: number, signal: NodeJS.Signals | number) => boolean;

export const defaultSpawn: SpawnFn = (command, args, options) => nodeSpawn(command, [...args], options);

export const defaultKill: KillFn = (pid, signal) => process.kill(pid, signal);
