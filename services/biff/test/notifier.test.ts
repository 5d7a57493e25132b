/**
 * The notifier over a fake bus: routing to exactly the subscribed services, counts, reset,
 * refused subscriptions, flood limits, and the bound on what waits for a subscriber that never
 * reads.
 */
import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '@hearth/log';
import type { MessageBus } from '@hearth/runtime';
import { Notifier, settingsSchema, TOPICS, type BiffSettings } from '@hearth/biff';
import type { NewMail } from '@hearth/mail-delivery';

const log = createLogger({ svc: 'biff', level: 'silent', pretty: false, destination: new Writable({ write: (_c, _e, cb) => cb() }) });

type Handler = (payload: unknown, from: string) => void;

/**
 * Records what biff sends: `mail.notify` in `sent`, subscription confirmations in `confirmed`.
 * `room` plays the runtime ChannelBus's back-pressure: each notify send takes one, the bus is not
 * writable at 0, and `free()` makes room and resolves what waits in `drained()`.
 */
class FakeBus implements MessageBus {
  readonly sent: Array<{ to: string; topic: string; payload: NewMail }> = [];
  readonly confirmed: Array<{ to: string; payload: unknown }> = [];
  readonly handlers = new Map<string, Handler>();
  room = Infinity;
  accept = true;
  #waiters: Array<() => void> = [];

