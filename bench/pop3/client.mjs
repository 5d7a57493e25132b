/**
 * A minimal lock-step POP3 load client over raw sockets: one command in flight, responses read
 * without copying bodies. A multi-line response ends with "\r\n.\r\n"; a body line that is a
 * single dot is sent dot-stuffed, so those five bytes can only be the end, and checking the last
 * five bytes received is enough.
 */
import net from 'node:net';

const TERMINATOR = Buffer.from('\r\n.\r\n');
const MAX_STATUS_LINE = 4096;

export class Pop3Error extends Error {}

export class Pop3Client {
  #socket;
  #pending = null;
  #failure = null;

  constructor(socket) {
    this.#socket = socket;
    socket.on('data', (chunk) => this.#onData(chunk));
    socket.on('error', (error) => this.#fail(error));
    socket.on('close', () => this.#fail(new Pop3Error('connection closed by the server')));
  }

  /** Connects and reads the greeting. */
  static connect(port, { host = '127.0.0.1', timeoutMs = 30_000 } = {}) {
    const socket = net.connect({ port, host, noDelay: true });
    const client = new Pop3Client(socket);
    const greeting = client.#expect(false, false, timeoutMs);
    return greeting.then(
      (reply) => {
        if (!reply.ok) throw new Pop3Error(`greeting: ${reply.status}`);
        client.greeting = reply.status;
        return client;
      },
      (error) => {
        socket.destroy();
        throw error;
      },
    );
  }

  /** Sends one command; resolves { ok, status, bytes, body? } (body only with `keep`). */
  command(line, { multi = false, keep = false, timeoutMs = 30_000 } = {}) {
    const reply = this.#expect(multi, keep, timeoutMs);
    this.#socket.write(`${line}\r\n`);
    return reply;
  }

  /** Like command(), but a -ERR reply rejects. */
  async ok(line, options) {
    const reply = await this.command(line, options);
    if (!reply.ok) throw new Pop3Error(`${line.split(' ')[0]}: ${reply.status}`);
    return reply;
  }

  destroy() {
    this.#socket.destroy();
  }

  #expect(multi, keep, timeoutMs) {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#pending) return Promise.reject(new Pop3Error('a command is already in flight'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.#fail(new Pop3Error(`no reply within ${timeoutMs} ms`)), timeoutMs);
      this.#pending = { multi, keep, resolve, reject, timer, status: null, head: [], headLength: 0, bytes: 0, tail: Buffer.alloc(0), chunks: [] };
    });
  }

  #onData(chunk) {
    const p = this.#pending;
    if (!p) {
      this.#fail(new Pop3Error(`unexpected data from the server: ${JSON.stringify(chunk.toString('latin1', 0, 80))}`));
      return;
    }
    p.bytes += chunk.length;
    if (p.status === null) {
      p.head.push(chunk);
      p.headLength += chunk.length;
      const head = p.head.length === 1 ? chunk : Buffer.concat(p.head, p.headLength);
      const eol = head.indexOf('\r\n');
      if (eol < 0) {
        if (p.headLength > MAX_STATUS_LINE) this.#fail(new Pop3Error('status line too long'));
        return;
      }
      p.status = head.toString('latin1', 0, eol);
      if (!p.multi || !p.status.startsWith('+OK')) {
        if (head.length > eol + 2) this.#fail(new Pop3Error('data after a single-line reply'));
        else this.#finish();
        return;
      }
      // The status line's CRLF belongs to the terminator of an empty multi-line body.
      chunk = head.subarray(eol);
    }
    if (p.keep) p.chunks.push(chunk);
    p.tail = chunk.length >= 5 ? chunk.subarray(chunk.length - 5) : Buffer.concat([p.tail, chunk]).subarray(-5);
    if (p.tail.equals(TERMINATOR)) this.#finish();
  }

  #finish() {
    const p = this.#pending;
    this.#pending = null;
    clearTimeout(p.timer);
    p.resolve({ ok: p.status.startsWith('+OK'), status: p.status, bytes: p.bytes, body: p.keep ? Buffer.concat(p.chunks) : undefined });
  }

  #fail(error) {
    this.#failure ??= error;
    const p = this.#pending;
    this.#pending = null;
    this.#socket.destroy();
    if (p) {
      clearTimeout(p.timer);
      p.reject(error);
    }
  }
}


/** Connect, USER/PASS; resolves the logged-in client. */
export async function login(port, user, password, options) {
  const client = await Pop3Client.connect(port, options);
  try {
    await client.ok(`USER ${user}`);
    await client.ok(`PASS ${password}`);
    return client;
  } catch (error) {
    client.destroy();
    throw error;
  }
}

/** The measured session: connect, USER/PASS, STAT, LIST, UIDL, RETR `message`, QUIT. */
export async function fullSession(port, user, password, message) {
  const client = await login(port, user, password);
  try {
    await client.ok('STAT');
    await client.ok('LIST', { multi: true });
    await client.ok('UIDL', { multi: true });
    const retr = await client.ok(`RETR ${message}`, { multi: true });
    await client.ok('QUIT');
    return retr.bytes;
  } finally {
    client.destroy();
  }
}

/** Message numbers by size, from a LIST reply: { small: first under 64 KiB, big: first over 512 KiB }. */
export function pickMessages(listBody) {
  let small;
  let big;
  for (const line of listBody.toString('latin1').split('\r\n')) {
    const m = /^(\d+) (\d+)$/.exec(line);
    if (!m) continue;
    const [n, size] = [Number(m[1]), Number(m[2])];
    if (small === undefined && size < 64 * 1024) small = { n, size };
    if (big === undefined && size > 512 * 1024) big = { n, size };
  }
  return { small, big };
}
