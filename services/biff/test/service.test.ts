/**
 * The service under runService (supervised mode) over a fake IPC channel: the comsat listener
 * handed down as a bound UDP handle, subscriptions over the channel, a datagram from a plain UDP
 * client turning into a `mail.notify` for the subscriber, counters logged at stop, exit 0.
 */
import dgram from 'node:dgram';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import {
  boundAddress,
  closeBoundHandle,
  createBoundUdpHandle,
  runService,
  type BoundHandle,
} from '@hearth/runtime';
import { counters, definition, manifest } from '@hearth/biff';
import { FakeSupervisorChannel, waitFor } from '@hearth/testkit';

let handle: BoundHandle | undefined;
afterEach(async () => {
  if (handle) await closeBoundHandle(handle);
  handle = undefined;
});

function sendDatagram(port: number, text: string): Promise<void> {
  const socket = dgram.createSocket('udp4');
  return new Promise((resolve, reject) => {
    socket.send(Buffer.from(text), port, '127.0.0.1', (err) => {
      socket.close();
      if (err) reject(err);
      else resolve();
    });
  });
}

describe('manifest', () => {
  it('defaults: comsat on 127.0.0.1:2512/udp, classic 255-byte datagrams, every bound set', () => {
    expect(manifest.kind).toBe('biff');
    expect(manifest.defaultListeners).toEqual([{ name: 'comsat', protocol: 'udp', address: '127.0.0.1', port: 2512, tls: false }]);
    expect(manifest.settings.parse({})).toMatchObject({
      comsat: { maxDatagramSize: 255, rate: { perSecond: 500, burst: 1000 }, perSource: { perSecond: 50, burst: 100 } },
      queue: { perSubscriber: 1000 },
    });
  });

  it('is strict: unknown keys are errors', () => {
    expect(manifest.settings.safeParse({ comsat: { maxDatagramsize: 10 } }).success).toBe(false);
    expect(manifest.settings.safeParse({ queues: {} }).success).toBe(false);
  });
});

describe('supervised', () => {
  it('a datagram from a plain UDP client reaches the subscribed service as mail.notify; stop logs the counters', async () => {
    handle = createBoundUdpHandle('127.0.0.1', 0);
    const { port } = boundAddress(handle);
    const channel = new FakeSupervisorChannel();
    let logText = '';
    const logSink = new Writable({
      write: (c: Buffer, _e, cb) => {
        logText += c.toString();
        cb();
      },
    });
    const exit = runService(definition, { channel, processHooks: false, env: {}, logDestination: logSink });
    channel.deliver({
      t: 'init',
      service: 'biff',
      kind: 'biff',
      settings: {},
      suite: { dataDir: '/nonexistent', mail: { domains: ['localhost'] }, tls: {} },
      logLevel: 'info',
      listeners: [{ name: 'comsat', protocol: 'udp', address: '127.0.0.1', port, tls: false }],
    });
    channel.deliver({ t: 'listener', name: 'comsat', index: 0 }, handle);
    channel.deliver({ t: 'start' });
    await waitFor(() => channel.sent.some((m) => m.t === 'ready' || m.t === 'failed'), { what: 'ready' });
    expect(channel.sent.map((m) => m.t)).toContain('ready');
    // It subscribed to Hearth's deliveries and announced itself.
    expect(channel.sent).toContainEqual({ t: 'subscribe', topics: ['mail.delivered'] });
    expect(channel.msgs('biff.started')[0]?.payload).toEqual({ instance: process.pid });

    channel.deliver({ t: 'msg', from: 'pop3', topic: 'biff.subscribe', payload: { user: 'alice', instance: 4242 } });
    channel.deliver({ t: 'msg', from: 'watch', topic: 'biff.subscribe', payload: { user: 'bob', instance: 77 } });
    await sendDatagram(port, 'alice@12345\n\0');
    await sendDatagram(port, 'no at sign');
    await waitFor(() => channel.msgs('mail.notify').length >= 1, { what: 'mail.notify' });
    channel.deliver({ t: 'msg', from: 'smtp', topic: 'mail.delivered', payload: { source: 'hearth', user: 'bob', maildrop: 'INBOX', messageId: 9, uid: 3, uidl: 'x3', size: 42 } });
    await waitFor(() => channel.msgs('mail.notify').length >= 2, { what: 'the second mail.notify' });
    expect(channel.msgs('mail.notify')).toEqual([
      { t: 'msg', to: 'pop3', topic: 'mail.notify', payload: { user: 'alice', maildrop: 'INBOX', source: 'comsat' } },
      { t: 'msg', to: 'watch', topic: 'mail.notify', payload: { user: 'bob', maildrop: 'INBOX', messageId: 9, uid: 3, uidl: 'x3', size: 42, source: 'hearth' } },
    ]);

    channel.deliver({ t: 'stop', deadlineMs: 1000 });
    expect(await exit).toBe(0);
    handle = undefined; // closed by the service (a real supervisor keeps its own copy)
    const stopped = logText
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l['msg'] === 'biff stopped');
    expect(stopped).toMatchObject({ received: 2, malformed: 1, delivered: 1, notified: 2, dropped: 0, subscriptions: 2 });
    // The same counters went to the supervisor: declared in the first report, the last one at stop.
    const reports = channel.sent.flatMap((m) => (m.t === 'counters' ? [m] : []));
    expect(reports[0]?.declaration).toEqual(JSON.parse(JSON.stringify(counters)));
    expect(reports.at(-1)?.values).toMatchObject({ received: 2, malformed: 1, delivered: 1, notified: 2, dropped: 0, subscriptions: 2 });
  });
});
