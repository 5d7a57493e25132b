/** What a POP3 session is given: the server's shared parts (`SessionDeps`) and its connection's (`SessionOptions`). */
import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import type { LoginPolicy } from '@hearth/accounts';
import type { Logger } from '@hearth/log';
import type { CounterSet } from '@hearth/metrics';
import type { BufferPool } from './body-writer.js';
import type { Pop3Settings } from './config.js';
import type { counters } from './counters.js';
import type { Counter } from './limits.js';
import type { MailBacking } from './maildrop.js';
import type { PushHub } from './push.js';

export interface SessionDeps {
  readonly settings: Pop3Settings;
  readonly backing: MailBacking;
  readonly log: Logger;
  readonly secureContext: () => SecureContext | undefined;
  readonly userSessions: Counter;
  /** The suite's failed-login policy (counts shared by every protocol). */
  readonly loginPolicy: LoginPolicy;
  /** The instance is draining and its goodbye time has come: end between commands. */
  readonly goodbyeDue: () => boolean;
  readonly hub: PushHub;
  /** Local mail domains (XSEND); the first is the sender's domain. */
  readonly domains: readonly string[];
  /** The same in lower case: a login name or an XSEND recipient may be `user@` one of them (`localUser`). */
  readonly localDomains: ReadonlySet<string>;
  /** Our host name (greeting, Received headers). */
  readonly hostname: string;
  /** Buffers RETR and TOP read bodies into, shared by the server's sessions. */
  readonly buffers: BufferPool;
  /** The server's counters (`counters.ts`). */
  readonly counters: CounterSet<typeof counters>;
}

export interface SessionOptions {
  readonly socket: Socket;
  readonly secure: boolean;
  readonly remoteAddress: string;
  readonly loopback: boolean;
  /** The APOP timestamp, `<...@host>`. */
  readonly timestamp: string;
}
