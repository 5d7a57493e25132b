/**
 * Worker-thread entry: reads the suite config (`config-build.ts`: zod, yaml, the services'
 * manifests, `module:` files) and posts it back as plain data, or what was wrong with it. When
 * the worker ends, its isolate and every module it loaded are freed: the supervisor keeps only
 * the result. See `config-isolated.ts`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ConfigError } from '@hearth/config/errors';
import { defaultSuiteConfig, loadSuiteConfig } from './config-build.js';
import type { ConfigReply, ConfigRequest } from './config-isolated.js';
import { CycleError } from './graph.js';

async function read(req: ConfigRequest): Promise<ConfigReply> {
  try {
    const options = { registry: req.registry };
    const config = req.file !== undefined ? await loadSuiteConfig(req.file, options) : await defaultSuiteConfig(options);
    return { ok: true, config };
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, kind: 'config', problems: [...err.problems] };
    if (err instanceof CycleError) return { ok: false, kind: 'cycle', members: [...err.members] };
    return { ok: false, kind: 'error', message: (err as Error).message ?? String(err) };
  }
}

const reply = await read(workerData as ConfigRequest);
try {
  parentPort?.postMessage(reply);
} catch (err) {
  // Something in the result cannot be cloned (a module's settings holding a function?).
  parentPort?.postMessage({ ok: false, kind: 'error', message: `the config cannot be handed over: ${(err as Error).message}` } satisfies ConfigReply);
}
