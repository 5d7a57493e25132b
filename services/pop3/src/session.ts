/**
 * One POP3 session on one connection. The state (state.ts) changes only here: `login` moves
 * AUTHORIZATION -> TRANSACTION (when login.ts's policy lets it), `quit` moves TRANSACTION ->
 * UPDATE, `close` ends everything (releasing the maildrop lock without deleting anything unless
 * UPDATE ran; UPDATE releases it after its deletions, before its reply).
 *
 * Each line goes through the guards in a fixed order: XSEND data under way, shutting down, TLS
 * upgrade under way, pending SASL continuation, XIDLE waiting (only DONE), unknown verb (counted),
 * wrong state, bad arguments, then the handler.
 *
 * Hearth's extensions (README): XIDLE enters a waiting sub-mode of TRANSACTION run by a `Wait`
 * (waiting.ts) that the PushHub wakes; XSEND's message is read by a `DataPhase` (data-phase.ts)
 * through an Intake into the store.
 */
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SecureContext } from 'node:tls';
import { CommandDispatcher, ConnectionClosedError, LineReader, startTls, writeWithBackpressure } from '@hearth/line-protocol';
import type { Logger } from '@hearth/log';
import { sendBody, sendFormatted, sendLines, TruncatedBodyError, type BufferPool } from './body-writer.js';
import { commands } from './commands/index.js';
import { totals } from './commands/listing.js';
import type { CommandContext, LoginAttempt } from './commands/context.js';
import type { Pop3Settings } from './config.js';
import { DataPhase } from './data-phase.js';
import type { Counter, FailureLimiter } from './limits.js';
import { authorize } from './login.js';
import { PermanentBackingError, type MailBacking } from './maildrop.js';
import type { PushHub } from './push.js';
import { replies, type Reply } from './replies.js';
import { Wait } from './waiting.js';
import type { SessionState, StateName, Transaction } from './state.js';

const dispatcher = new CommandDispatcher<StateName, CommandContext, Reply>(commands);

export interface SessionDeps {
  readonly settings: Pop3Settings;
  readonly backing: MailBacking;
  readonly log: Logger;
  readonly secureContext: () => SecureContext | undefined;
  readonly userSessions: Counter;
  readonly failuresByIp: FailureLimiter;
  readonly failuresByUser: FailureLimiter;
  readonly isStopping: () => boolean;
  readonly hub: PushHub;
  /** Local mail domains (XSEND); the first is the sender's domain. */
  readonly domains: readonly string[];
  /** Our host name (greeting, Received headers). */
  readonly hostname: string;
  /** Buffers RETR and TOP read bodies into, shared by the server's sessions. */
  readonly buffers: BufferPool;
}

export interface SessionOptions {
  readonly socket: Socket;
  readonly secure: boolean;
  readonly remoteAddress: string;
  readonly loopback: boolean;
  /** The APOP timestamp, `<...@host>`. */
  readonly timestamp: string;
}

