/**
 * The service definition as the runtime starts it: the store in DATA/mail, the suite's generated
 * self-signed certificate (DATA/tls/self-signed/cert.pem) for STARTTLS, and a bad configured
 * certificate refused as a config error.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@hearth/log';
import { openSuiteAccounts } from '@hearth/accounts';
import { openMailStore } from '@hearth/mail-store';
import { LocalBus, ServiceConfigError, type ServiceListener } from '@hearth/runtime';
import { generatedTlsPaths } from '@hearth/tls';
import { definition, mailDir, settingsSchema } from '@hearth/smtp';
import { loopbackListener, python } from './harness.js';

let dataDir: string | undefined;
afterEach(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

function context(dir: string, listeners: Map<string, ServiceListener>, tls: { cert?: string; key?: string } = {}) {
  const log = createLogger({ svc: 'smtp', level: 'silent' });
  return {
    name: 'smtp',
    settings: settingsSchema.parse({}),
    suite: { dataDir: dir, mail: { domains: ['localhost'] }, tls },
    log,
    listeners,
    bus: new LocalBus('smtp', log),
  };
}

describe('definition', () => {
  it('has the manifest: kind smtp, defaults for every setting, loopback default listeners', () => {
    expect(definition.kind).toBe('smtp');
    expect(settingsSchema.parse({})).toMatchObject({
      maxMessageSize: 25_000_000,
      maxRecipients: 100,
      idleTimeout: 300_000,
      greetingDelay: 0,
    });
    expect(definition.defaultListeners.map((l) => [l.name, l.address, l.port, l.tls])).toEqual([
      ['mx', '127.0.0.1', 2025, false],
      ['submission', '127.0.0.1', 2587, false],
      ['smtps', '127.0.0.1', 2465, true],
    ]);
    expect(() => settingsSchema.parse({ maxMesageSize: 1 })).toThrow(/maxMesageSize/);
    expect(settingsSchema.parse({ maxMessageSize: '10MB', idleTimeout: '30s' })).toMatchObject({
      maxMessageSize: 10_000_000,
      idleTimeout: 30_000,
    });
  });

  it('starts on the real store with the generated certificate, and submits over STARTTLS', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'hearth-smtp-def-'));
    const store = await openMailStore({ dir: mailDir(dataDir) });
    store.addMaildrop('carol');
    const accounts = await openSuiteAccounts(dataDir, { passwordParams: { ln: 10, r: 8, p: 1 } });
    await accounts.add('carol', 'carol-pw');
    await accounts.close();
    const submission = loopbackListener('submission');
    let server: Server | undefined;
    const listener: ServiceListener = { ...submission, listen: (s) => ((server = s), submission.listen(s)) };
    const running = await definition.start(context(dataDir, new Map([['submission', listener]])));
    try {
      const port = (server!.address() as AddressInfo).port;
      const result = await python(
        `s = smtplib.SMTP(HOST, PORT, timeout=10)
s.starttls(context=ctx())
s.login("carol", "carol-pw")
out(s.sendmail("carol@localhost", ["carol@localhost"], "Subject: self-signed\\r\\n\\r\\nhi\\r\\n"))`,
        { port, ca: generatedTlsPaths(dataDir).certFile },
      );
      expect(result).toEqual({});
      expect(store.listMessages('carol')).toHaveLength(1);
    } finally {
      await running.stop(Date.now() + 1000);
      await store.close();
    }
  });

  it('refuses a configured certificate that does not exist as a config error', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'hearth-smtp-def-'));
    const listeners = new Map([['mx', loopbackListener('mx')]]);
    await expect(
      definition.start(context(dataDir, listeners, { cert: join(dataDir, 'nope.pem'), key: join(dataDir, 'nope-key.pem') })),
    ).rejects.toBeInstanceOf(ServiceConfigError);
  });

  it('refuses a listener without a role as a config error', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'hearth-smtp-def-'));
    const listeners = new Map([['intake', loopbackListener('intake')]]);
    await expect(definition.start(context(dataDir, listeners))).rejects.toThrow(/listener "intake" has no role/);
  });
});
