/**
 * Reading the suite config without keeping what reading it takes: `hearth up` (at start and at
 * each reload) runs `config-build.ts` in a short-lived worker thread that hands back the
 * resolved, validated config as plain data (structured clone). The registry of kinds goes with
 * each request, as data. zod, yaml, the services'
 * manifests and any `module:` file are loaded only in that worker and freed with it (about
 * 10 MiB of RSS the supervisor would otherwise carry for its whole life; see
 * bench/supervisor). Errors come back as the same `ConfigError` (file:line problems, exit 78)
 * or `CycleError` the in-process loaders throw.
 */
import { Worker } from 'node:worker_threads';
import { ConfigError } from '@hearth/config/errors';
import type { ConfigProblem } from '@hearth/config/errors';
import type { SuiteConfig } from './config.js';
import { CycleError } from './graph.js';
import type { Registry } from './registry.js';

/** What the worker is asked: a file (absolute), or the embedded default, and the kinds it may name. */
export interface ConfigRequest {
  readonly file: string | undefined;
  readonly registry: Registry;
}

/** What the worker answers. */
export type ConfigReply =
  | { readonly ok: true; readonly config: SuiteConfig }
  | { readonly ok: false; readonly kind: 'config'; readonly problems: readonly ConfigProblem[] }
  | { readonly ok: false; readonly kind: 'cycle'; readonly members: readonly string[] }
  | { readonly ok: false; readonly kind: 'error'; readonly message: string };

const WORKER = new URL('./config-worker.js', import.meta.url);

/**
 * Reads `file` (absolute; undefined: the embedded default, one service per kind of `registry`)
 * in a worker thread; `service:` may name the kinds of `registry`. Throws `ConfigError` or
 * `CycleError` like `loadSuiteConfig`, an Error for anything else.
 */
export async function loadSuiteConfigIsolated(file: string | undefined, registry: Registry): Promise<SuiteConfig> {
  const request: ConfigRequest = { file, registry };
  // stdout/stderr stay the process's: a module printing at import time shows up as before.
  const worker = new Worker(WORKER, { workerData: request });
  let reply: ConfigReply;
  try {
    reply = await new Promise<ConfigReply>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the config reader exited (code ${code}) before answering`)));
    });
  } finally {
    // A module that keeps timers or sockets at import time must not keep the worker alive.
    void worker.terminate();
  }
  if (reply.ok) return reply.config;
  if (reply.kind === 'config') throw new ConfigError(reply.problems);
  if (reply.kind === 'cycle') throw new CycleError(reply.members);
  throw new Error(reply.message);
}
