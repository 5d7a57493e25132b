/**
 * The PushHub's side of the new-mail contract: what arrives on `mail.notify` passes
 * @hearth/mail-delivery's one check; a malformed notice is counted and logged, never thrown,
 * and the good notices of the same batch still wake their sessions (with the notice only when it
 * names a message in INBOX). biff's confirmation of a subscription wakes that user's sessions to
 * read their index; a subscription it does not confirm is sent again, less and less often, for as
 * long as the user waits.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '@hearth/log';
import type { HearthNotice } from '@hearth/mail-delivery';
import { PushHub } from '@hearth/pop3';
import { FakeBus } from './helpers.js';

function recordingLog(level = 'warn'): { log: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { log: createLogger({ svc: 'pop3', level, pretty: false, destination }), lines };
}

const notice: HearthNotice = { source: 'hearth', user: 'alice', maildrop: 'INBOX', messageId: 5, uid: 2, uidl: '0000000200000001', size: 9 };

describe('PushHub and the new-mail check', () => {
  it('counts and logs malformed notices, wakes with what passes', async () => {
    const bus = new FakeBus();
    const { log, lines } = recordingLog();
    const hub = new PushHub(bus, log, 3);
    hub.start();
    const woken: Array<[string, HearthNotice | undefined]> = [];
    hub.add('alice', { wake: (n) => woken.push(['alice', n]) });
    hub.add('bob', { wake: (n) => woken.push(['bob', n]) });

    bus.emit('mail.notify', { batch: [notice, { ...notice, uid: 0 }, 'junk', { source: 'comsat', user: 'BOB', maildrop: 'INBOX' }] });
    bus.emit('mail.notify', { user: 'alice' }); // no source: not a notice
    bus.emit('mail.notify', { ...notice, maildrop: 'lists' }); // another folder: wake, re-read the index

    expect(woken).toEqual([
      ['alice', notice],
      ['bob', undefined],
      ['alice', undefined],
    ]);
    expect(hub.rejected).toBe(3);
    await new Promise<void>((resolve) => log.flush(() => resolve()));
    const warned = lines.filter((l) => l['msg'] === 'malformed mail.notify ignored');
    expect(warned.map((l) => [l['rejected'], l['total']])).toEqual([
      [2, 2],
      [1, 3],
    ]);
  });

  it("wakes a user's sessions, without a notice, when biff confirms this instance's subscription", () => {
    const bus = new FakeBus();
    const { log } = recordingLog();
    const hub = new PushHub(bus, log, 3);
    hub.start();
    const woken: Array<[string, HearthNotice | undefined]> = [];
    hub.add('alice', { wake: (n) => woken.push(['alice', n]) });
    hub.add('alice', { wake: (n) => woken.push(['alice 2', n]) });
    hub.add('bob', { wake: (n) => woken.push(['bob', n]) });
    expect(bus.sent.filter((m) => m.topic === 'biff.subscribe').map((m) => m.payload)).toEqual([
      { user: 'alice', instance: 3 },
      { user: 'bob', instance: 3 },
    ]);

    bus.emit('biff.subscribed', { user: 'alice', instance: 4 }); // another instance's
    bus.emit('biff.subscribed', { user: 'carol', instance: 3 }); // nobody waits
    bus.emit('biff.subscribed', { user: 'alice' }); // malformed
    expect(woken).toEqual([]);
    bus.emit('biff.subscribed', { user: 'ALICE', instance: 3 });
    expect(woken).toEqual([
      ['alice', undefined],
      ['alice 2', undefined],
    ]);

    // biff restarted (its subscriptions gone, nothing announced meanwhile): everything is
    // subscribed again, and each confirmation sends that user's sessions to their index.
    woken.length = 0;
    bus.sent.length = 0;
    bus.emit('biff.started', { instance: 99 });
    expect(bus.sent.map((m) => [m.topic, m.payload])).toEqual([
      ['biff.reset', { instance: 3 }],
      ['biff.subscribe', { user: 'alice', instance: 3 }],
      ['biff.subscribe', { user: 'bob', instance: 3 }],
    ]);
    bus.emit('biff.subscribed', { user: 'bob', instance: 3 });
    expect(woken).toEqual([['bob', undefined]]);
  });

  describe('a subscription biff does not confirm', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    const subscriptionMessages = (bus: FakeBus): Array<[string, unknown]> =>
      bus.sent.filter((m) => m.topic.startsWith('biff.') && m.topic !== 'biff.reset').map((m) => [m.topic, m.payload]);

    it('is sent again (unsubscribe, then subscribe) after 5 s, then twice as long each time up to a minute, until confirmed', async () => {
      vi.useFakeTimers();
      const bus = new FakeBus();
      const { log, lines } = recordingLog('info');
      const hub = new PushHub(bus, log, 3);
      hub.start();
      hub.add('alice', { wake: () => {} });
      hub.add('bob', { wake: () => {} });
      bus.emit('biff.subscribed', { user: 'bob', instance: 3 }); // bob's arrived
      bus.sent.length = 0;

      const resent = [
        ['biff.unsubscribe', { user: 'alice', instance: 3 }],
        ['biff.subscribe', { user: 'alice', instance: 3 }],
      ];
      vi.advanceTimersByTime(4_999);
      expect(subscriptionMessages(bus)).toEqual([]);
      // Each wait in turn: 5, 10, 20, 40, then 60 s (the most), and 60 again.
      for (const wait of [5_000, 10_000, 20_000, 40_000, 60_000, 60_000]) {
        vi.advanceTimersByTime(wait === 5_000 ? 1 : wait - 1);
        expect(subscriptionMessages(bus), `after a wait of ${wait} ms`).toEqual(resent);
        bus.sent.length = 0;
        vi.advanceTimersByTime(1);
      }
      // The first time at info, the later ones at debug.
      await new Promise<void>((resolve) => log.flush(() => resolve()));
      expect(lines.filter((l) => l['msg'] === 'biff has not confirmed the subscription: sending it again').map((l) => [l['user'], l['attempts'], l['waitedMs']])).toEqual([['alice', 1, 5_000]]);

      bus.emit('biff.subscribed', { user: 'ALICE', instance: 3 });
      vi.advanceTimersByTime(10 * 60_000);
      expect(subscriptionMessages(bus)).toEqual([]);
      hub.stop();
    });

    it('is not sent again once the user has no waiting session, nor after the server stopped', () => {
      vi.useFakeTimers();
      const bus = new FakeBus();
      const hub = new PushHub(bus, createLogger({ svc: 'pop3', level: 'silent' }), 3);
      hub.start();
      const waiter = { wake: () => {} };
      hub.add('alice', waiter);
      hub.add('carol', { wake: () => {} });
      hub.remove('alice', waiter);
      bus.sent.length = 0;
      vi.advanceTimersByTime(5_000);
      expect(subscriptionMessages(bus)).toEqual([
        ['biff.unsubscribe', { user: 'carol', instance: 3 }],
        ['biff.subscribe', { user: 'carol', instance: 3 }],
      ]);
      bus.sent.length = 0;
      hub.stop();
      vi.advanceTimersByTime(10 * 60_000);
      expect(subscriptionMessages(bus)).toEqual([]);
    });

    it('after biff restarted, each subscription is waited for afresh: 5 s, whatever the wait before', () => {
      vi.useFakeTimers();
      const bus = new FakeBus();
      const hub = new PushHub(bus, createLogger({ svc: 'pop3', level: 'silent' }), 3);
      hub.start();
      hub.add('alice', { wake: () => {} });
      hub.add('bob', { wake: () => {} });
      vi.advanceTimersByTime(5_000 + 10_000 + 20_000); // sent again three times: alice's next in 40 s
      bus.emit('biff.subscribed', { user: 'bob', instance: 3 });
      bus.emit('biff.started', { instance: 99 });
      bus.sent.length = 0;
      vi.advanceTimersByTime(5_000);
      expect(subscriptionMessages(bus)).toEqual([
        ['biff.unsubscribe', { user: 'alice', instance: 3 }],
        ['biff.subscribe', { user: 'alice', instance: 3 }],
        ['biff.unsubscribe', { user: 'bob', instance: 3 }],
        ['biff.subscribe', { user: 'bob', instance: 3 }],
      ]);
      hub.stop();
    });
  });
});