export class Pop3Session implements CommandContext {
  state: SessionState = { name: 'AUTHORIZATION' };
  secure: boolean;
  readonly timestamp: string;
  private socket: Socket;
  private reader: LineReader | undefined;
  private continuation: ((line: string) => Promise<Reply> | Reply) | undefined;
  private upgrading = false;
  private busy = false;
  private badCommands = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private closing = false;
  private countedUser: string | undefined;
  /** XIDLE: the current wait. */
  private wait: Wait | undefined;
  /** XSEND: the message being read, if any. */
  private readonly data: DataPhase;
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  constructor(
    private readonly deps: SessionDeps,
    private readonly options: SessionOptions,
    private log: Logger,
  ) {
    this.socket = options.socket;
    this.secure = options.secure;
    this.timestamp = options.timestamp;
    const { backing, hub, hostname, domains, settings } = deps;
    this.data = new DataPhase({ backing, hub, hostname, domain: domains[0] ?? 'localhost', maxSize: settings.maxSendSize });
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  get settings(): Pop3Settings {
    return this.deps.settings;
  }
  get backing(): MailBacking {
    return this.deps.backing;
  }
  get domains(): readonly string[] {
    return this.deps.domains;
  }
  get canStartTls(): boolean {
    return !this.secure && this.deps.secureContext() !== undefined;
  }
  get plaintextAllowed(): boolean {
    return this.secure || this.options.loopback || this.deps.settings.allowPlaintextAuth;
  }
  /** Resolves once the session is closed and its lock released. */
  get closed(): Promise<void> {
    return this.closedPromise;
  }

  start(): void {
    this.attach(this.socket);
    this.write(replies.greeting(this.timestamp));
    this.armIdleTimer();
  }

  setPendingUser(user: string | undefined): void {
    if (this.state.name !== 'AUTHORIZATION') return;
    this.state = user === undefined ? { name: 'AUTHORIZATION' } : { name: 'AUTHORIZATION', pendingUser: user };
  }

  // ---- Transitions -------------------------------------------------------------------------

  async login(attempt: LoginAttempt): Promise<Reply> {
    const outcome = await authorize(this.deps, attempt, {
      ip: this.options.remoteAddress,
      log: this.log,
      closing: () => this.closing,
      delay: (ms) => this.delay(ms),
    });
    if (!outcome.ok) return outcome.reply;
    const { user: canonical, maildrop } = outcome;
    this.deps.userSessions.add(canonical);
    this.countedUser = canonical;
    const messages = [...maildrop.messages];
    const { count, octets } = totals({ messages, deleted: new Set() });
    this.state = {
      name: 'TRANSACTION',
      user: canonical,
      maildrop,
      listed: maildrop.messages,
      messages,
      deleted: new Set(),
      waiting: false,
    };
    this.log = this.log.child({ user: canonical });
    this.log.info({ mechanism: attempt.mechanism, messages: messages.length }, 'logged in');
    return replies.loggedIn(count, octets);
  }

  async quit(): Promise<Reply> {
    const state = this.state;
    if (state.name !== 'TRANSACTION') return replies.signOff();
    this.state = { name: 'UPDATE', user: state.user };
    const doomed = [...state.deleted].map((number) => state.messages[number - 1]).filter((m) => m !== undefined);
    try {
      if (doomed.length > 0) await state.maildrop.expunge(doomed);
    } catch (error) {
      this.log.error({ err: error }, 'deleting messages failed');
      return replies.updateFailed();
    } finally {
      // Before the reply: a client that logs in again as soon as it has the +OK (fetchmail
      // polling) must find the maildrop free, even when the store had to wait for a busy database.
      await state.maildrop.release().catch((error: unknown) => this.log.error({ err: error }, 'releasing the lock failed'));
    }
    this.log.info({ deleted: doomed.length }, 'session updated');
    return replies.updated(doomed.length);
  }

  /** End the session (idempotent): nothing is deleted unless UPDATE already ran. */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.reader?.stop();
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.continuation = undefined;
    this.data.fail(new ConnectionClosedError());
    const state = this.state;
    if (this.wait !== undefined && state.name === 'TRANSACTION') {
      this.deps.hub.remove(state.user, this.wait);
      this.wait.cancel();
      this.wait = undefined;
    }
    if (state.name === 'TRANSACTION') {
      state.maildrop.release().catch((error: unknown) => this.log.error({ err: error }, 'releasing the lock failed'));
    }
    if (this.countedUser !== undefined) this.deps.userSessions.remove(this.countedUser);
    this.countedUser = undefined;
    this.socket.end();
    // Give the last reply a moment to leave, then make sure the socket is gone.
    const timer = setTimeout(() => this.socket.destroy(), 2000);
    timer.unref();
    this.socket.once('close', () => clearTimeout(timer));
    if (this.socket.destroyed) clearTimeout(timer);
    this.log.debug('session closed');
    this.resolveClosed();
  }

  /** The server is stopping: a session that is not logged in (or is waiting) and not busy ends now. */
  shutdown(): void {
    if (this.closing || this.busy || this.data.active) return;
    const state = this.state;
    if (state.name !== 'AUTHORIZATION' && !(state.name === 'TRANSACTION' && state.waiting)) return;
    this.write(replies.shuttingDownLine());
    this.close();
  }

  /** The drain deadline passed: end the session whatever it is doing (nothing is deleted). */
  abort(): void {
    if (this.closing) return;
    if (!this.busy) this.write(replies.shuttingDownLine());
    this.close();
    this.socket.destroy();
  }

  // ---- Input --------------------------------------------------------------------------------

  private readonly onSocketError = (error: Error): void => {
    this.log.debug({ err: error }, 'connection error');
    this.close();
  };
  private readonly onSocketClose = (): void => this.close();

