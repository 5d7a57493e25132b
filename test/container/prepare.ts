/**
 * The container project's globalSetup: vitest runs it as the whole run starts, so that the image
 * is built while the rest of the suite runs instead of after it. It installs the Debian packages
 * the test needs (`ensureTools`), then starts a private engine of its own whose containers (the
 * build's RUN steps) sit in a cgroup of the lowest CPU weight, with dockerd under `nice -n 19`
 * (`background.ts`): the build takes only the CPU time the suite's tests leave, and once they
 * are done, all of it. On that engine it makes the base (`pickBase`, niced too) and builds the
 * image from the committed tree through Compose, as the test would, then stops the engine and
 * hands its data root (the base, the image and its layers) on to the test (`awaitPrepared`),
 * whose engine starts on it: the test's own build then finds every layer made.
 *
 * Where no such cgroup can be made, it only fetches what the stand-in base needs from the network
 * (when no registry answers: `make-local-base.sh --fetch`, niced) and the test builds after the
 * suite. Whatever failed here, the test does itself. Not run where the test cannot run, with
 * `HEARTH_NODE_IMAGE` set, or with `HEARTH_CONTAINER_TEST_PREPARE=0`; with
 * `HEARTH_CONTAINER_TEST_CACHE` (a data root kept between runs) it only installs the packages.
 */
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProgram, runProgramOk, waitFor } from '@hearth/testkit';
import type { TestProject } from 'vitest/node';
import { makeBackgroundCgroup } from './background.js';
import { ENGINES_DIR, reapStaleEngines, removeDataRoot, startEngine, type Engine } from './engine.js';
import { whyDockerCannotRun } from './exec.js';
import { archiveTree, composeEnvironment, ensureTools, imageIds, pickBase } from './support.js';

/** What the preparation left, read by the test from `OUTCOME_FILE` in its folder. */
export type PrepareOutcome =
  /**
   * The image is built: `dataRoot` holds the base, the image and its build stages, for an engine
   * of the test's to start on; `src` is the committed tree it was built from; `imagesBefore` the
   * images the engine had before the build (the base's).
   */
  | {
      readonly kind: 'built';
      readonly seconds: number;
      readonly dataRoot: string;
      readonly src: string;
      readonly base: string;
      readonly imagesBefore: readonly string[];
      /** The background cgroup the build ran in, removed before the outcome was written. */
      readonly cgroup: string;
    }
  /** No cgroup for a background build (`why`); the stand-in base's parts are in `base/` of the folder. */
  | { readonly kind: 'fetched'; readonly seconds: number; readonly why: string }
  /** The packages are installed, nothing else was done (`why`). */
  | { readonly kind: 'installed'; readonly seconds: number; readonly why: string }
  | { readonly kind: 'failed'; readonly error: string };

const OUTCOME_FILE = 'outcome.json';
/** What the preparation did, line by line, printed by the test (vitest's own output is the suite's). */
const LOG_FILE = 'prepare.log';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The preparation's folder, or null when it did not run. */
    containerPrepare: string | null;
  }
}

/**
 * The registry the official base comes from answers at all (any HTTP status), within 10 s. Asked
 * with curl, which goes through `HTTPS_PROXY` (and `NO_PROXY`) as dockerd, started with this
 * environment, would; Node 20's `fetch` does not.
 */
async function registryAnswers(): Promise<boolean> {
  const probe = await runProgram('curl', ['-sS', '-o', '/dev/null', '--max-time', '10', 'https://registry-1.docker.io/v2/'], { timeoutMs: 20_000 });
  return probe.code === 0;
}

