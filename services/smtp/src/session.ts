/**
 * How one smtp-server connection is adopted: greeted without smtp-server's fixed 100 ms
 * early-talker pause (unless `greetingDelay` asks for one), replies with our own enhanced codes
 * left alone, and error replies counted so that a client provoking too many is dropped; and how
 * the server drains (`drain`).
 *
 * AUTH is offered in EHLO only once the connection is secure. A quoted local part in MAIL FROM
 * or RCPT TO is read by `quoted-local-part.ts` before smtp-server's address parser sees it.
 *
 * This is the one place that reaches into smtp-server's connection internals (`_setListeners`,
 * `connectionReady`, `send`, `close`, `_dataStream`, `_pendingSockets`, `_parseAddressCommand`,
 * `handler_MAIL`, `handler_RCPT`): `SMTPConnection.init()` arms a hard-coded 100 ms timer before
 * the greeting and there is no option to change it, smtp-server's own `close()` answers every
 * command with 421 from its first moment on, and its address parser refuses quoted local parts
 * with no option or hook to change it. test/mx.test.ts ("greets at once"), test/drain.test.ts
 * and test/quoted-addresses.test.ts fail if that breaks.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { drainUntil, whenEmpty } from '@hearth/runtime';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { SMTPConnection, type SMTPConnectionOptions } from 'smtp-server/lib/smtp-connection.js';
import { installFastDataFeed } from './data-feed.js';
import { readQuotedPath } from './quoted-local-part.js';
import { ENHANCED_CODE, replies, type SmtpReply } from './replies.js';

export interface SessionPolicy {
  /** Pause before the greeting in ms; 0 greets at once. */
  greetingDelay(): number;
  /** Error replies a session may provoke before it is dropped. */
  maxBadCommands(): number;
  /** Told when a session is dropped for too many errors. */
  onTooManyErrors(connection: SMTPConnection): void;
}

export class HearthSmtpServer extends SMTPServer {
  readonly #policy: SessionPolicy;
  /** Every accepted TCP socket until it closes: greeted, or still in its TLS handshake. */
  readonly #sockets = new Set<Socket>();
  #onSocketClosed = (): void => {};
  /** Serving; draining (sessions go on as usual); or past the goodbye time. */
  #drain: { kind: 'serving' } | { kind: 'draining' } | { kind: 'goodbye' } = { kind: 'serving' };