  get writable(): boolean {
    return this.room > 0;
  }
  drained(): Promise<void> {
    return this.writable ? Promise.resolve() : new Promise((resolve) => this.#waiters.push(resolve));
  }
  /** The channel caught up. */
  free(): void {
    this.room = Infinity;
    for (const resolve of this.#waiters.splice(0)) resolve();
  }
  /** Bus messages sent (a batch counts once). */
  messages = 0;

  send(to: string, topic: string, payload: unknown): boolean {
    if (!this.accept) return false;
    if (topic === TOPICS.subscribed) {
      this.confirmed.push({ to, payload });
      return true;
    }
    this.room--;
    const { batch } = payload as { batch?: NewMail[] };
    for (const one of batch ?? [payload as NewMail]) this.sent.push({ to, topic, payload: one });
    this.messages++;
    return true;
  }
  publish(): boolean {
    return true;
  }
  on(topic: string, handler: Handler): void {
    this.handlers.set(topic, handler);
  }
  emit(topic: string, payload: unknown, from = 'smtp'): void {
    this.handlers.get(topic)!(payload, from);
  }
  to(service: string): NewMail[] {
    return this.sent.filter((s) => s.to === service).map((s) => s.payload);
  }
}

function setup(overrides: Record<string, unknown> = {}): { bus: FakeBus; biff: Notifier; settings: BiffSettings } {
  const settings = settingsSchema.parse(overrides);
  const bus = new FakeBus();
  const biff = new Notifier(settings, bus, log, 0);
  biff.attach();
  return { bus, biff, settings };
}

const delivered = (user: string, messageId = 1) => ({ source: 'hearth', user, maildrop: 'INBOX', messageId, uid: messageId, uidl: `u${messageId}`, size: 100 });

describe('routing', () => {
  it('a delivery to many users (one batched mail.delivered) leaves as one mail.notify per subscriber', () => {
    const { bus, biff } = setup();
    for (let i = 0; i < 2500; i++) bus.emit(TOPICS.subscribe, { user: `u${i}`, instance: 100 }, 'pop3');
    bus.emit(TOPICS.subscribe, { user: 'u7', instance: 200 }, 'watcher');
    bus.emit(TOPICS.delivered, { batch: Array.from({ length: 2500 }, (_, i) => delivered(`u${i}`, i + 1)) });
    expect(bus.to('pop3').map((n) => n.user)).toEqual(Array.from({ length: 2500 }, (_, i) => `u${i}`));
    expect(bus.to('watcher').map((n) => n.user)).toEqual(['u7']);
    // 2,500 notices for pop3 in batches of at most 1,000, one for the watcher.
    expect(bus.messages).toBe(4);
    expect(biff.counters.notified).toBe(2501);
  });

  it('sends mail.notify only to the services subscribed to that user', () => {
    const { bus, biff } = setup();
    bus.emit(TOPICS.subscribe, { user: 'alice', instance: 100 }, 'pop3');
    bus.emit(TOPICS.subscribe, { user: 'bob', instance: 200 }, 'watcher');

    bus.emit(TOPICS.delivered, delivered('alice', 7));
    expect(bus.to('pop3')).toEqual([{ user: 'alice', maildrop: 'INBOX', messageId: 7, uid: 7, uidl: 'u7', size: 100, source: 'hearth' }]);
    expect(bus.to('watcher')).toEqual([]);

    biff.onDatagram(Buffer.from('Bob@55\0'), '127.0.0.1');
    expect(bus.to('watcher')).toEqual([{ user: 'bob', maildrop: 'INBOX', source: 'comsat' }]);
    expect(bus.to('pop3')).toHaveLength(1);
    expect(bus.sent.every((s) => s.topic === 'mail.notify')).toBe(true);

    biff.onDatagram(Buffer.from('carol@1\0'), '127.0.0.1');
    expect(bus.sent).toHaveLength(2);
    expect(biff.counters).toMatchObject({ received: 2, delivered: 1, notified: 2, unwatched: 1, dropped: 0 });
  });

  it('one message per service however many instances and sessions watch the user', () => {
    const { bus } = setup();
    bus.emit(TOPICS.subscribe, { user: 'alice', instance: 100 }, 'pop3');
    bus.emit(TOPICS.subscribe, { user: 'alice', instance: 100 }, 'pop3');
    bus.emit(TOPICS.subscribe, { user: 'alice', instance: 101 }, 'pop3');
    bus.emit(TOPICS.subscribe, { user: 'ALICE', instance: 5 }, 'watch');
    bus.emit(TOPICS.delivered, delivered('alice'));
    expect(bus.sent.map((s) => s.to).sort()).toEqual(['pop3', 'watch']);
  });

  it('counts per (service, instance, user): the last unsubscribe ends it, reset forgets an instance', () => {
    const { bus, biff } = setup();
    bus.emit(TOPICS.subscribe, { user: 'alice', instance: 100 }, 'pop3');
    bus.emit(TOPICS.subscribe, { user: 'alice', instance: 100 }, 'pop3');
    bus.emit(TOPICS.subscribe, { user: 'bob', instance: 100 }, 'pop3');
    bus.emit(TOPICS.subscribe, { user: 'alice', instance: 300 }, 'pop3');
    expect(biff.subscriptions.count('pop3', 100, 'alice')).toBe(2);

    bus.emit(TOPICS.unsubscribe, { user: 'alice', instance: 100 }, 'pop3');
    bus.emit(TOPICS.delivered, delivered('alice', 1));
    expect(bus.to('pop3')).toHaveLength(1);

    bus.emit(TOPICS.unsubscribe, { user: 'alice', instance: 100 }, 'pop3');
    bus.emit(TOPICS.unsubscribe, { user: 'alice', instance: 100 }, 'pop3'); // one too many: no effect
    expect(biff.subscriptions.count('pop3', 100, 'alice')).toBe(0);
    bus.emit(TOPICS.delivered, delivered('alice', 2));
    expect(bus.to('pop3')).toHaveLength(2); // instance 300 still watches alice

    bus.emit(TOPICS.reset, { instance: 300 }, 'pop3');
    bus.emit(TOPICS.delivered, delivered('alice', 3));
    expect(bus.to('pop3')).toHaveLength(2);
    bus.emit(TOPICS.delivered, delivered('bob', 4));
    expect(bus.to('pop3')).toHaveLength(3);

    // A reset names the sender's own instance only: another service's reset does not touch pop3's.
    bus.emit(TOPICS.reset, { instance: 100 }, 'watch');
    expect(biff.subscriptions.count('pop3', 100, 'bob')).toBe(1);
    bus.emit(TOPICS.reset, { instance: 100 }, 'pop3');
    expect(biff.subscriptions.size).toBe(0);
  });

  it('ignores unusable messages, counted', () => {
    const { bus, biff } = setup();
    bus.emit(TOPICS.subscribe, { user: 'alice' }, 'pop3');
    bus.emit(TOPICS.subscribe, { user: 'bad user', instance: 1 }, 'pop3');
    bus.emit(TOPICS.subscribe, { user: 'alice', instance: -1 }, 'pop3');
    bus.emit(TOPICS.subscribe, 'alice', 'pop3');
    bus.emit(TOPICS.reset, {}, 'pop3');
    bus.emit(TOPICS.delivered, { maildrop: 'INBOX' });
    bus.emit(TOPICS.delivered, null);
    expect(biff.counters.badMessages).toBe(7);
    expect(biff.subscriptions.size).toBe(0);
  });

  it('a batch with malformed notices: each bad one is counted, the good ones go out as they came', () => {
    const { bus, biff } = setup();
    bus.emit(TOPICS.subscribe, { user: 'alice', instance: 1 }, 'pop3');
    const good = delivered('alice', 4);
    bus.emit(TOPICS.delivered, { batch: [{ ...good, uid: 0 }, good, { ...good, source: undefined }, 'junk'] });
    expect(biff.counters).toMatchObject({ delivered: 1, badMessages: 3, notified: 1 });
    expect(bus.to('pop3')).toEqual([good]);
    expect(bus.sent[0]!.payload).toBe(good);
  });

  it('refuses subscriptions past the per-service and service limits, counted', () => {
    const { bus, biff } = setup({ subscriptions: { perService: 3, maxServices: 2 } });
    for (let i = 0; i < 5; i++) bus.emit(TOPICS.subscribe, { user: `u${i}`, instance: 1 }, 'pop3');
    bus.emit(TOPICS.subscribe, { user: 'u0', instance: 1 }, 'pop3'); // a count on an existing entry is fine
    bus.emit(TOPICS.subscribe, { user: 'x', instance: 1 }, 'watch');
    bus.emit(TOPICS.subscribe, { user: 'x', instance: 1 }, 'third');
    expect(biff.subscriptions.size).toBe(4);
    expect(biff.counters.refused).toBe(3);
    bus.emit(TOPICS.delivered, delivered('u4'));
    expect(bus.sent).toHaveLength(0);
    // Only the subscriptions held are confirmed.
    expect(bus.confirmed.map((c) => [c.to, (c.payload as { user: string }).user])).toEqual([
      ['pop3', 'u0'],
      ['pop3', 'u1'],
      ['pop3', 'u2'],
      ['pop3', 'u0'],
      ['watch', 'x'],
    ]);
  });

  it('confirms each subscription it holds to the subscriber, by name, with its user and instance', () => {
    const { bus } = setup();
    bus.emit(TOPICS.subscribe, { user: 'Alice', instance: 100 }, 'pop3');
    bus.emit(TOPICS.subscribe, { user: 'bob', instance: 7 }, 'watch');
    bus.emit(TOPICS.subscribe, { user: 'bad user', instance: 7 }, 'watch');
    expect(bus.confirmed).toEqual([
      { to: 'pop3', payload: { user: 'alice', instance: 100 } },
      { to: 'watch', payload: { user: 'bob', instance: 7 } },
    ]);
  });
});

describe('comsat intake', () => {
  it('counts malformed, oversized and unknown-user datagrams and drops them', () => {
    const { bus, biff } = setup();
    bus.emit(TOPICS.subscribe, { user: 'alice', instance: 1 }, 'pop3');
    biff.onDatagram(Buffer.from('garbage'), '127.0.0.1');
    biff.onDatagram(Buffer.from(`alice@1:/${'x'.repeat(400)}`), '127.0.0.1');
    biff.onDatagram(Buffer.from('Not A User@1'), '127.0.0.1');
    biff.onDatagram(Buffer.from('alice@1\n\0'), '127.0.0.1');
    expect(biff.counters).toMatchObject({ received: 4, malformed: 1, oversized: 1, unknownUser: 1, notified: 1 });
    expect(bus.sent).toHaveLength(1);
  });

  it('rate-limits a flood per source and overall, and recovers as tokens come back', () => {
    const { bus, biff } = setup({ comsat: { rate: { perSecond: 100, burst: 30 }, perSource: { perSecond: 10, burst: 10 } } });
    bus.emit(TOPICS.subscribe, { user: 'alice', instance: 1 }, 'pop3');
    for (let i = 0; i < 50; i++) biff.onDatagram(Buffer.from('alice@1'), '10.0.0.1', 0);
    expect(biff.counters).toMatchObject({ received: 50, rateLimited: 40, notified: 10 });
    // Other sources get their own buckets until the global one is empty (30 in all).
    for (let i = 0; i < 5; i++) for (let s = 2; s < 10; s++) biff.onDatagram(Buffer.from('alice@1'), `10.0.0.${s}`, 0);
    expect(biff.counters.notified).toBe(30);
    // One second later: 10 more tokens for the first source, 100 (capped at 30) globally.
    for (let i = 0; i < 20; i++) biff.onDatagram(Buffer.from('alice@1'), '10.0.0.1', 1000);
    expect(biff.counters.notified).toBe(40);
  });

  it('remembers at most maxSources source addresses', () => {
    const { biff } = setup({ comsat: { maxSources: 16 } });
    for (let i = 0; i < 1000; i++) biff.onDatagram(Buffer.from('alice@1'), `10.0.${i >> 8}.${i & 255}`, 0);
    expect(biff.stats()['sources']).toBe(16);
  });
});

describe('back-pressure', () => {
  it('a subscriber that never reads: its queue stops at the bound, the oldest are dropped and counted', async () => {
    const { bus, biff } = setup({ queue: { perSubscriber: 100 } });
    bus.emit(TOPICS.subscribe, { user: 'stuck', instance: 1 }, 'slow');
    bus.emit(TOPICS.subscribe, { user: 'alice', instance: 2 }, 'pop3');
    // The channel takes 10, then stays behind until freed.
    bus.room = 10;
    for (let i = 1; i <= 10_000; i++) bus.emit(TOPICS.delivered, delivered('stuck', i));
    expect(bus.sent).toHaveLength(10);
    expect(biff.outbox.queuedFor('slow')).toBe(100);
    expect(biff.outbox.peakQueued).toBe(100);
    expect(biff.counters.dropped).toBe(10_000 - 10 - 100);

    // Another subscriber still gets its turn once the channel moves again; what waited is the newest.
    bus.emit(TOPICS.delivered, delivered('alice', 1));
    expect(biff.outbox.queuedFor('pop3')).toBe(1);
    expect(bus.to('pop3')).toHaveLength(0);
    bus.free();
    await vi.waitFor(() => expect(biff.outbox.queued).toBe(0));
    expect(bus.to('pop3')).toHaveLength(1);
    const slow = bus.to('slow') as Array<NewMail & { messageId: number }>;
    expect(slow).toHaveLength(110);
    expect(slow.at(-1)!.messageId).toBe(10_000);
    expect(slow[10]!.messageId).toBe(10_000 - 99);
    biff.close();
  });

  it('a bus that refuses (its own bound reached) drops and counts', () => {
    const { bus, biff } = setup();
    bus.emit(TOPICS.subscribe, { user: 'alice', instance: 1 }, 'pop3');
    bus.accept = false;
    bus.emit(TOPICS.delivered, delivered('alice'));
    expect(biff.counters).toMatchObject({ notified: 0, dropped: 1 });
  });

  it('a reload keeps subscriptions and trims queues to the new bound', () => {
    const { bus, biff } = setup({ queue: { perSubscriber: 50 } });
    bus.emit(TOPICS.subscribe, { user: 'alice', instance: 1 }, 'pop3');
    bus.room = 0;
    for (let i = 1; i <= 50; i++) bus.emit(TOPICS.delivered, delivered('alice', i));
    expect(biff.outbox.queuedFor('pop3')).toBe(50);
    biff.apply(settingsSchema.parse({ queue: { perSubscriber: 5 } }), 0);
    expect(biff.outbox.queuedFor('pop3')).toBe(5);
    expect(biff.outbox.queued).toBe(5);
    expect(biff.counters.dropped).toBe(45);
    expect(biff.subscriptions.count('pop3', 1, 'alice')).toBe(1);
    biff.close();
    expect(biff.counters.dropped).toBe(50);
    expect(biff.outbox.queued).toBe(0);
  });
});
