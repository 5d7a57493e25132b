/**
 * A loopback client of a line protocol (POP3, SMTP), read as CRLF lines: `expect(send, reply)`
 * for transcripts in tests, `line(step, deadline)` for loops that must give up in time (the mail
 * churn). Everything that goes wrong is a `LineFailure` naming the step and what happened: the
 * reply that did not match, the close, the error, or no reply by the deadline.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';

export class LineFailure extends Error {}

export class LineClient {
  readonly #socket: net.Socket;
  #buffer = '';
  /** Why no more lines will come (closed, error), once so. */
  #ended: string | undefined;
  #wake: (() => void) | undefined;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.#buffer += d;
      this.#wake?.();
    });
    socket.on('error', (err) => (this.#ended ??= `connection error (${(err as NodeJS.ErrnoException).code ?? err.message})`));
    socket.on('close', () => {
      this.#ended ??= 'connection closed';
      this.#wake?.();
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, host);
      socket.once('connect', () => resolve(new LineClient(socket)));
      socket.once('error', (err) => reject(new LineFailure(`connect: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
    });
  }

  /** The next line, without its CRLF; `step` names it in the failure (closed, or none by `deadline`, a performance.now() time). */
  async line(step = 'reply', deadline = Infinity): Promise<string> {
    for (;;) {
      const nl = this.#buffer.indexOf('\r\n');
      if (nl !== -1) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 2);
        return line;
      }
      if (this.#ended !== undefined) throw new LineFailure(`${step}: ${this.#ended}`);
      if (performance.now() >= deadline) throw new LineFailure(`${step}: no reply in time`);
      await this.#event(deadline);
    }
  }

  /** Writes `text` as it is (add the CRLF). */
  send(text: string): void {
    this.#socket.write(text);
  }

  /** Sends `line` and CRLF (unless null: the greeting), reads one line and checks it against `reply`. */
  async expect(line: string | null, reply: RegExp, deadline = Infinity): Promise<string> {
    if (line !== null) this.send(`${line}\r\n`);
    const step = line ?? 'greeting';
    const got = await this.line(step, deadline);
    if (!reply.test(got)) throw new LineFailure(`${step}: expected ${String(reply)}, got ${got}`);
    return got;
  }

  /** Sends a POP3 command with a multi-line answer; returns its lines up to the final dot. */
  async multiline(line: string, deadline = Infinity): Promise<string[]> {
    await this.expect(line, /^\+OK/, deadline);
    const lines: string[] = [];
    for (let l = await this.line(line, deadline); l !== '.'; l = await this.line(line, deadline)) lines.push(l);
    return lines;
  }

  /** Waits for the server to close the connection (after QUIT). */
  async closed(step = 'close', deadline = Infinity): Promise<void> {
    while (this.#ended === undefined) {
      if (performance.now() >= deadline) throw new LineFailure(`${step}: not closed in time`);
      await this.#event(deadline);
    }
  }

  destroy(): void {
    this.#socket.destroy();
  }

  /** Until data, a close or `deadline`. */
  async #event(deadline: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = Number.isFinite(deadline) ? setTimeout(resolve, deadline - performance.now()) : undefined;
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wake = undefined;
  }
}
