/**
 * `hearth files` without --config describes the suite running on the data dir: the config file
 * its supervisor was started with, or the embedded default; an older supervisor, which does not
 * know the `config` verb, gets the embedded default described with a note.
 */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { openSuiteAccounts } from '@hearth/accounts';
import { makeTempDir, runProgram, type TempDir } from '@hearth/testkit';
import { hearth, startUp, stopAll, waitState, type Up } from '@hearth/testkit/hearth-up';
import { fakeControlSocket } from './fake-control.js';

let dir: TempDir | undefined;
let fake: Server | undefined;
afterEach(async () => {
  await stopAll();
  await new Promise<void>((resolve) => (fake ? fake.close(() => resolve()) : resolve()));
  fake = undefined;
  await dir?.remove();
  dir = undefined;
});

async function addAlice(data: string): Promise<void> {
  const accounts = await openSuiteAccounts(data, { passwordParams: { ln: 10, r: 8, p: 1 } });
  await accounts.add('alice', 'alice-password-1');
  await accounts.close();
}

/** The port the running files service's listener `name` got. */
async function portOf(up: Up, name: string): Promise<number> {
  return (await waitState(up, 'files', 'running')).listeners.find((l) => l.name === name)!.port;
}

/** A control socket on DATA/hearth.sock that answers each request with `reply`, and the requests it got. */
async function answering(data: string, reply: unknown): Promise<string[]> {
  const control = await fakeControlSocket(data, reply);
  fake = control.server;
  return control.requests;
}

it("without --config prints the running suite's listeners and certificate, and names its config file", async () => {
  dir = await makeTempDir('hearth-files-running-');
  const cert = join(dir.path, 'cert.pem');
  const key = join(dir.path, 'key.pem');
  const made = await runProgram('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,DNS:files.test']);
  expect(made.code).toBe(0);
  const up = await startUp(
    `tls: { cert: ${cert}, key: ${key} }
services:
  files:
    service: files
    listen:
      secure: { address: 127.0.0.1, port: 0, tls: true }
      web: { address: 127.0.0.1, port: 0 }
`,
    { dir },
  );
  dir = undefined;
  await addAlice(up.data);
  const https = await portOf(up, 'secure');
  const http = await portOf(up, 'web');

  const r = await up.cli('files', '--user', 'alice');
  expect(r.stderr).toBe(`hearth files: the steps describe ${up.configFile}, the config file of the suite running on ${up.data}\n`);
  expect(r.code).toBe(0);
  expect(r.stdout.split('\n').slice(0, 4)).toEqual([
    'Files for alice',
    `  https://localhost:${https}/home/   your private folder`,
    `  https://localhost:${https}/        lists the shares you may use (each at https://localhost:${https}/<share>/)`,
    `  http://127.0.0.1:${http}/ plain HTTP, for programs on this machine only`,
  ]);
  expect(r.stdout).toContain(`The server presents the configured certificate:\n  ${cert}\n`);
  expect(r.stdout).not.toMatch(/2443|2080|self-signed/);
  // --config of the same file: the same steps, and nothing to say of where they come from.
  const given = await up.cli('files', '--user', 'alice', '--config', up.configFile);
  expect(given.stderr).toBe('');
  expect(given.stdout).toBe(r.stdout);
}, 60_000);

it("on a suite running a config file, the certificate warning's fix is tls.names in that file and a reload", async () => {
  const up = await startUp(`tls: { names: [files.test] }\nservices:\n  files:\n    service: files\n    listen: { https: { address: 127.0.0.1, port: 0, tls: true } }\n`);
  await addAlice(up.data);
  const port = await portOf(up, 'https');
  const r = await up.cli('files', '--user', 'alice', '--host', 'other.test');
  expect(r.code).toBe(0);
  expect(r.stdout.split('\n').slice(0, 3)).toEqual([
    'Warning: the certificate does not name other.test, so clients will refuse to connect',
    'to it, even once they trust the certificate. To fix it, either add other.test to tls.names',
    'in the suite config and run hearth reload (the suite then makes a new certificate, which',
  ]);
  expect(r.stdout).toContain(`  https://other.test:${port}/home/   your private folder\n`);
  expect(r.stdout).toContain(`  ${join(up.data, 'tls', 'self-signed', 'cert.pem')}\n`);
  expect(r.stdout).not.toContain('hearth.yaml holding only');
}, 60_000);

it('on a supervisor that runs the embedded default, describes it, and its warning says to write a config file', async () => {
  dir = await makeTempDir('hearth-files-embedded-');
  const data = join(dir.path, 'data');
  mkdirSync(data);
  await addAlice(data);
  const requests = await answering(data, { done: true, ok: true, result: { file: null } });
  const r = await hearth(['files', '--user', 'alice', '--host', '127.0.0.3', '--data', data]);
  expect(requests).toEqual(['{"verb":"config"}']);
  expect(r.stderr).toBe(`hearth files: the steps describe the embedded default config, which the suite running on ${data} runs\n`);
  expect(r.code).toBe(0);
  expect(r.stdout.split('\n').slice(2, 4)).toEqual(['in a config file (the suite runs on its embedded default config, which has none): write', 'hearth.yaml holding only']);
  expect(r.stdout).toContain('  https://127.0.0.3:2443/home/   your private folder\n');
});

it('on an older supervisor, which does not know the config verb, describes the embedded default with a note', async () => {
  dir = await makeTempDir('hearth-files-older-');
  const data = join(dir.path, 'data');
  mkdirSync(data);
  await addAlice(data);
  await answering(data, { done: true, ok: false, error: 'unknown verb "config"' });
  const r = await hearth(['files', '--user', 'alice', '--host', '127.0.0.3', '--data', data]);
  expect(r.code).toBe(0);
  expect(r.stderr).toBe(
    `hearth files: note: the supervisor running on ${data} did not say which config it runs (unknown verb "config"): the steps describe the embedded default config (--config FILE describes another)\n`,
  );
  expect(r.stdout).toContain('  https://127.0.0.3:2443/home/   your private folder\n');
  // Which config it runs is not known: the warning's fix is not the one for the embedded default.
  expect(r.stdout).toContain('in the suite config and run hearth reload');
  expect(r.stdout).not.toContain('hearth.yaml holding only');
});

it('names the running suite\'s config file when it can no longer be read, with the problem and exit 78', async () => {
  dir = await makeTempDir('hearth-files-gone-');
  const data = join(dir.path, 'data');
  mkdirSync(data);
  const gone = join(dir.path, 'moved-away.yaml');
  await answering(data, { done: true, ok: true, result: { file: gone } });
  const r = await hearth(['files', '--user', 'alice', '--data', data]);
  expect(r.code).toBe(78);
  expect(r.stdout).toBe('');
  expect(r.stderr).toBe(
    `hearth files: ${gone} is the config file of the suite running on ${data}, read again here (--config FILE describes another)\nhearth files: ${gone}: no such file\n`,
  );
});
