/**
 * One POP3 session on one connection. The RFC state (state.ts) changes only here: `login` moves
 * AUTHORIZATION -> TRANSACTION (when login.ts's policy lets it), `quit` moves TRANSACTION ->
 * UPDATE (update.ts: deletions, then the lock released before the reply), STLS back to
 * AUTHORIZATION; `close` ends everything (releasing the lock, deleting nothing unless UPDATE ran).
 * What the connection is doing (reading commands, handling a line, a SASL continuation, an XIDLE
 * wait, an XSEND message, a TLS handshake, closed) is its phase (session-state.ts). A draining
 * instance changes nothing here until its goodbye time (`goodbye`): sessions work as usual.
 *
 * Each line goes through the guards in a fixed order: XSEND data under way (phase), TLS upgrade
 * under way (phase: nothing read), then command-line.ts's: pending SASL continuation, in
 * TRANSACTION the login's credentials still the user's (the password not set and the account not
 * disabled or deleted since; a waiting session, which sends no line, is also checked by its
 * wait), XIDLE waiting (only DONE), unknown verb (counted), wrong state, bad arguments, then the
 * handler.
 *
 * Hearth's extensions (README): an XIDLE wait is begun, ended and cancelled by session-wait.ts (a
 * `Wait`, waiting.ts, that the PushHub wakes); XSEND's message is read by a `DataPhase`
 * (data-phase.ts) through an Intake into the store.
 */
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConnectionClosedError, LineReader, writeWithBackpressure } from '@hearth/line-protocol';
import type { Logger } from '@hearth/log';
import { sendBodyReply } from './body-reply.js';
import { sendFormatted, sendLines } from './body-writer.js';
import { decodeCommandLine, replyToLine } from './command-line.js';
import { totals } from './commands/listing.js';
import type { CommandContext, LoginAttempt } from './commands/context.js';
import type { Pop3Settings } from './config.js';
import { DataPhase } from './data-phase.js';
import { authorize } from './login.js';
import { PermanentBackingError, type MailBacking } from './maildrop.js';
import { replies, type Reply } from './replies.js';
import { CLOSED, COMMANDS, START, lineArrives, lineDone, lineRefused, mayEndAtGoodbye, nextLineIs, upgraded, upgrading, waitOf, type Phase } from './session-state.js';
import type { SessionDeps, SessionOptions } from './session-deps.js';
import { upgradeToTls } from './session-tls.js';
import { beginWait, cancelWait } from './session-wait.js';
import type { SessionState } from './state.js';
import { update } from './update.js';

export type { SessionDeps, SessionOptions };

export class Pop3Session implements CommandContext {
  state: SessionState = { name: 'AUTHORIZATION' };
  secure: boolean;
  readonly timestamp: string;
  private socket: Socket;
  /** What the connection is doing (session-state.ts): changed only through its functions. */
  private phase: Phase = START;
  private reader: LineReader | undefined;
  private badCommands = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private countedUser: string | undefined;
  /** XSEND: the message being read while the mode is `data`. */
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
    this.data = new DataPhase({ backing, hub, hostname, domain: domains[0] ?? 'localhost', maxSize: settings.maxSendSize, counters: deps.counters });
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  get settings(): Pop3Settings {
    return this.deps.settings;
  }
  get counters(): SessionDeps['counters'] {
    return this.deps.counters;
  }

  get backing(): MailBacking {
    return this.deps.backing;
  }
  get localDomains(): ReadonlySet<string> {
    return this.deps.localDomains;
  }
  get canStartTls(): boolean {
    return !this.secure && this.deps.secureContext() !== undefined;
  }
  get plaintextAllowed(): boolean {
    return this.secure || this.options.loopback || this.deps.settings.allowPlaintextAuth;
  }
  private get closing(): boolean {
    return this.phase.kind === 'closed';
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
    const { user: canonical, stamp, maildrop } = outcome;
    this.deps.counters.inc('authSuccesses');
    this.deps.userSessions.add(canonical);
    this.countedUser = canonical;
    const messages = [...maildrop.messages];
    const { count, octets } = totals({ messages, deleted: new Set() });
    this.state = {
      name: 'TRANSACTION',
      user: canonical,
      stamp,
      maildrop,
      listed: maildrop.messages,
      messages,
      deleted: new Set(),
      retrieved: { messages: 0, bytes: 0 },
    };
    this.log = this.log.child({ user: canonical });
    this.log.info({ mechanism: attempt.mechanism, messages: messages.length }, 'logged in');
    return replies.loggedIn(count, octets);
  }

  async quit(): Promise<Reply> {
    const state = this.state;
    if (state.name !== 'TRANSACTION') return replies.signOff();
    this.state = { name: 'UPDATE', user: state.user };
    return update(state, this.log, this.deps.counters);
  }

