/**
 * The notifier: turns comsat datagrams and `mail.delivered` messages into `mail.notify` messages
 * for exactly the services subscribed to that user, and keeps the subscription table. No sockets
 * here (server.ts owns the UDP socket), so every rule can be tested with a fake bus.
 */
import type { Logger } from '@hearth/log';
import { hearthUser, readNotices, subscriptionOf, type NewMail } from '@hearth/mail-delivery';
import type { MessageBus } from '@hearth/runtime';
import { maildropOf, parseComsat } from './comsat.js';
import type { BiffSettings } from './config.js';
import { Outbox } from './outbox.js';
import { ComsatLimiter } from './rate-limit.js';
import { Subscriptions } from './subscriptions.js';
import { TOPICS, instanceOf } from './topics.js';

export interface Counters {
  /** Comsat datagrams received (before any check). */
  received: number;
  /** Datagrams that are not `user@offset[:mailbox]`. */
  malformed: number;
  /** Datagrams whose text does not fit in `maxDatagramSize` bytes. */
  oversized: number;
  /** Datagrams refused by the global or a per-source bucket. */
  rateLimited: number;
  /** Datagrams naming a user no Hearth account can have. */
  unknownUser: number;
  /** New-mail notices received on `mail.delivered` (each copy of a batch counts). */
  delivered: number;
  /** Notices (comsat or delivered) for a user nobody subscribed to. */
  unwatched: number;
  /** `mail.notify` messages handed to the bus. */
  notified: number;
  /** Notifications dropped: a subscriber's queue full, or the bus refusing. */
  dropped: number;
  /** Subscriptions refused by a limit. */
  refused: number;
  /** Bus messages with an unusable payload (each failing entry of a `mail.delivered` batch counts). */
  badMessages: number;
}

export function newCounters(): Counters {
  return {
    received: 0,
    malformed: 0,
    oversized: 0,
    rateLimited: 0,
    unknownUser: 0,
    delivered: 0,
    unwatched: 0,
    notified: 0,
    dropped: 0,
    refused: 0,
    badMessages: 0,
  };
}

/** At most this many lines per kind of complaint are logged per stats interval. */
const LOG_BUDGET = 5;

export class Notifier {
  readonly counters = newCounters();
  readonly subscriptions: Subscriptions;
  readonly outbox: Outbox;
  #limiter: ComsatLimiter;
  #logBudget = LOG_BUDGET;

  constructor(
    private settings: Readonly<BiffSettings>,
    private readonly bus: MessageBus,
    private readonly log: Logger,
    now = Date.now(),
  ) {
    this.subscriptions = new Subscriptions(settings.subscriptions);
    this.outbox = new Outbox(bus, settings.queue, this.counters);
    this.#limiter = new ComsatLimiter(settings.comsat, now);
  }

  /** New settings in place (a reload): subscriptions and queued notifications are kept. */
  apply(settings: Readonly<BiffSettings>, now = Date.now()): void {
    this.settings = settings;
    this.subscriptions.setLimits(settings.subscriptions);
    this.outbox.setLimits(settings.queue);
    this.#limiter = new ComsatLimiter(settings.comsat, now);
  }

  /** Listen to the bus topics. */
  attach(): void {
    this.bus.on(TOPICS.delivered, (payload) => this.onDelivered(payload));
    this.bus.on(TOPICS.subscribe, (payload, from) => this.onSubscribe(payload, from));
    this.bus.on(TOPICS.unsubscribe, (payload, from) => this.onUnsubscribe(payload, from));
    this.bus.on(TOPICS.reset, (payload, from) => this.onReset(payload, from));
  }

