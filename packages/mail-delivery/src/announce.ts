/** Announcing committed copies on the bus: what smtp and pop3's XSEND both call. */
import type { Logger } from '@hearth/log';
import type { MessageBus } from '@hearth/runtime';
import { batches, type HearthNotice } from './notice.js';
import { MAIL_TOPICS } from './topics.js';

/**
 * Publishes `mail.delivered` for the copies of one committed delivery (the store's result, as it
 * is): one bus message for all of them (a batch past one copy). The delivery is already durable,
 * so nothing here may fail it: a dropped or failed announcement is logged, never thrown.
 */
export function announceDelivered(bus: MessageBus, log: Logger, copies: readonly HearthNotice[]): void {
  for (const payload of batches(copies)) {
    try {
      if (!bus.publish(MAIL_TOPICS.delivered, payload)) log.warn({ copies: copies.length }, 'new-mail event dropped');
    } catch (err) {
      log.error({ err, copies: copies.length }, 'new-mail event failed');
    }
  }
}
