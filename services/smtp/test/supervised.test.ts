/**
 * The service under `runService` (supervised mode) over a fake IPC channel: settings parsed by
 * the runtime, the listener handed down as a bound handle, `ready`, the new-mail event leaving the
 * service as a `msg` on the channel, and a clean stop.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { openSuiteAccounts } from '@hearth/accounts';
import { openMailStore } from '@hearth/mail-store';
import {
  boundAddress,
  closeBoundHandle,
  createBoundTcpHandle,
  runService,
  type BoundHandle,
} from '@hearth/runtime';
import { MAIL_TOPICS } from '@hearth/mail-delivery';
import { definition, mailDir } from '@hearth/smtp';
import { FakeSupervisorChannel } from '@hearth/testkit';
import { python } from './harness.js';

let dataDir: string | undefined;
let handle: BoundHandle | undefined;
afterEach(async () => {
  if (handle) await closeBoundHandle(handle);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  handle = undefined;
  dataDir = undefined;
});

describe('supervised', () => {
  it('runs under runService: ready, mail delivered, event sent to the supervisor, stop exits 0', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'hearth-smtp-sup-'));
    const store = await openMailStore({ dir: mailDir(dataDir) });
    store.addMaildrop('dave');
    const accounts = await openSuiteAccounts(dataDir, { passwordParams: { ln: 10, r: 8, p: 1 } });
    await accounts.add('dave', 'dave-pw');
    await accounts.close();
    handle = createBoundTcpHandle('127.0.0.1', 0);
    const { port } = boundAddress(handle);
    const channel = new FakeSupervisorChannel();
    const quiet = new Writable({ write: (_c, _e, cb) => cb() });
    const exit = runService(definition, { channel, processHooks: false, env: {}, logDestination: quiet });
    const spec = { name: 'mx', protocol: 'tcp' as const, address: '127.0.0.1', port, tls: false };
    channel.deliver({
      t: 'init',
      service: 'smtp',
      kind: 'smtp',
      settings: { maxMessageSize: '1MB' },
      suite: { dataDir, mail: { domains: ['localhost'] }, tls: {} },
      logLevel: 'silent',
      listeners: [spec],
    });
    channel.deliver({ t: 'listener', name: 'mx', index: 0 }, handle);
    channel.deliver({ t: 'start' });
    await channel.next((m) => m.t === 'ready' || m.t === 'failed');
    expect(channel.sent.map((m) => m.t)).toContain('ready');

    const features = await python(
      `s = smtplib.SMTP(HOST, PORT, timeout=10)
s.ehlo("c.example")
size = s.esmtp_features.get("size")
s.sendmail("x@example.org", ["dave@localhost"], "Subject: supervised\\r\\n\\r\\nhi\\r\\n")
s.quit()
out(size)`,
      { port },
    );
    expect(features).toBe('1000000');
    const event = await channel.next((m) => m.t === 'msg' && m.topic === MAIL_TOPICS.delivered);
    const stored = store.listMessages('dave');
    expect(event).toEqual({
      t: 'msg',
      topic: MAIL_TOPICS.delivered,
      payload: { source: 'hearth', user: 'dave', maildrop: 'INBOX', messageId: stored[0]!.messageId, uid: stored[0]!.uid, uidl: stored[0]!.uidl, size: stored[0]!.size },
    });

    channel.deliver({ t: 'stop', deadlineMs: 1000 });
    expect(await exit).toBe(0);
    handle = undefined; // the service's server closed it (a real supervisor keeps its own copy)
    await store.close();
  });
});
