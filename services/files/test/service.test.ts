/**
 * The service definition as the runtime starts it: default listeners (HTTP 2080, HTTPS 2443 with the
 * suite's generated certificate), shares registered in the instance's handler table, reload of
 * shares through `RunningService.reload`, and a stop that drains the table.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@hearth/log';
import { createDefinition, defaultSettings, MemoryUsers, type FilesSettings } from '@hearth/files';
import { HandlerTable, LocalBus, ownListener, type RunningService, type ServiceListener } from '@hearth/runtime';
import { generatedTlsPaths } from '@hearth/tls';
import { curl } from './helpers.js';

const definition = createDefinition(new MemoryUsers().add('alice', 'secret'));
const dir = mkdtempSync(join(tmpdir(), 'files-service-'));
const ports = new Map<string, number>();
const handlers = new HandlerTable<unknown>();
let running: RunningService<FilesSettings>;
let settings: FilesSettings;

function capturing(listener: ServiceListener): ServiceListener {
  return {
    spec: listener.spec,
    async listen(server: Server) {
      await listener.listen(server);
      ports.set(listener.spec.name, (server.address() as AddressInfo).port);
    },
    bind: (socket) => listener.bind(socket),
  };
}

const suite = { dataDir: dir, mail: { domains: ['localhost'] }, tls: {} };

beforeAll(async () => {
  mkdirSync(join(dir, 'docs'));
  writeFileSync(join(dir, 'docs', 'a.txt'), 'from docs');
  settings = definition.settings.parse({ shares: { docs: { path: 'docs', read: ['alice'] } } });
  const log = createLogger({ svc: 'files', level: 'silent' });
  const listeners = new Map(definition.defaultListeners.map((spec) => [spec.name, capturing(ownListener({ ...spec, port: 0 }))] as const));
  running = await definition.start({ name: 'files', settings, suite, log, listeners, bus: new LocalBus('files', log), handlers });
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
});

describe('files service definition', () => {
  it('declares http on 2080 and https on 2443, loopback, and parses {} to defaults', () => {
    expect(definition.kind).toBe('files');
    expect(definition.defaultListeners.map((l) => [l.name, l.address, l.port, l.tls])).toEqual([
      ['http', '127.0.0.1', 2080, false],
      ['https', '127.0.0.1', 2443, true],
    ]);
    expect(defaultSettings().propfindInfinity).toBe(false);
    const typo = definition.settings.safeParse({ shares: { docs: { path: '/x', raed: ['a'] } } });
    expect(typo.success).toBe(false);
    expect(definition.settings.safeParse({ shares: { home: { path: '/x' } } }).success).toBe(false);
  });

  it('serves shares from the handler table over HTTP and HTTPS (suite certificate)', async () => {
    expect(handlers.keys().sort()).toEqual(['home', 'share:docs']);
    const plain = await curl(['-u', 'alice:secret', `http://127.0.0.1:${ports.get('http')}/docs/a.txt`]);
    expect(plain.body).toBe('from docs');
    const ca = generatedTlsPaths(dir).certFile;
    const tls = await curl(['-u', 'alice:secret', '--cacert', ca, `https://localhost:${ports.get('https')}/docs/a.txt`]);
    expect(tls.status).toBe(200);
    expect(tls.body).toBe('from docs');
    // A URL typed without its s: told which one to use, as nginx and Apache tell it.
    const typo = await curl([`http://localhost:${ports.get('https')}/docs/a.txt`]);
    expect(typo.status).toBe(400);
    expect(typo.body).toBe(`This port speaks HTTPS: use https://localhost:${ports.get('https')}/docs/a.txt\n`);
  });

  it('applies a reload to new requests, and stops by draining', async () => {
    await running.reload!(definition.settings.parse({ home: { enabled: false } }), suite);
    expect(handlers.keys()).toEqual([]);
    expect((await curl(['-u', 'alice:secret', `http://127.0.0.1:${ports.get('http')}/docs/a.txt`])).status).toBe(404);
    const drained = await handlers.drain(Date.now() + 1000);
    await running.stop(Date.now() + 1000);
    expect(drained.drained).toBe(true);
  });
});