  private attach(socket: Socket): void {
    socket.on('error', this.onSocketError);
    socket.on('close', this.onSocketClose);
    socket.setNoDelay(true);
    this.reader = new LineReader(socket, {
      maxLineLength: this.deps.settings.maxLineLength,
      // Bytes as they are (XSEND data); command lines are decoded as UTF-8 in onLine.
      encoding: 'latin1',
      onLine: (line) => this.onLine(line),
      onOverflow: () => this.onOverflow(),
      onError: (error) => {
        this.log.error({ err: error }, 'session failed');
        this.close();
      },
    });
  }

  private async onOverflow(): Promise<void> {
    if (this.data.active) {
      this.data.overflow(this.deps.settings.maxLineLength);
      return;
    }
    this.log.warn({ limit: this.deps.settings.maxLineLength }, 'line too long');
    await this.respond(replies.lineTooLong());
  }

  private async onLine(raw: string): Promise<void> {
    if (this.closing) return;
    this.busy = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    try {
      const reply = this.data.active ? await this.data.line(raw) : await this.handle(utf8(raw));
      if (reply !== undefined && !this.closing) await this.respond(reply);
    } catch (error) {
      if (!(error instanceof ConnectionClosedError)) {
        this.log.error({ err: error }, 'command failed');
        const reply = error instanceof PermanentBackingError ? replies.permanentError() : replies.internalError();
        if (!this.closing) await this.respond(reply).catch(() => this.close());
      } else {
        this.close();
      }
    } finally {
      this.busy = false;
      if (!this.closing) {
        this.armIdleTimer();
        if (this.deps.isStopping()) this.shutdown();
      }
    }
  }

  private async handle(line: string): Promise<Reply | undefined> {
    if (this.deps.isStopping() && this.state.name === 'AUTHORIZATION') return replies.shuttingDown();
    if (this.upgrading) return undefined;
    const next = this.continuation;
    if (next !== undefined) {
      this.continuation = undefined;
      this.log.debug('C: (SASL response)');
      return next(line);
    }
    if (this.state.name === 'TRANSACTION' && this.state.waiting) return this.stopWaiting(this.state, line);
    const resolved = dispatcher.resolve(line, this.state.name);
    this.log.debug({ verb: resolved.kind === 'empty' ? '' : resolved.verb }, 'C: command');
    switch (resolved.kind) {
      case 'empty':
        return replies.emptyCommand();
      case 'unknown':
        return replies.unknownCommand(resolved.verb);
      case 'wrong-state':
        return replies.wrongState(resolved.verb);
      case 'bad-args':
        return replies.wrongArgs(resolved.verb);
      case 'ok':
        return resolved.spec.run(this, resolved.args);
    }
  }

  // ---- Output -------------------------------------------------------------------------------

  private async respond(reply: Reply): Promise<void> {
    switch (reply.kind) {
      case 'line':
        if (reply.bad === true && ++this.badCommands > this.deps.settings.maxBadCommands) {
          this.log.warn({ count: this.badCommands }, 'too many bad commands');
          await this.respond(replies.tooManyBadCommands());
          return;
        }
        if (reply.after === 'starttls') return this.startTls(reply.text);
        await writeWithBackpressure(this.socket, `${reply.text}\r\n`);
        if (reply.after === 'close') this.close();
        if (reply.after === 'wait') this.startWaiting();
        return;
      case 'lines':
        return sendLines(this.socket, reply.text, reply.lines);
      case 'formatted':
        return sendFormatted(this.socket, reply.text, reply.body);
      case 'body':
        return this.sendBody(reply);
      case 'challenge':
        this.continuation = reply.next;
        await writeWithBackpressure(this.socket, `${reply.text}\r\n`);
        return;
      case 'data':
        await writeWithBackpressure(this.socket, `${reply.text}\r\n`);
        this.data.begin(reply.receive);
        return;
    }
  }

  // ---- XSEND --------------------------------------------------------------------------------

  submit(recipients: readonly string[], body: AsyncIterable<Uint8Array>): Promise<Reply> {
    const state = this.state;
    if (state.name !== 'TRANSACTION') return Promise.resolve(replies.wrongState('XSEND'));
    const sender = { user: state.user, remoteAddress: this.options.remoteAddress, secure: this.secure };
    return this.data.submit(this.log, { ...sender, recipients, body });
  }

