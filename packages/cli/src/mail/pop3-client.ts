/**
 * A small POP3 client for `hearth mail`: lines as bytes, multi-line responses dot-unstuffed,
 * STLS or implicit TLS (POP3S) with certificate verification, and Hearth's XIDLE/XSEND
 * extensions (services/pop3 README).
 * Every failure is a MailClientError with one line fit for the terminal.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';

export class MailClientError extends Error {
  override readonly name = 'MailClientError';
  constructor(
    message: string,
    /** Whether trying again later may help (connection lost, server restarting). */
    readonly transient = false,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** No connection to the server was made (refused, unknown host, timed out). */
export class ConnectError extends MailClientError {
  constructor(message: string, transient = true) {
    super(message, transient);
  }
}

/** The server answered -ERR. */
export class Pop3ReplyError extends MailClientError {
  constructor(
    readonly command: string,
    readonly reply: string,
  ) {
    super(`${command}: ${reply.replace(/^-ERR ?/, '') || 'refused'}`, /\[SYS\/TEMP\]/.test(reply));
  }
}

export interface TlsChoice {
  /** PEM CA certificates to trust (the suite's generated certificate, or --cafile); undefined: system CAs. */
  readonly ca?: string | Buffer;
  /** Skip certificate verification (--insecure). */
  readonly insecure: boolean;
}

const LF = 0x0a;
const MAX_LINE = 64 * 1024;

export class Pop3Client {
  private buffer: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private ended = false;
  private failure: Error | undefined;
  private capabilities = new Map<string, string>();
  private tls = false;

  private constructor(
    private socket: Socket | TLSSocket,
    readonly host: string,
    readonly port: number,
  ) {
    this.attach(socket);
  }

