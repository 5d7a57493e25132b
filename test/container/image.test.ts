/**
 * The Hearth image, for real: a private dockerd (no bridge, no firewall changes), a base image
 * (the official one if a registry answers, else docker/make-local-base.sh), the image built from
 * the committed tree through Compose, then run through Compose with host networking on free
 * loopback ports, and checked through those ports. Everything it started is removed at the end,
 * and the last test proves it. Runs after every other test (its own vitest project; see
 * vitest.config.ts and test/container/README.md), on the base and the image its project's
 * globalSetup built in the background meanwhile (prepare.ts), where it could.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir, statfs, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts, makeTempDir, runProgram, runProgramOk, runTranscript, waitFor, type ProgramOptions, type ProgramResult, type TempDir } from '@hearth/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { serviceChecks, type CheckContext } from './checks.js';
import { composeService, hostNetworkVariant, listenersOf, loopbackConfig, serviceNamesOf, type Listener } from './compose-files.js';
import { foldersOf } from './background.js';
import { alive, mountsUnder, reapStaleEngines, startEngine, type Engine } from './engine.js';
import { whyDockerCannotRun } from './exec.js';
import { awaitPrepared } from './prepare.js';
import { archiveTree, boundUdpPorts, composeEnvironment, containerState, describeState, ensureTools, imageIds, pickBase, processesIn, type ContainerState } from './support.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const started = Date.now();
const log = (line: string) => process.stdout.write(`[container ${Math.round((Date.now() - started) / 1000)}s] ${line}\n`);
const cannotRun = whyDockerCannotRun();

if (cannotRun !== null) {
  if (process.env.CI) {
    it(`the container test runs in CI (it cannot here: ${cannotRun})`, () => {
      throw new Error(`Docker cannot run on this CI machine: ${cannotRun}`);
    });
  } else {
    process.stdout.write(`container test skipped: ${cannotRun}\n`);
    it.skip(`the container test (skipped: ${cannotRun})`, () => {});
  }
} else {
  describe('the Hearth image, built from the committed tree, under Compose', () => {
    let engine: Engine | undefined;
    let work: TempDir | undefined;
    let composeCmd: readonly string[] = [];
    let composeEnv: NodeJS.ProcessEnv = {};
    let variantFile = '';
    let projectDir = '';
    let imagesBefore: string[] = [];
    let volumesBefore: string[] = [];
    let graceMs = 0;
    let listeners: Listener[] = [];
    const ports = new Map<string, number>();
    const portOf = (service: string, listener: string): number => {
      const p = ports.get(`${service}.${listener}`);
      if (p === undefined) throw new Error(`no listener ${listener} in service ${service} of docker/hearth.yaml`);
      return p;
    };
    let ctx: CheckContext;
    /** The background cgroup of the preparation's build, if it built the image. */
    let buildCgroup: string | undefined;

    const docker = (args: readonly string[], options?: ProgramOptions): Promise<ProgramResult> => {
      if (engine === undefined) throw new Error('no engine');
      return engine.docker(args, options);
    };
    /** Compose's command and its arguments for `args`, aimed at the project under test. */
    const composeLine = (args: readonly string[]): [string, string[]] => {
      const [cmd = 'docker-compose', ...pre] = composeCmd;
      return [cmd, [...pre, '--project-directory', projectDir, '-f', variantFile, ...args]];
    };
    const compose = (args: readonly string[], options: ProgramOptions = {}): Promise<ProgramResult> => runProgram(...composeLine(args), { ...options, env: composeEnv });
    const composeOk = (args: readonly string[], options: ProgramOptions = {}): Promise<string> => runProgramOk(...composeLine(args), { ...options, env: composeEnv });
    const dockerOk = (args: readonly string[]): Promise<string> => {
      if (engine === undefined) throw new Error('no engine');
      return runProgramOk('docker', args, { env: engine.env });
    };
    const volumeNames = async () => (await dockerOk(['volume', 'ls', '-q'])).split('\n').filter(Boolean).sort();

    /**
     * Wait until the container is healthy. Fails at once, with its state and the end of its log,
     * when its main process ends (the restart policy brings it back, so "restarting" or a restart
     * count says so), and, within the test's time, with the health check's last outputs when it
     * never becomes healthy.
     */
    const waitHealthy = async () => {
      let last: ContainerState | undefined;
      const ended = (s: ContainerState) => s.status !== 'running' || s.restarts > 0;
      const why = async (what: string, state: ContainerState | undefined) => {
        const logs = await docker(['logs', '--tail', '40', 'hearth']);
        const checks = state?.checks.slice(-3) ?? [];
        // The volume lives in the engine's data root: a full disk would end the supervisor too.
        const room = await statfs(engine!.dataRoot).then((s) => `${((s.bavail * s.bsize) / 2 ** 30).toFixed(1)} GiB free`, (err: Error) => err.message);
        return new Error(
          [
            `${what}: ${state === undefined ? 'no state' : describeState(state)}; the engine's data root (the volume's disk): ${room}`,
            ...(checks.length > 0 ? ['the last health checks:', ...checks] : []),
            'the end of its log:',
            logs.stdout + logs.stderr,
          ].join('\n'),
        );
      };
      try {
        await waitFor(
          async () => {
            last = await containerState(engine!, 'hearth');
            return ended(last) || last.health === 'healthy';
          },
          { timeout: 100_000, interval: 250, what: 'the container to become healthy' },
        );
      } catch (err) {
        throw await why((err as Error).message, last);
      }
      if (last !== undefined && ended(last)) throw await why("the container's main process ended", last);
    };

    /** Remove what the test made, keep the engine: containers, volumes, every image not there before. */
    const removeContainers = async () => {
      if (engine === undefined || variantFile === '') return;
      await compose(['down', '--volumes', '--rmi', 'all', '--timeout', '30'], { timeoutMs: 120_000 });
      // A kept data root keeps the build stages as the next run's layer cache.
      if (keepCache) return;
      // Untagged build stages (and their layers): whatever is not in the list from before the build.
      for (let round = 0; round < 5; round += 1) {
        const extra = (await imageIds(engine!)).filter((id) => !imagesBefore.includes(id));
        if (extra.length === 0) break;
        await docker(['rmi', '--force', ...extra]);
      }
    };
    const cache = process.env.HEARTH_CONTAINER_TEST_CACHE;
    const keepCache = cache !== undefined && cache !== '';
    let teardown: Promise<void> | null = null;
    const tearDown = () =>
      (teardown ??= (async () => {
        await removeContainers().catch((err: Error) => log(`cleanup: ${err.message}`));
        await engine?.stop();
        await work?.remove();
      })());

    beforeAll(async () => {
      const reaped = await reapStaleEngines();
      if (reaped.length > 0) log(`removed engines left by killed runs: ${reaped.join(', ')}`);
      // The packages, and the image or the stand-in base's parts, made while the suite ran (prepare.ts).
      const prepared = await awaitPrepared(inject('containerPrepare'), log);
      composeCmd = await ensureTools(log);
      work = await makeTempDir('hearth-container-');
      ctx = {
        port: portOf,
        user: 'alice',
        password: 'Secret-1',
        work: work.path,
        delivered: [],
        exec: (argv) => composeOk(['exec', '-T', 'hearth', ...argv]),
        services: serviceNamesOf(await readFile(join(repo, 'docker/hearth.yaml'), 'utf8')),
      };

      const built = prepared.kind === 'built' ? prepared : undefined;
      buildCgroup = built?.cgroup;
      engine = await startEngine(keepCache ? { dataRoot: cache } : built !== undefined ? { dataRoot: built.dataRoot, removeDataRoot: true } : {});
      log(`dockerd ${engine.pid} ready (data root ${keepCache ? `${cache}, kept with the base and the build cache` : built !== undefined ? `${built.dataRoot}, the preparation's, removed at the end` : 'private, removed at the end'})`);
      const base = built?.base ?? (await pickBase(engine, repo, log, { fetched: prepared.kind === 'fetched' ? prepared.dir : undefined }));

      // The committed tree, as CI has it: `git archive HEAD`, so nothing uncommitted slips in.
      let src = built?.src;
      if (src === undefined) {
        src = join(work.path, 'src');
        await archiveTree(repo, src);
      }
      const dirty = (await runProgramOk('git', ['-C', repo, 'status', '--porcelain', '--untracked-files=no'])).trim();
      if (dirty !== '') log('note: the working tree has uncommitted changes; the image is built from HEAD without them');
      projectDir = join(src, 'docker');

      const hearthYaml = await readFile(join(projectDir, 'hearth.yaml'), 'utf8');
      listeners = listenersOf(hearthYaml);
      const picked = await freePorts(listeners.map((l) => l.protocol));
      listeners.forEach((l, i) => ports.set(`${l.service}.${l.name}`, picked[i]!));
      const configFile = join(work.path, 'hearth.yaml');
      await writeFile(configFile, loopbackConfig(hearthYaml, (l) => ctx.port(l.service, l.name)), { mode: 0o644 });
      const composeYaml = await readFile(join(projectDir, 'docker-compose.yml'), 'utf8');
      graceMs = parseDuration(String(composeService(composeYaml).service.stop_grace_period ?? '10s'));
      variantFile = join(work.path, 'compose.host.yml');
      await writeFile(variantFile, hostNetworkVariant(composeYaml, { configPath: configFile, healthInterval: '1s' }));

      composeEnv = composeEnvironment(engine, base);
      imagesBefore = built !== undefined ? [...built.imagesBefore] : await imageIds(engine);
      volumesBefore = await volumeNames();
      // The file itself, as a user has it, must be valid (ports and all).
      await runProgramOk(composeCmd[0] ?? 'docker-compose', [...composeCmd.slice(1), '--project-directory', projectDir, 'config', '-q'], { env: composeEnv });
      log(`compose build on ${base} (${composeCmd.join(' ')})`);
      const t0 = Date.now();
      await composeOk(['build'], { timeoutMs: 1_800_000, stopWithThisProcess: true });
      log(`built in ${Math.round((Date.now() - t0) / 1000)}s${built !== undefined ? ' (the layers the preparation built)' : ''}`);
    }, 2_700_000);

    afterAll(tearDown, 120_000);

    it('starts as the container hearth of the project hearth, on the volume hearth-data, and becomes healthy', async () => {
      await composeOk(['up', '-d']);
      await waitHealthy();
      const format = '{{index .Config.Labels "com.docker.compose.project"}} {{range .Mounts}}{{if eq .Type "volume"}}{{.Name}}:{{.Destination}}{{end}}{{end}}';
      expect((await dockerOk(['inspect', '-f', format, 'hearth'])).trim()).toBe('hearth hearth-data:/var/lib/hearth');
      const mem = (await dockerOk(['stats', '--no-stream', '--format', '{{.MemUsage}}', 'hearth'])).trim();
      const node = (await ctx.exec(['node', '--version'])).trim();
      log(`healthy; memory ${mem}; node ${node}`);
    });

    it('binds every listener of docker/hearth.yaml', async () => {
      const udp = await boundUdpPorts();
      for (const l of listeners) {
        const port = ctx.port(l.service, l.name);
        if (l.protocol === 'udp') expect(udp, `${l.service}.${l.name} on 127.0.0.1:${port}/udp`).toContain(port);
        else await expect(connects(port), `${l.service}.${l.name} on 127.0.0.1:${port}`).resolves.toBe(true);
      }
    });

    it('runs an init as PID 1, the supervisor as root and every service as hearth', async () => {
      const procs = await processesIn((args) => composeOk(['exec', '-T', 'hearth', ...args]));
      const pid1 = procs.find((p) => p.pid === 1);
      expect(pid1?.cmd, 'PID 1').toMatch(/^(\/sbin\/docker-init|\S*tini)\b/);
      // The health check (`docker exec` of healthcheck.mjs, every second here) runs as root: it
      // asks the supervisor over its root-only control socket.
      const nodes = procs.filter((p) => /(^|\/)node /.test(p.cmd) && !p.cmd.includes('/docker/healthcheck.mjs'));
      expect(nodes.filter((p) => /cli\/dist\/main\.js up/.test(p.cmd)).map((p) => p.uid)).toEqual([0]);
      const services = serviceNamesOf(await readFile(join(projectDir, 'hearth.yaml'), 'utf8'));
      for (const svc of services) expect(nodes.some((p) => p.cmd.includes(`/services/${svc}/`) && p.uid === 10025), `${svc} as uid 10025`).toBe(true);
      const others = nodes.filter((p) => !/cli\/dist\/main\.js up/.test(p.cmd) && p.uid !== 10025);
      expect(others, 'node processes neither the supervisor nor run as hearth').toEqual([]);
    });

    it('has a check for every service of docker/hearth.yaml', async () => {
      const services = serviceNamesOf(await readFile(join(projectDir, 'hearth.yaml'), 'utf8'));
      expect(services.filter((s) => serviceChecks[s] === undefined)).toEqual([]);
    });

    it('serves a user added with compose exec: mail over SMTP, read over POP3 and POP3S', async () => {
      await composeOk(['exec', '-T', 'hearth', 'hearth', 'user', 'add', ctx.user, '--password-stdin'], { input: `${ctx.password}\n` });
      for (const check of Object.values(serviceChecks)) await check.use(ctx);
    });

    it('stops within the grace period with exit code 0; a POP3 session that says QUIT during the stop gets +OK', async () => {
      const socket = net.connect(ctx.port('pop3', 'pop3'), '127.0.0.1');
      await runTranscript(socket, [[null, /^\+OK/m], [`USER ${ctx.user}`, /^\+OK/m], [`PASS ${ctx.password}`, /^\+OK/m], ['STAT', /^\+OK \d+/m]]);
      const t0 = Date.now();
      const follow = followLogs(engine!, t0, /"msg":"stopping"/, /"svc":"pop3"/);
      const stopping = compose(['stop'], { timeoutMs: graceMs + 30_000 });
      await follow.seen;
      const [quit] = await runTranscript(socket, [['QUIT', /^[+-]/m]]);
      socket.destroy();
      const stopped = await stopping;
      const ms = Date.now() - t0;
      expect(quit).toMatch(/^\+OK/);
      expect(stopped.code, stopped.stderr).toBe(0);
      expect(ms).toBeLessThan(graceMs);
      expect((await dockerOk(['inspect', '-f', '{{.State.ExitCode}}', 'hearth'])).trim()).toBe('0');
      const logs = await docker(['logs', '--since', new Date(t0).toISOString(), 'hearth']);
      expect(logs.stdout + logs.stderr).toMatch(/"clean":true,"msg":"supervisor stopped"/);
      log(`compose stop: exit code 0 in ${ms} ms (grace period ${graceMs} ms)`);
    });

    it('comes up again with the mail still there', async () => {
      await composeOk(['up', '-d']);
      await waitHealthy();
      for (const check of Object.values(serviceChecks)) await check.kept(ctx);
    });

    it('removes everything it started: containers, volumes, images and build stages, dockerd, its mounts and data root, the build\'s cgroup', async () => {
      const e = engine!;
      await removeContainers();
      expect((await dockerOk(['ps', '-aq'])).trim()).toBe('');
      expect(await volumeNames()).toEqual(volumesBefore);
      if (keepCache) expect((await dockerOk(['images', '-q', 'hearth'])).trim(), 'the hearth image').toBe('');
      else expect(await imageIds(e)).toEqual(imagesBefore);
      await tearDown();
      expect(alive(e.pid), `dockerd ${e.pid}`).toBe(false);
      expect(await mountsUnder(e.dir)).toEqual([]);
      expect(await mountsUnder(e.dataRoot)).toEqual([]);
      expect(existsSync(e.dir)).toBe(false);
      if (!keepCache) expect(existsSync(e.dataRoot), `the data root ${e.dataRoot}`).toBe(false);
      if (buildCgroup !== undefined) expect(await foldersOf(buildCgroup), 'the cgroup folders of the background build').toEqual([]);
      const left = await processesMentioning(e.dir);
      expect(left, 'processes still using the engine folder (containerd, shims)').toEqual([]);
    });
  });
}

function parseDuration(text: string): number {
  const m = /^(\d+)(ms|s|m)$/.exec(text.trim());
  if (m === null) throw new Error(`stop_grace_period: cannot read ${JSON.stringify(text)}`);
  return Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Follow the container's log from `since` (ms) until a line matches every pattern. */
function followLogs(engine: Engine, since: number, ...patterns: RegExp[]): { readonly seen: Promise<void> } {
  const child = spawn('docker', ['logs', '-f', '--since', new Date(since).toISOString(), 'hearth'], { env: engine.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const seen = new Promise<void>((resolve, reject) => {
    let buffer = '';
    const onData = (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      if (lines.some((line) => patterns.every((p) => p.test(line)))) {
        child.kill();
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', () => reject(new Error(`the container log ended without a line matching ${patterns.join(' and ')}`)));
  });
  return { seen };
}

async function processesMentioning(text: string): Promise<string[]> {
  const out: string[] = [];
  for (const pid of (await readdir('/proc')).filter((n) => /^\d+$/.test(n))) {
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(text)) out.push(`${pid} ${cmd.replaceAll('\0', ' ')}`);
  }
  return out;
}