export default function setup(project: TestProject): () => Promise<void> {
  if (whyDockerCannotRun() !== null || process.env.HEARTH_NODE_IMAGE || process.env.HEARTH_CONTAINER_TEST_PREPARE === '0') {
    project.provide('containerPrepare', null);
    return async () => {};
  }
  // Named for this process beside its engines, so that a run killed before its teardown is
  // cleaned up by the next (`reapStaleEngines`, here and in the test).
  const dir = join(ENGINES_DIR, `${process.pid}-prepare`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  project.provide('containerPrepare', dir);
  const repo = fileURLToPath(new URL('../..', import.meta.url));
  const started = Date.now();
  const seconds = () => Math.round((Date.now() - started) / 1000);
  const log = (line: string) => appendFileSync(join(dir, LOG_FILE), `[${seconds()}s] ${line}\n`);
  const abort = new AbortController();
  const { signal } = abort;
  // The engine's data root outlives it: a folder named for this process, reaped with it.
  const dataRoot = join(ENGINES_DIR, `${process.pid}-image`);

  const prepare = async (): Promise<PrepareOutcome> => {
    const reaped = await reapStaleEngines();
    if (reaped.length > 0) log(`removed what killed runs left: ${reaped.join(', ')}`);
    const composeCmd = await ensureTools(log);
    if (process.env.HEARTH_CONTAINER_TEST_CACHE) return { kind: 'installed', seconds: seconds(), why: 'the data root is kept (HEARTH_CONTAINER_TEST_CACHE)' };
    const cgroup = await makeBackgroundCgroup();
    if (typeof cgroup === 'string') {
      log(`no background build: ${cgroup}`);
      if (await registryAnswers()) return { kind: 'installed', seconds: seconds(), why: `no background build (${cgroup}); a registry answered` };
      await runProgramOk('nice', ['-n', '19', 'sh', join(repo, 'docker/make-local-base.sh'), '--fetch', join(dir, 'base')], { timeoutMs: 900_000, signal, stopWithThisProcess: true });
      return { kind: 'fetched', seconds: seconds(), why: cgroup };
    }
    let engine: Engine | undefined;
    try {
      engine = await startEngine({ dataRoot, background: cgroup });
      log(`dockerd ${engine.pid} ready, niced, its containers in the cgroup ${cgroup.parent} of the lowest CPU weight`);
      const base = await pickBase(engine, repo, log, { niced: true, signal });
      const imagesBefore = await imageIds(engine);
      const src = join(dir, 'src');
      await archiveTree(repo, src);
      const [cmd = 'docker-compose', ...pre] = composeCmd;
      const t0 = Date.now();
      await runProgramOk(cmd, [...pre, '--project-directory', join(src, 'docker'), '-f', join(src, 'docker/docker-compose.yml'), 'build'], {
        env: composeEnvironment(engine, base),
        timeoutMs: 2_400_000,
        signal,
        stopWithThisProcess: true,
      });
      log(`image built on ${base} in ${Math.round((Date.now() - t0) / 1000)}s`);
      return { kind: 'built', seconds: seconds(), dataRoot, src, base, imagesBefore, cgroup: cgroup.parent };
    } finally {
      await engine?.stop();
      await cgroup.remove();
    }
  };

  const done = prepare()
    .catch(async (err: Error): Promise<PrepareOutcome> => {
      // The test builds on an engine of its own: what this one left goes now.
      await removeDataRoot(dataRoot).catch(() => undefined);
      return { kind: 'failed', error: err.message };
    })
    .then((outcome) => writeFileSync(join(dir, OUTCOME_FILE), JSON.stringify(outcome)));

  return async () => {
    // A run that ended before the test took the image (a bail, Ctrl-C): stop with it.
    abort.abort();
    await done;
    await removeDataRoot(dataRoot);
    await rm(dir, { recursive: true, force: true });
  };
}

/** What the test takes from the preparation (`awaitPrepared`). */
export type Prepared =
  | { readonly kind: 'built'; readonly dataRoot: string; readonly src: string; readonly base: string; readonly imagesBefore: readonly string[]; readonly cgroup: string }
  /** The stand-in base's parts (`HEARTH_BASE_FETCHED`). */
  | { readonly kind: 'fetched'; readonly dir: string }
  | { readonly kind: 'nothing' };

/**
 * For the test: waits for the preparation in `dir` (null: it did not run) to end, prints its log
 * and how it ended, and says what it left.
 */
export async function awaitPrepared(dir: string | null, log: (line: string) => void): Promise<Prepared> {
  if (dir === null) return { kind: 'nothing' };
  const file = join(dir, OUTCOME_FILE);
  // Until the file is there and whole (an error counts as not yet).
  const outcome = await waitFor(async () => JSON.parse(await readFile(file, 'utf8')) as PrepareOutcome, {
    timeout: 2_400_000,
    interval: 250,
    what: 'the preparation started with the run (test/container/prepare.ts) to end',
  });
  for (const line of (await readFile(join(dir, LOG_FILE), 'utf8').catch(() => '')).split('\n')) if (line !== '') log(`prepare ${line}`);
  switch (outcome.kind) {
    case 'built':
      log(`prepare: the image was built before the test began (done at ${outcome.seconds}s of the run)`);
      return { kind: 'built', dataRoot: outcome.dataRoot, src: outcome.src, base: outcome.base, imagesBefore: outcome.imagesBefore, cgroup: outcome.cgroup };
    case 'fetched':
      log(`prepare: the stand-in base's parts fetched before the test began (${outcome.seconds}s); the image is built here: ${outcome.why}`);
      return { kind: 'fetched', dir: join(dir, 'base') };
    case 'installed':
      log(`prepare: packages installed before the test began (${outcome.seconds}s); nothing else: ${outcome.why}`);
      return { kind: 'nothing' };
    case 'failed':
      log(`prepare failed, done here instead: ${outcome.error}`);
      return { kind: 'nothing' };
  }
}
