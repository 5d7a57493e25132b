/** Announcing stored copies on the bus, once the store committed them. */
import type { Logger } from '@hearth/log';
import type { MessageBus } from '@hearth/runtime';
import { batches, MAIL_TOPICS, type MailDelivered } from './topics.js';

/** What the store reports for each recipient of a committed delivery. */
export interface CommittedCopy {
  readonly user: string;
  readonly messageId: number;
  readonly uid: number;
  readonly uidl: string;
  readonly size: number;
}

/**
 * Publishes `mail.delivered` for the copies of one committed delivery: one bus message for all of
 * them (batched past one copy). The delivery is already durable, so nothing here may fail it: a
 * dropped or failed announcement is logged, never thrown.
 */
export function announceDelivered(bus: MessageBus, log: Logger, copies: readonly CommittedCopy[]): void {
  const events: MailDelivered[] = copies.map((copy) => ({
    user: copy.user,
    maildrop: 'INBOX',
    messageId: copy.messageId,
    uid: copy.uid,
    uidl: copy.uidl,
    size: copy.size,
  }));
  for (const payload of batches(events)) {
    try {
      if (!bus.publish(MAIL_TOPICS.delivered, payload)) log.warn({ copies: events.length }, 'new-mail event dropped');
    } catch (err) {
      log.error({ err, copies: events.length }, 'new-mail event failed');
    }
  }
}