  /** End the session (idempotent): nothing is deleted unless UPDATE already ran. */
  close(): void {
    if (this.closing) return;
    const wait = waitOf(this.phase);
    this.phase = CLOSED;
    this.reader?.stop();
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.data.fail(new ConnectionClosedError());
    const state = this.state;
    if (wait !== undefined && state.name === 'TRANSACTION') cancelWait(state, wait, this.deps.hub);
    if (state.name === 'TRANSACTION') {
      // Logged in, gone without QUIT (dropped, autologout, shutdown): what it did, and that its DELEs are void.
      this.log.info({ retrieved: state.retrieved.messages, bytes: state.retrieved.bytes, marked: state.deleted.size }, 'logged out without QUIT: nothing deleted');
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

  /**
   * The draining instance's goodbye time has come: a session between commands says
   * `-ERR [SYS/TEMP]` and ends now (nothing is deleted); one in the middle of a command ends when
   * that command's reply is out, one reading an XSEND message after its final dot.
   */
  goodbye(): void {
    if (!mayEndAtGoodbye(this.phase)) return;
    this.write(replies.shuttingDownLine());
    this.close();
  }

  /** The drain deadline passed: end the session whatever it is doing (nothing is deleted). */
  abort(): void {
    if (this.closing) return;
    if (this.phase.kind === 'ready') this.write(replies.shuttingDownLine());
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
    if (this.phase.kind === 'ready' && this.phase.mode.kind === 'data') {
      this.data.overflow(this.deps.settings.maxLineLength);
      return;
    }
    this.log.warn({ limit: this.deps.settings.maxLineLength }, 'line too long');
    this.phase = lineRefused(this.phase);
    await this.respond(replies.lineTooLong());
  }

  private async onLine(raw: string): Promise<void> {
    const arrived = lineArrives(this.phase);
    if (arrived === undefined) return;
    this.phase = arrived.phase;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    try {
      const reply =
        arrived.input.kind === 'data' ? await this.dataLine(raw) : await replyToLine(this, decodeCommandLine(raw), arrived.input, this.deps.hub, this.log);
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
      this.phase = lineDone(this.phase);
      if (!this.closing) {
        this.armIdleTimer();
        if (this.deps.goodbyeDue()) this.goodbye();
      }
    }
  }

  /** One line of an XSEND message; at the final dot, the delivery's reply and commands again. */
  private async dataLine(raw: string): Promise<Reply | undefined> {
    const reply = await this.data.line(raw);
    if (reply !== undefined) this.phase = nextLineIs(this.phase, COMMANDS);
    return reply;
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
        this.phase = nextLineIs(this.phase, { kind: 'continuation', next: reply.next });
        await writeWithBackpressure(this.socket, `${reply.text}\r\n`);
        return;
      case 'data':
        await writeWithBackpressure(this.socket, `${reply.text}\r\n`);
        this.data.begin(reply.receive);
        this.phase = nextLineIs(this.phase, { kind: 'data' });
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

  // ---- XIDLE (session-wait.ts) --------------------------------------------------------------

  private startWaiting(): void {
    const state = this.state;
    if (state.name !== 'TRANSACTION' || this.closing) return;
    beginWait(state, {
      socket: this.socket,
      log: this.log,
      deps: this.deps,
      closing: () => this.closing,
      enter: (wait) => (this.phase = nextLineIs(this.phase, { kind: 'waiting', wait })),
      write: (line) => this.write(line),
      close: () => this.close(),
    });
  }

  private async sendBody(reply: Extract<Reply, { kind: 'body' }>): Promise<void> {
    // A failure before the +OK is answered -ERR [SYS/TEMP] by onLine; after it, the connection ends.
    const sent = await sendBodyReply(this.socket, reply, this.deps.buffers, this.log, () => this.closing);
    if (sent === 'gone') return this.respond(reply.gone);
    if (sent === 'sent') return;
    this.close();
    this.socket.destroy();
  }

  private async startTls(text: string): Promise<void> {
    const secureContext = this.deps.secureContext();
    if (secureContext === undefined) {
      await this.respond(replies.stlsUnavailable());
      return;
    }
    this.phase = upgrading(this.phase);
    const upgrade = await upgradeToTls(this.socket, text, {
      secureContext,
      handshakeTimeoutMs: this.deps.settings.tlsHandshakeTimeout,
      reader: this.reader,
      log: this.log,
      detach: (plain) => plain.off('close', this.onSocketClose).off('error', this.onSocketError),
    });
    if ('error' in upgrade) {
      this.log.info({ err: upgrade.error }, 'STLS handshake failed');
      this.close();
      return;
    }
    this.phase = upgraded(this.phase);
    if (this.closing) {
      upgrade.secure.destroy();
      return;
    }
    this.socket = upgrade.secure;
    this.secure = true;
    this.state = { name: 'AUTHORIZATION' };
    this.attach(upgrade.secure);
    this.log.debug('STLS done');
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
