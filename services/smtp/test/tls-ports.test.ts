/**
 * The TLS ports: SMTPS counts connections from accept (handshake included) and bounds the
 * handshake; a refusal there closes without a clear-text byte; submission offers AUTH only
 * after STARTTLS; connection-level warnings are bounded.
 */
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { readFile } from 'node:fs/promises';
import { createLogger } from '@hearth/log';
import { afterEach, describe, expect, it } from 'vitest';
import { python, RawClient, startTestSmtp, type TestSmtp } from './harness.js';

let smtp: TestSmtp | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await smtp?.close();
  smtp = undefined;
});

/** A TCP connection that never starts TLS; resolves once connected. */
function halfOpen(port: number, localAddress = '127.0.0.1'): Promise<{ socket: Socket; bytes: () => number; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    sockets.push(socket);
    let bytes = 0;
    socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, bytes: () => bytes, closed }));
    socket.once('error', reject);
  });
}

/** The SMTPS greeting a TLS client from `localAddress` gets. */
async function tlsGreeting(port: number, ca: string, localAddress = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const tcp = connect({ port, host: '127.0.0.1', localAddress });
    const socket = tlsConnect({ socket: tcp, servername: 'localhost', ca });
    sockets.push(socket);
    socket.setEncoding('utf8');
    socket.once('data', (line: string) => {
      resolve(line);
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

describe('SMTPS', () => {
  it('counts handshakes against the per-address limit, closes refusals without a byte, and times handshakes out', async () => {
    smtp = await startTestSmtp({ settings: { maxClientsPerIp: 2, tlsHandshakeTimeout: '1s' } });
    const port = smtp.port('smtps');
    const ca = await readFile(smtp.certs.cert, 'utf8');
    const a = await halfOpen(port);
    const b = await halfOpen(port);
    // A third from the same address: over the limit while the two are still in their handshake.
    const c = await halfOpen(port);
    await c.closed;
    expect(c.bytes()).toBe(0);
    // Another address is not blocked by them.
    expect(await tlsGreeting(port, ca, '127.0.0.2')).toMatch(/^220 /);
    // The handshake deadline ends the half-open ones (well before the 5-minute idle timeout)...
    await Promise.all([a.closed, b.closed]);
    expect(a.bytes() + b.bytes()).toBe(0);
    // ... and frees their address.
    expect(await tlsGreeting(port, ca)).toMatch(/^220 /);
  });
});

describe('submission', () => {
  it('offers AUTH only after STARTTLS', async () => {
    smtp = await startTestSmtp();
    const result = await python(
      `s = smtplib.SMTP(HOST, PORT, timeout=10)
s.ehlo("laptop.example")
before = s.has_extn("auth")
s.starttls(context=ctx())
s.ehlo("laptop.example")
after = s.esmtp_features.get("auth")
s.quit()
out([before, after.strip()])`,
      { port: smtp.port('submission'), ca: smtp.certs.cert },
    );
    expect(result).toEqual([false, 'PLAIN LOGIN']);
  });
});

describe('connection-level warnings', () => {
  it('are bounded under a flood of refused connections', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
        done();
      },
    });
    smtp = await startTestSmtp({ settings: { maxClientsPerIp: 1 }, log: createLogger({ svc: 'smtp', level: 'info', destination: sink }) });
    const held = await RawClient.connect(smtp.port('mx'));
    expect(await held.reply()).toMatch(/^220 /);
    for (let i = 0; i < 200; i++) {
      const refused = await RawClient.connect(smtp.port('mx'));
      expect(await refused.reply()).toMatch(/^421 /);
      await refused.closed;
    }
    held.destroy();
    const warnings = lines.filter((l) => JSON.parse(l).level === 40);
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings.length).toBeLessThanOrEqual(20);
  });
});
