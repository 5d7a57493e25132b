/**
 * @hearth/pop3: the POP3 service. `definition` is what `runService` runs; `createPop3Server`
 * and the backings are exported for tests and for tools that embed the engine.
 */
import type { ServiceDefinition } from '@hearth/runtime';
import { manifest, type Pop3Settings } from './config.js';
import { startPop3Service } from './service.js';

export { manifest, settingsSchema, defaultSettings, type Pop3Settings } from './config.js';
export { counters } from './counters.js';
export { createPop3Server, isLoopbackAddress, type Pop3Server, type Pop3ServerDeps, type HandleOptions } from './server.js';
export {
  MessageGoneError,
  MessageTooLargeError,
  PermanentBackingError,
  type BodyReader,
  type DeliverInput,
  type MailBacking,
  type Maildrop,
  type MessageInfo,
  type OpenResult,
} from './maildrop.js';
export { BIFF_SERVICE, PushHub, topics, type Waiter } from './push.js';
export { MemoryBacking, crlfSize } from './memory-backing.js';
export { storeBacking, type StoreBackingOptions } from './store-backing.js';
export { startPop3Service } from './service.js';
export { replies } from './replies.js';

/** What `runService` runs: the manifest plus `start`. */
export const definition: ServiceDefinition<Pop3Settings> = {
  ...manifest,
  start: startPop3Service,
};