  /** One comsat datagram from `source` (an address). */
  onDatagram(data: Uint8Array, source: string, now = Date.now()): void {
    const c = this.counters;
    c.received++;
    const refusal = this.#limiter.admit(source, now);
    if (refusal) {
      c.rateLimited++;
      this.#complain({ source, limit: refusal }, 'comsat datagram over the rate limit dropped');
      return;
    }
    const parsed = parseComsat(data, this.settings.comsat.maxDatagramSize);
    if (!parsed.ok) {
      c[parsed.reason]++;
      this.#complain({ source, reason: parsed.reason, detail: parsed.detail }, 'comsat datagram dropped');
      return;
    }
    const user = hearthUser(parsed.notice.user);
    if (!user) {
      c.unknownUser++;
      this.log.debug({ source }, 'comsat datagram for a name no Hearth user has ignored');
      return;
    }
    const notice: NewMail = { source: 'comsat', user, maildrop: maildropOf(parsed.notice) };
    this.log.debug({ source, user, maildrop: notice.maildrop, offset: parsed.notice.offset }, 'comsat notice');
    this.#notify(notice);
  }

  /**
   * `mail.delivered`: one notice, or a batch of them (a delivery to many users). Each notice that
   * passes the new-mail check goes to its subscribers as it arrived.
   */
  onDelivered(payload: unknown): void {
    const { notices, rejected } = readNotices(payload);
    if (rejected > 0) {
      this.counters.badMessages += rejected;
      this.#complain({ topic: TOPICS.delivered, rejected }, 'unusable message ignored');
    }
    this.counters.delivered += notices.length;
    this.outbox.burst(() => {
      for (const notice of notices) this.#notify(notice);
    });
  }

  onSubscribe(payload: unknown, from: string): void {
    const sub = subscriptionOf(payload);
    if (!sub) {
      this.counters.badMessages++;
      this.#complain({ topic: TOPICS.subscribe, from }, 'unusable message ignored');
      return;
    }
    const result = this.subscriptions.subscribe(from, sub.instance, sub.user);
    if (result !== 'ok') {
      this.counters.refused++;
      this.#complain({ from, instance: sub.instance, limit: result }, 'subscription refused: limit reached');
      return;
    }
    // Held from now on. What was committed while it was on its way went to nobody: the
    // subscriber reads the maildrop again when it hears this.
    try {
      if (!this.bus.send(from, TOPICS.subscribed, sub)) this.#complain({ to: from, topic: TOPICS.subscribed }, 'subscription confirmation dropped');
    } catch (err) {
      this.#complain({ err, to: from, topic: TOPICS.subscribed }, 'subscription confirmation failed');
    }
  }

  onUnsubscribe(payload: unknown, from: string): void {
    const sub = subscriptionOf(payload);
    if (!sub) {
      this.counters.badMessages++;
      this.#complain({ topic: TOPICS.unsubscribe, from }, 'unusable message ignored');
      return;
    }
    this.subscriptions.unsubscribe(from, sub.instance, sub.user);
  }

  onReset(payload: unknown, from: string): void {
    const instance = instanceOf(payload);
    if (instance === undefined) {
      this.counters.badMessages++;
      this.#complain({ topic: TOPICS.reset, from }, 'unusable message ignored');
      return;
    }
    const removed = this.subscriptions.reset(from, instance);
    this.log.debug({ from, instance, removed }, 'subscriptions reset');
  }

  /** A snapshot for the log. */
  stats(): Record<string, number> {
    return {
      ...this.counters,
      subscriptions: this.subscriptions.size,
      queued: this.outbox.queued,
      peakQueued: this.outbox.peakQueued,
      sources: this.#limiter.sources,
    };
  }

  /** Called once per stats interval: complaints may be logged again. */
  tick(): void {
    this.#logBudget = LOG_BUDGET;
  }

  close(): void {
    this.outbox.close();
  }

  #notify(notice: NewMail): void {
    let any = false;
    for (const service of this.subscriptions.servicesFor(notice.user)) {
      any = true;
      this.outbox.post(service, notice);
    }
    if (!any) this.counters.unwatched++;
  }

  /** Warn about a sender's mistake, a few times per interval at most (a flood must not flood the log). */
  #complain(fields: Record<string, unknown>, msg: string): void {
    if (this.#logBudget <= 0) return;
    this.#logBudget--;
    this.log.warn(fields, msg);
  }
}
