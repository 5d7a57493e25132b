/**
 * Hearth under test: `hearth up` with a temp data dir and a config holding only the smtp service
 * (its MX listener on a loopback port), users created with `hearth user add --password-stdin`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../packages/cli/dist/main.js', import.meta.url));

function waitForPort(port, ms) {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = connect({ port, host: '127.0.0.1' });
      socket.once('data', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > until) reject(new Error(`hearth did not listen on ${port} within ${ms} ms`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

export async function startHearth({ port, users }) {
  const root = await mkdtemp(join(tmpdir(), 'hearth-bench-'));
  const data = join(root, 'data');
  const config = join(root, 'hearth.yaml');
  await writeFile(
    config,
    [
      `data: ${JSON.stringify(data)}`,
      'log: { level: warn }',
      'mail: { domains: [localhost] }',
      'services:',
      '  smtp:',
      '    service: smtp',
      '    listen:',
      `      mx: { address: 127.0.0.1, port: ${port} }`,
      '',
    ].join('\n'),
  );
  for (const user of users) {
    const added = spawnSync(process.execPath, [CLI, 'user', 'add', user, '--password-stdin', '--data', data], {
      input: 'bench-password\n',
      encoding: 'utf8',
    });
    if (added.status !== 0) throw new Error(`hearth user add ${user}: ${added.stderr}`);
  }
  const child = spawn(process.execPath, [CLI, 'up', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  try {
    await Promise.race([
      waitForPort(port, 15_000),
      exited.then(({ code }) => {
        throw new Error(`hearth up exited (${code}) before listening: ${stderr}`);
      }),
    ]);
  } catch (error) {
    child.kill('SIGTERM');
    await rm(root, { recursive: true, force: true });
    throw error;
  }
  return {
    name: 'hearth',
    port,
    dataDir: data,
    pid: child.pid,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(root, { recursive: true, force: true });
    },
  };
}
