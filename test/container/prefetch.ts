/**
 * The container project's globalSetup: vitest runs it as the whole run starts, so what the
 * container test needs from the network comes while the rest of the suite runs instead of after
 * it. It installs the Debian packages the test needs (those of `ensureTools`), then, when no registry
 * answers (so the test will build the stand-in base), fetches that base's Debian root file
 * system and Node's package (`docker/make-local-base.sh --fetch`, niced: the suite's tests keep
 * the CPUs). The test waits for the outcome (`awaitPrefetch` in `support.ts`) and builds the base from what was
 * fetched; whatever failed here, it does itself as before. Not run where the test cannot run,
 * with `HEARTH_NODE_IMAGE` set, or with `HEARTH_CONTAINER_TEST_PREFETCH=0`. It imports nothing that
 * uses `@hearth/testkit`: vitest's module runner, which loads a globalSetup, cannot load it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { composeV2Works, missingPackages, neededTools, whyDockerCannotRun } from './exec.js';

/** What the prefetch left, read by the test from `OUTCOME_FILE` in its folder. */
export type PrefetchOutcome =
  /** The packages are installed and the base's parts are in the folder (`HEARTH_BASE_FETCHED`). */
  | { readonly kind: 'fetched'; readonly seconds: number }
  /**
   * The packages are installed; the base's parts were not fetched, `why`: a registry answered
   * (the test pulls the official base), or the engine's data root is kept between runs (it has
   * the base from the run before).
   */
  | { readonly kind: 'installed'; readonly seconds: number; readonly why: string }
  | { readonly kind: 'failed'; readonly error: string };

export const OUTCOME_FILE = 'outcome.json';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The prefetch's folder, or null when it did not run. */
    containerPrefetch: string | null;
  }
}

/** The registry the official base comes from answers at all (any HTTP status), within 10 s. */
async function registryAnswers(): Promise<boolean> {
  try {
    await fetch('https://registry-1.docker.io/v2/', { signal: AbortSignal.timeout(10_000) });
    return true;
  } catch {
    return false;
  }
}

export default function setup(project: TestProject): () => Promise<void> {
  if (whyDockerCannotRun() !== null || process.env.HEARTH_NODE_IMAGE || process.env.HEARTH_CONTAINER_TEST_PREFETCH === '0') {
    project.provide('containerPrefetch', null);
    return async () => {};
  }
  const dir = mkdtempSync(join(tmpdir(), 'hearth-container-prefetch-'));
  project.provide('containerPrefetch', dir);
  const script = fileURLToPath(new URL('../../docker/make-local-base.sh', import.meta.url));
  let child: ChildProcess | undefined;
  const started = Date.now();
  const seconds = () => Math.round((Date.now() - started) / 1000);

  /** Runs `command` to its end (the one running, `child`, is stopped by the teardown). */
  const run = (command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<void> =>
    new Promise((resolve, reject) => {
      let output = '';
      child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
      child.stdout?.on('data', (b: Buffer) => (output += b.toString()));
      child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
      child.on('error', reject);
      child.on('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')}: ${signal ?? `exit code ${code}`}\n${output.slice(-2000)}`))));
    });
  /** What `ensureTools` would install, in one `apt-get install`. */
  const installTools = async (): Promise<void> => {
    const packages = missingPackages(neededTools(composeV2Works()));
    if (packages.length === 0) return;
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    await run('apt-get', ['update', '-qq'], env);
    await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], env);
  };

  const done = (async (): Promise<PrefetchOutcome> => {
    try {
      await installTools();
      if (process.env.HEARTH_CONTAINER_TEST_CACHE) return { kind: 'installed', seconds: seconds(), why: 'the data root is kept (HEARTH_CONTAINER_TEST_CACHE)' };
      if (await registryAnswers()) return { kind: 'installed', seconds: seconds(), why: 'a registry answered' };
      await run('nice', ['-n', '19', 'sh', script, '--fetch', join(dir, 'base')]);
      return { kind: 'fetched', seconds: seconds() };
    } catch (err) {
      return { kind: 'failed', error: (err as Error).message };
    }
  })().then((outcome) => writeFileSync(join(dir, OUTCOME_FILE), JSON.stringify(outcome)));

  return async () => {
    // A run ended before the container test (a bail, Ctrl-C): the fetch stops with it.
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await done;
    rmSync(dir, { recursive: true, force: true });
  };
}

