/**
 * The control socket at the socket level: half-closed requests are answered, idle connections
 * closed; its mode is 0600, or 0660 with the config's control group. The `config` verb of a real
 * supervisor, on a config file and on the embedded default.
 */
import { connect, type Socket } from 'node:net';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '@hearth/config';
import { createLogger } from '@hearth/log';
import { ControlServer, SOCKET_NAME, Supervisor, controlRequest, loadSuiteConfigIsolated, parseSuiteConfig, type ControlHandler } from '@hearth/supervisor';
import { FIXTURE_KINDS, makeTempDir, type TempDir } from '@hearth/testkit';
import { fixtureEntry, startUp, stopAll } from '@hearth/testkit/hearth-up';

let dir: TempDir | undefined;
let server: ControlServer | undefined;
let sup: Supervisor | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  await sup?.shutdown('test over');
  sup = undefined;
  await stopAll();
  await dir?.remove();
  dir = undefined;
});

const handler: ControlHandler = {
  handle: (request) => Promise.resolve({ verb: request.verb }),
  follow: () => () => {},
};

/** Everything the server writes until it closes the connection. */
function readAll(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.once('close', () => resolve(text));
    socket.once('error', reject);
  });
}

async function start(requestTimeoutMs?: number, group?: number): Promise<string> {
  dir = await makeTempDir('control-');
  const path = join(dir.path, 'hearth.sock');
  server = await ControlServer.listen(path, handler, { ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }), ...(group === undefined ? {} : { group }) });
  return path;
}

describe('control socket', () => {
  it('answers a client that half-closes after its request, with or without the newline (socat, nc -N)', async () => {
    const path = await start();
    for (const request of ['{"verb":"status"}\n', '{"verb":"status"}']) {
      const socket = connect(path);
      const reply = readAll(socket);
      socket.end(request);
      expect(JSON.parse((await reply).trim())).toEqual({ done: true, ok: true, result: { verb: 'status' } });
    }
  });

  it('closes a connection that sends no request in time', async () => {
    const path = await start(300);
    const socket = connect(path);
    const started = Date.now();
    socket.write('{"verb":');
    expect(await readAll(socket)).toBe('');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('is 0600 by default, and 0660 owned by the control group when the config names one', async () => {
    const own = await start();
    expect(statSync(own).mode & 0o777).toBe(0o600);
    await server!.close();
    await dir!.remove();
    const gid = process.getgid!();
    const shared = await start(undefined, gid);
    const st = statSync(shared);
    expect(st.mode & 0o777).toBe(0o660);
    expect(st.gid).toBe(gid);
  });

  it('reads control.group from the config as a gid, and names a group that does not exist', async () => {
    const cfg = await parseSuiteConfig('control: { group: root }\n', '/c/h.yaml');
    expect(cfg.control?.group).toEqual({ name: 'root', gid: 0 });
    const err = await parseSuiteConfig('control: { group: no-such-group-here }\n', '/c/h.yaml').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toBe('/c/h.yaml:1:19: control.group: group "no-such-group-here": no such group');
  });
});

describe('config verb', () => {
  it('answers the config file hearth up was given, the same after a reload', async () => {
    const up = await startUp(`services:\n${fixtureEntry('fix')}`);
    expect(await up.request({ verb: 'config' })).toEqual({ file: up.configFile });
    expect(await up.request({ verb: 'reload' })).toMatchObject({ unchanged: ['fix'], failed: [] });
    expect(await up.request({ verb: 'config' })).toEqual({ file: up.configFile });
  });

  it('answers null for the embedded default', async () => {
    dir = await makeTempDir('hearth-config-verb-');
    const config = await loadSuiteConfigIsolated(undefined, FIXTURE_KINDS);
    const log = createLogger({ svc: 'supervisor', level: 'silent' });
    const data = join(dir.path, 'data');
    sup = await Supervisor.open({ config, registry: FIXTURE_KINDS, dataDir: data, log, logLevel: 'silent', lifeline: false });
    expect(await controlRequest(join(data, SOCKET_NAME), { verb: 'config' }, { timeoutMs: 5000 })).toEqual({ file: null });
  });

  it('refuses a config request with another field, naming it, and takes one without', async () => {
    const path = await start();
    const refused = connect(path);
    const refusal = readAll(refused);
    refused.end('{"verb":"config","name":"files"}\n');
    expect(JSON.parse((await refusal).trim())).toEqual({ done: true, ok: false, error: 'config: takes no "name" (the suite has one config file)' });
    const taken = connect(path);
    const answer = readAll(taken);
    taken.end('{"verb":"config"}\n');
    expect(JSON.parse((await answer).trim())).toEqual({ done: true, ok: true, result: { verb: 'config' } });
  });
});