  /**
   * Connect and read the greeting. With `tls` (a listener of implicit TLS, POP3S), the TLS
   * handshake comes first, the certificate verified as `startTls` verifies it.
   */
  static async connect(host: string, port: number, tls?: TlsChoice, timeoutMs = 10_000): Promise<Pop3Client> {
    const socket = tls === undefined ? netConnect({ host, port }) : tlsConnect({ host, port, ...tlsOptions(host, tls) });
    let connected = false;
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(connected ? new MailClientError(`TLS with ${host}:${port} failed: timed out`, true) : new ConnectError(`cannot connect to ${host}:${port}: timed out`)),
          timeoutMs,
        );
        socket.once('connect', () => {
          connected = true;
          if (tls === undefined) {
            clearTimeout(timer);
            resolve();
          }
        });
        socket.once('secureConnect', () => {
          clearTimeout(timer);
          resolve();
        });
        socket.once('error', (error: NodeJS.ErrnoException) => {
          clearTimeout(timer);
          reject(connected ? tlsError(host, port, error) : connectError(host, port, error));
        });
      });
    } catch (error) {
      socket.destroy();
      throw error;
    }
    const client = new Pop3Client(socket, host, port);
    client.tls = tls !== undefined;
    const greeting = await client.readLine();
    if (!greeting.startsWith('+OK')) {
      client.close();
      throw new MailClientError(`${host}:${port} refused the session: ${greeting.replace(/^-ERR ?/, '')}`, true);
    }
    return client;
  }

  get secure(): boolean {
    return this.tls;
  }

  has(capability: string): boolean {
    return this.capabilities.has(capability.toUpperCase());
  }

  /** A capability's argument text (`X-HEARTH-SEND 25000000` -> `25000000`). */
  capability(name: string): string | undefined {
    return this.capabilities.get(name.toUpperCase());
  }

  /** CAPA; a server without it has no extensions. */
  async capa(): Promise<void> {
    this.capabilities = new Map();
    this.send('CAPA');
    const status = await this.readLine();
    if (!status.startsWith('+OK')) return;
    for (const line of await this.readBodyLines()) {
      const [name = '', ...rest] = line.split(' ');
      this.capabilities.set(name.toUpperCase(), rest.join(' '));
    }
  }

  /** STLS (RFC 2595), verifying the server's certificate unless insecure; CAPA again afterwards. */
  async startTls(choice: TlsChoice): Promise<void> {
    await this.command('STLS');
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('end');
    plain.removeAllListeners('close');
    const secure = tlsConnect({ socket: plain, ...tlsOptions(this.host, choice) });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', (error: Error) => reject(tlsError(this.host, this.port, error)));
    });
    this.socket = secure;
    this.tls = true;
    this.attach(secure);
    await this.capa();
  }

  async login(user: string, password: string): Promise<void> {
    try {
      await this.command(`USER ${user}`);
      await this.command(`PASS ${password}`, 'PASS');
    } catch (error) {
      if (error instanceof Pop3ReplyError) {
        const reason = error.reply.replace(/^-ERR ?/, '').replace(/^\[AUTH\] /, '');
        throw new MailClientError(`login as ${user} failed: ${reason}`, /\[SYS\/TEMP\]|\[IN-USE\]/.test(error.reply));
      }
      throw error;
    }
  }

  /** A single-line command; the +OK text, or a Pop3ReplyError. `shown` replaces the line in errors. */
  async command(line: string, shown = line): Promise<string> {
    this.send(line);
    const status = await this.readLine();
    if (!status.startsWith('+OK')) throw new Pop3ReplyError(shown, status);
    return status.slice(3).trim();
  }

  /** A multi-line command: its lines, dot-unstuffed, as text. */
  async lines(line: string): Promise<string[]> {
    await this.command(line);
    return this.readBodyLines();
  }

  /** A multi-line command whose body is a message: its bytes with CRLF line ends. */
  async message(line: string): Promise<Buffer> {
    await this.command(line);
    const parts: Buffer[] = [];
    for (;;) {
      const raw = await this.readRawLine();
      if (raw.length === 1 && raw[0] === 0x2e) return Buffer.concat(parts);
      parts.push(raw[0] === 0x2e ? raw.subarray(1) : raw, Buffer.from('\r\n'));
    }
  }

  /** XSEND: the message (any line ends) dot-stuffed after the go-ahead; the final +OK text. */
  async xsend(recipients: readonly string[], message: Buffer): Promise<string> {
    await this.command(`XSEND ${recipients.join(' ')}`);
    const lines = message.toString('latin1').split(/\r?\n/);
    if (lines.at(-1) === '') lines.pop();
    const stuffed = lines.map((l) => (l.startsWith('.') ? `.${l}\r\n` : `${l}\r\n`)).join('');
    this.socket.write(Buffer.from(`${stuffed}.\r\n`, 'latin1'));
    const status = await this.readLine();
    if (!status.startsWith('+OK')) throw new Pop3ReplyError('XSEND', status);
    return status.slice(3).trim();
  }

  send(line: string): void {
    if (this.failure !== undefined || this.ended) return;
    this.socket.write(`${line}\r\n`);
  }

  /** The next line as text (UTF-8), without its line end. */
  async readLine(): Promise<string> {
    return (await this.readRawLine()).toString('utf8');
  }

  async readRawLine(): Promise<Buffer> {
    for (;;) {
      const nl = this.buffer.indexOf(LF);
      if (nl >= 0) {
        const end = nl > 0 && this.buffer[nl - 1] === 0x0d ? nl - 1 : nl;
        const line = this.buffer.subarray(0, end);
        this.buffer = this.buffer.subarray(nl + 1);
        return line;
      }
      if (this.buffer.length > MAX_LINE) throw new MailClientError(`${this.host}:${this.port} sent a line too long`);
      if (this.failure !== undefined || this.ended) {
        throw new MailClientError(`connection to ${this.host}:${this.port} lost`, true, { cause: this.failure });
      }
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  /** Politely end the session (QUIT), then close. */
  async quit(): Promise<void> {
    try {
      await this.command('QUIT');
    } catch {
      // Closing anyway.
    }
    this.close();
  }

  close(): void {
    this.socket.destroy();
  }

  private async readBodyLines(): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.readLine();
      if (line === '.') return lines;
      lines.push(line.startsWith('.') ? line.slice(1) : line);
    }
  }

  private attach(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    socket.on('error', (error: Error) => {
      this.failure = error;
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}

/** The TLS options of both ways in (STLS, implicit TLS): the same trust, the same name checked. */
function tlsOptions(host: string, choice: TlsChoice): ConnectionOptions {
  return {
    ...(isIP(host) === 0 ? { servername: host } : {}),
    ...(choice.ca !== undefined ? { ca: choice.ca } : {}),
    rejectUnauthorized: !choice.insecure,
  };
}

function tlsError(host: string, port: number, error: Error): MailClientError {
  return new MailClientError(`TLS with ${host}:${port} failed: ${error.message}`, false, { cause: error });
}

function connectError(host: string, port: number, error: NodeJS.ErrnoException): ConnectError {
  const where = `${host}:${port}`;
  switch (error.code) {
    case 'ECONNREFUSED':
      return new ConnectError(`cannot connect to ${where}: connection refused (is the suite running? try hearth up)`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ConnectError(`cannot connect to ${where}: unknown host`, error.code === 'EAI_AGAIN');
    default:
      return new ConnectError(`cannot connect to ${where}: ${error.message}`);
  }
}