  constructor(options: SMTPServerOptions, policy: SessionPolicy) {
    super(options);
    this.#policy = policy;
    installFastDataFeed();
    this.server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => {
        this.#sockets.delete(socket);
        this.#onSocketClosed();
      });
    });
  }

  /**
   * Drain, by the runtime's rule (`drainUntil`): accept nothing new; every accepted connection,
   * greeted or still in its TLS handshake, goes on normally until its client quits; at the goodbye
   * time each session still open gets `421` and closes, between commands (one reading a message
   * gets its reply first); at `deadline` the rest are cut.
   */
  async drain(deadline: number): Promise<void> {
    this.#drain = { kind: 'draining' };
    const open = whenEmpty(() => this.#sockets.size);
    this.#onSocketClosed = open.changed;
    this.server.close(() => open.changed());
    await drainUntil(deadline, {
      idle: open.empty,
      goodbye: () => {
        this.#drain = { kind: 'goodbye' };
        for (const connection of this.connections) this.#goodbye(connection);
      },
      destroy: () => {
        for (const socket of this.#sockets) socket.destroy();
      },
    });
  }

  /** Past the goodbye time: 421 and close, unless a message is being read (then after its reply). */
  #goodbye(connection: SMTPConnection): void {
    if (connection._dataStream) return;
    connection.send(replies.shuttingDown.code, replies.shuttingDown.text, false);
    connection.close();
  }

  /** smtp-server's `connect`, with `init()` replaced by `#start`. */
  override connect(socket: Socket | TLSSocket, socketOptions?: SMTPConnectionOptions | null): void {
    const connection = new SMTPConnection(this, socket, socketOptions);
    this.connections.add(connection);
    connection.on('error', (err: Error) => this._onError(err));
    connection.on('connect', (data) => this._onClientConnect(data));
    this.#hookReplies(connection);
    this.#hookQuotedLocalParts(connection);
    this.#start(connection);
    // A TLS handshake that ended after the goodbye time: greeted, then told at once.
    if (this.#drain.kind === 'goodbye') setImmediate(() => this.#goodbye(connection));
  }

  /**
   * Ends a connection accepted as `socket` that has no session yet. During an implicit-TLS
   * handshake that is the TLS socket smtp-server wrapped around it: destroying the plain socket
   * under a TLS handshake in progress crashes Node 20 (a segmentation fault, seen in the tests).
   */
  abortPending(socket: Socket): void {
    (this._pendingSockets.get(socket) ?? socket).destroy();
  }

  #start(connection: SMTPConnection): void {
    connection._setListeners(() => {
      const delay = this.#policy.greetingDelay();
      if (delay <= 0) {
        connection.connectionReady();
        return;
      }
      // A client talking before the greeting is refused by smtp-server ("You talk too soon").
      setTimeout(() => connection.connectionReady(), delay).unref();
    });
  }

  /**
   * MAIL FROM and RCPT TO with a quoted local part: bad quoting is answered 501 naming what is
   * wrong (where smtp-server's parser fails, before any other check of the command); good quoting
   * goes through smtp-server's parser with a stand-in local part, and the address it returns
   * carries the quoted local part as the client gave it.
   */
  #hookQuotedLocalParts(connection: SMTPConnection): void {
    const parse = connection._parseAddressCommand.bind(connection);
    connection._parseAddressCommand = (name, command) => {
      const path = readQuotedPath(command.toString());
      if (path.kind === 'unquoted') return parse(name, command);
      if (path.kind === 'invalid') return false;
      const parsed = parse(name, path.standIn);
      if (!parsed) return false;
      return { ...parsed, address: path.localPart + parsed.address.slice(parsed.address.lastIndexOf('@')) };
    };
    const refuseBadQuoting =
      (handler: SMTPConnection['handler_MAIL'], reply: (problem: string) => SmtpReply): SMTPConnection['handler_MAIL'] =>
      (command, callback) => {
        const path = readQuotedPath(command.toString());
        if (path.kind !== 'invalid') {
          handler.call(connection, command, callback);
          return;
        }
        const { responseCode, message } = reply(path.problem);
        connection.send(responseCode, message);
        callback();
      };
    connection.handler_MAIL = refuseBadQuoting(connection.handler_MAIL, replies.badSenderSyntax);
    connection.handler_RCPT = refuseBadQuoting(connection.handler_RCPT, replies.badRecipientSyntax);
  }

  #hookReplies(connection: SMTPConnection): void {
    const send = connection.send.bind(connection);
    let errors = 0;
    connection.send = (code, data, context) => {
      // AUTH is offered only once the connection is secure: a client must not send its password
      // in clear text only to be told to STARTTLS first (smtp-server lists it either way).
      if (code === 250 && Array.isArray(data) && !connection.secure) data = data.filter((line) => !line.startsWith('AUTH '));
      // Our reply texts start with their own enhanced status code: do not add another one.
      const own = typeof data === 'string' && ENHANCED_CODE.test(data);
      send(code, data, own ? false : context);
      // Past the goodbye time, a reply ends the command under way: the session ends after it.
      if (this.#drain.kind === 'goodbye' && code !== 421 && !connection._closing) setImmediate(() => this.#goodbye(connection));
      if (code < 500 || code >= 600) return;
      errors++;
      if (errors === this.#policy.maxBadCommands()) {
        this.#policy.onTooManyErrors(connection);
        send(replies.tooManyErrors.code, replies.tooManyErrors.text, false); // 421 closes
      }
    };
  }
}
