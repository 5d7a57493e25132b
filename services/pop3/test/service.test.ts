/** The service definition as the runtime starts it: real store in DATA/mail, suite TLS, both listeners. */
import { mkdtempSync, readFileSync } from 'node:fs';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@hearth/log';
import { openSuiteAccounts } from '@hearth/accounts';
import { openMailStore } from '@hearth/mail-store';
import { defaultSettings, definition } from '@hearth/pop3';
import { LocalBus, ownListener, type RunningService, type ServiceListener } from '@hearth/runtime';
import { generatedTlsPaths } from '@hearth/tls';
import { LineClient, removeDir, transcript, type Cert } from './helpers.js';

let dir: string;
let running: RunningService<unknown> | undefined;
const ports = new Map<string, number>();

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

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pop3-service-'));
  const store = await openMailStore({ dir: join(dir, 'mail') });
  store.addMaildrop('alice');
  const accounts = await openSuiteAccounts(dir);
  await accounts.add('alice', 'secret');
  await accounts.close();
  await store.deliver({ recipients: ['alice'], body: 'Subject: hi\r\n\r\nhello\r\n' });
  await store.close();
  const log = createLogger({ svc: 'pop3', level: 'silent' });
  const listeners = new Map(
    definition.defaultListeners.map((spec) => [spec.name, capturing(ownListener({ ...spec, port: 0 }))] as const),
  );
  running = (await definition.start({
    name: 'pop3',
    settings: defaultSettings(),
    suite: { dataDir: dir, mail: { domains: ['localhost'] }, tls: {} },
    log,
    listeners,
    bus: new LocalBus('pop3', log),
  })) as RunningService<unknown>;
});

afterAll(async () => {
  await running?.stop(Date.now() + 1000);
  removeDir(dir);
});

describe('POP3 service definition', () => {
  it('declares pop3 on 2110 and pop3s on 2995, loopback, and parses {} to defaults', () => {
    expect(definition.kind).toBe('pop3');
    expect(definition.defaultListeners.map((l) => [l.name, l.address, l.port, l.tls])).toEqual([
      ['pop3', '127.0.0.1', 2110, false],
      ['pop3s', '127.0.0.1', 2995, true],
    ]);
    const settings = defaultSettings();
    expect(settings.autologout).toBe(600_000);
    expect(settings.allowPlaintextAuth).toBe(false);
    expect(definition.settings.safeParse({ autologout: '5m' }).success).toBe(false);
    expect(definition.settings.safeParse({ autolgout: '15m' }).success).toBe(false);
    expect(settings.credentialCheckInterval).toBe(5000);
    expect(definition.settings.safeParse({ credentialCheckInterval: '10ms' }).success).toBe(false);
    expect(definition.settings.safeParse({ credentialCheckInterval: '5m' }).success).toBe(false);
  });

  it('serves the store over STLS (suite certificate) and implicit TLS', async () => {
    const caFile = generatedTlsPaths(dir).certFile;
    const cert: Cert = { cert: readFileSync(caFile, 'utf8'), key: '', certFile: caFile };
    const plain = await LineClient.connect(ports.get('pop3')!);
    expect(await plain.line()).toMatch(/^\+OK Hearth POP3 ready <[A-Za-z0-9.]+@/);
    await transcript(plain, [['STLS', '+OK Begin TLS negotiation']]);
    await plain.startTls(cert);
    await transcript(plain, [
      ['USER alice', /^\+OK/],
      ['PASS secret', '+OK Logged in, 1 message (22 octets)'],
      ['LIST', ['+OK 1 message (22 octets)', '1 22']],
      ['DELE 1', /^\+OK/],
      ['RSET', '+OK Maildrop has 1 message (22 octets)'],
      ['QUIT', '+OK Hearth POP3 signing off (0 messages deleted)'],
    ]);
    const secure = await LineClient.connectTls(ports.get('pop3s')!, cert);
    expect(await secure.line()).toMatch(/^\+OK/);
    await transcript(secure, [
      ['USER alice', /^\+OK/],
      ['PASS secret', /^\+OK Logged in/],
      ['RETR 1', ['+OK 22 octets', 'Subject: hi', '', 'hello']],
      ['QUIT', /^\+OK/],
    ]);
  });
});