  // ---- XIDLE --------------------------------------------------------------------------------

  private startWaiting(): void {
    const state = this.state;
    if (state.name !== 'TRANSACTION' || this.closing) return;
    const tx: Transaction = { ...state, waiting: true };
    this.state = tx;
    this.wait = new Wait(tx, {
      socket: this.socket,
      maxPending: this.deps.settings.maxPendingPushes,
      log: this.log,
      onOverflow: () => this.onPushBacklog(),
      onClosed: () => this.close(),
    });
    this.deps.hub.add(state.user, this.wait);
    this.log.debug('waiting for new mail');
    this.wait.wake(); // what arrived since login or since the last wait
  }

  /** DONE (or any other line, which ends the wait with -ERR and is not run). */
  private async stopWaiting(state: Transaction, line: string): Promise<Reply> {
    const tx: Transaction = { ...state, waiting: false };
    this.state = tx;
    const wait = this.wait;
    this.wait = undefined;
    if (wait !== undefined) {
      this.deps.hub.remove(state.user, wait);
      await wait.stop();
    }
    if (line.trim().toUpperCase() !== 'DONE') return replies.waitBadLine();
    const { count, octets } = totals(tx);
    return replies.waitDone(count, octets);
  }

  private onPushBacklog(): void {
    this.log.warn({ limit: this.deps.settings.maxPendingPushes }, 'client not reading new-mail notifications; closing');
    this.write(replies.pushBacklog());
    this.close();
    this.socket.destroy();
  }

  private async sendBody(reply: Extract<Reply, { kind: 'body' }>): Promise<void> {
    const body = await reply.open(); // a failure here is answered -ERR [SYS/TEMP] by onLine
    if (this.closing) {
      await body.close();
      return;
    }
    const options = reply.bodyLines === undefined ? {} : { bodyLines: reply.bodyLines };
    try {
      await sendBody(this.socket, reply.text, body, this.deps.buffers, options);
    } catch (error) {
      if (!(error instanceof TruncatedBodyError)) throw error; // nothing sent yet: -ERR from onLine
      // The +OK is out: no -ERR can follow. Close so the client sees a truncated response.
      if (!(error.cause instanceof ConnectionClosedError)) this.log.error({ err: error.cause }, 'sending a message failed');
      this.close();
      this.socket.destroy();
    }
  }

  private async startTls(text: string): Promise<void> {
    const secureContext = this.deps.secureContext();
    if (secureContext === undefined) {
      await this.respond(replies.stlsUnavailable());
      return;
    }
    this.upgrading = true;
    await new Promise<void>((resolve, reject) =>
      this.socket.write(`${text}\r\n`, (error) => (error ? reject(new ConnectionClosedError()) : resolve())),
    );
    const dropped = this.reader?.stop() ?? 0;
    if (dropped > 0) this.log.info({ bytes: dropped }, 'discarded input pipelined after STLS');
    const plain = this.socket;
    plain.off('close', this.onSocketClose);
    plain.off('error', this.onSocketError);
    plain.on('error', () => {});
    try {
      const secure = await startTls(plain, {
        secureContext,
        handshakeTimeoutMs: this.deps.settings.tlsHandshakeTimeout,
      });
      this.socket = secure;
      this.secure = true;
      this.upgrading = false;
      this.state = { name: 'AUTHORIZATION' };
      this.attach(secure);
      this.log.debug('STLS done');
    } catch (error) {
      this.log.info({ err: error }, 'STLS handshake failed');
      this.close();
    }
  }

  private write(text: string): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(`${text}\r\n`);
  }

  private armIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.log.info('autologout');
      this.write(replies.autologout());
      this.close();
    }, this.deps.settings.autologout);
    this.idleTimer.unref();
  }

  /** Wait without blocking anyone else; returns early (no throw) if the session closes. */
  private async delay(ms: number): Promise<void> {
    if (ms <= 0 || this.closing) return;
    const controller = new AbortController();
    const onClose = (): void => controller.abort();
    void this.closedPromise.then(onClose);
    await sleep(ms, undefined, { signal: controller.signal, ref: false }).catch(() => {});
  }
}

/** A command line as read (latin1: one char per byte), decoded as UTF-8. */
function utf8(raw: string): string {
  return /^[\x00-\x7f]*$/.test(raw) ? raw : Buffer.from(raw, 'latin1').toString('utf8');
}
