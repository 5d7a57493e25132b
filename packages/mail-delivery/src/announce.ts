/** Announcing stored copies on the bus, once the store committed them. */
import type { Logger } from '@hearth/log';
import type { MessageBus } from '@hearth/runtime';
import { MAIL_TOPICS, type MailDelivered } from './topics.js';

/** What the store reports for each recipient of a committed delivery. */
export interface CommittedCopy {
  readonly user: string;
  readonly messageId: number;
  readonly uid: number;
  readonly uidl: string;
  readonly size: number;
}

/**
 * Publishes `mail.delivered` for every copy. The delivery is already committed, so nothing here
 * may fail it: a dropped or failed announcement is logged, never thrown.
 */
export function announceDelivered(bus: MessageBus, log: Logger, copies: Iterable<CommittedCopy>): void {
  for (const copy of copies) {
    const event: MailDelivered = {
      user: copy.user,
      maildrop: 'INBOX',
      messageId: copy.messageId,
      uid: copy.uid,
      uidl: copy.uidl,
      size: copy.size,
    };
    try {
      if (!bus.publish(MAIL_TOPICS.delivered, event)) log.warn({ user: copy.user }, 'new-mail event dropped');
    } catch (err) {
      log.error({ err, user: copy.user }, 'new-mail event failed');
    }
  }
}
