/**
 * The load generator: `concurrency` SMTP clients over raw sockets, lock-step (no PIPELINING),
 * EHLO once per connection, then MAIL / RCPT / DATA / body per message, up to `perConnection`
 * messages before QUIT and a fresh connection. The cell ends when `seconds` have passed or
 * `maxMessages` were sent; a message in flight at the deadline is finished and counted.
 *
 * Latency of one message: from writing MAIL FROM to reading the final reply to the body.
 */
import { connect } from 'node:net';

/** A message of about `size` bytes: a few headers and 76-character lines, CRLF, no leading dots. */
export function makeMessage(size, tag) {
  const head =
    `From: bench <bench@localhost>\r\nTo: bench <bench@localhost>\r\nSubject: bench ${tag}\r\n` +
    `Message-ID: <${tag}.${Date.now()}@bench.localhost>\r\n\r\n`;
  const line = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmno\r\n'; // 78 bytes
  const lines = Math.max(1, Math.floor((size - head.length) / line.length));
  return Buffer.from(head + line.repeat(lines) + '.\r\n', 'latin1');
}

/** One SMTP connection in lock-step: `command()` writes and resolves with the final reply line. */
class Conversation {
  #socket;
  #buffer = '';
  #waiting = [];
  #closed = false;

  static open(port, host) {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host, noDelay: true });
      const conversation = new Conversation(socket);
      socket.once('connect', () => resolve(conversation));
      socket.once('error', reject);
    });
  }

  constructor(socket) {
    this.#socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (text) => this.#onData(text));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.#closed = true;
      for (const waiter of this.#waiting.splice(0)) waiter.reject(new Error('connection closed'));
    });
  }

  #onData(text) {
    this.#buffer += text;
    let end;
    while ((end = this.#buffer.indexOf('\r\n')) !== -1) {
      const line = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      if (line.length >= 4 && line[3] === '-') continue; // continuation of a multi-line reply
      const waiter = this.#waiting.shift();
      if (waiter) waiter.resolve(line);
    }
  }

  /** Reads the next reply (the greeting, or the answer to what was written). */
  reply() {
    if (this.#closed) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  async command(data, expect) {
    const pending = this.reply();
    this.#socket.write(data);
    const line = await pending;
    if (!line.startsWith(expect)) throw new Error(`expected ${expect}, got: ${line}`);
    return line;
  }

  close() {
    this.#socket.end();
    this.#socket.destroy();
  }
}

/**
 * Runs one cell. `recipients` are full addresses; each connection uses one, round-robin.
 * Returns { sent, failed, elapsedMs, latencies (ms, sorted) }.
 */
export async function runLoad({ port, host = '127.0.0.1', concurrency, message, recipients, seconds, maxMessages, perConnection = 100 }) {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const latencies = [];
  let sent = 0;
  let failed = 0;
  let next = 0;
  const errors = new Map();
  const more = () => performance.now() < deadline && sent + failed < maxMessages;

  async function oneConnection(rcpt) {
    const c = await Conversation.open(port, host);
    try {
      await c.reply().then((line) => {
        if (!line.startsWith('220')) throw new Error(`greeting: ${line}`);
      });
      await c.command('EHLO bench.localhost\r\n', '250');
      for (let i = 0; i < perConnection && more(); i++) {
        const t0 = performance.now();
        await c.command('MAIL FROM:<bench@localhost>\r\n', '250');
        await c.command(`RCPT TO:<${rcpt}>\r\n`, '250');
        await c.command('DATA\r\n', '354');
        await c.command(message, '250');
        latencies.push(performance.now() - t0);
        sent++;
      }
      await c.command('QUIT\r\n', '221').catch(() => undefined);
    } finally {
      c.close();
    }
  }

  async function worker() {
    while (more()) {
      const rcpt = recipients[next++ % recipients.length];
      try {
        await oneConnection(rcpt);
      } catch (error) {
        failed++;
        const key = String(error.message).slice(0, 80);
        errors.set(key, (errors.get(key) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  const elapsedMs = performance.now() - started;
  latencies.sort((a, b) => a - b);
  return { sent, failed, elapsedMs, latencies, errors: [...errors] };
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
