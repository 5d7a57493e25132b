/**
 * A client that sends its request and then shuts down its side of the connection (TCP
 * half-close over TLS: a socket's `end()` after the request) gets the whole page, then the close,
 * as nginx answers it; one that half-closes with no request, or before its TLS handshake, is
 * closed at once.
 */
import { connect as connectTcp } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopAll } from '@hearth/testkit/hearth-up';
import { startAdmin, type AdminUp } from './helpers.js';

let a: AdminUp;

beforeAll(async () => {
  a = await startAdmin('{ loginFailureDelay: 10ms, metrics: { auth: loopback } }');
});
afterAll(stopAll);

/** Writes `text` over TLS, ends the write side at once, and reads until the service closes: what it sent, and whether it ended (its FIN). */
function halfClosed(text: string): Promise<{ text: string; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connectTls({ port: a.port, host: '127.0.0.1', servername: 'localhost', ca: a.ca }, () => socket.end(text));
    let got = '';
    let ended = false;
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (got += d));
    socket.on('end', () => (ended = true));
    socket.on('error', reject);
    socket.on('close', () => resolve({ text: got, ended }));
  });
}

describe('a client that half-closes after its request', () => {
  it('gets the whole answer, then the close: a page, and the metrics asked of the supervisor', async () => {
    const page = await halfClosed('GET /sign-in HTTP/1.1\r\nHost: localhost\r\n\r\n');
    expect(page.ended).toBe(true);
    expect(page.text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(page.text).toMatch(/<\/html>\s*(0\r\n\r\n)?$/);
    // Answered once the supervisor has told the service table: after the client's FIN.
    const metrics = await halfClosed('GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n');
    expect(metrics.ended).toBe(true);
    expect(metrics.text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(metrics.text).toContain('hearth_service_up{service="admin"} 1');
    // A second page on a new connection: nothing of the first is held.
    expect((await a.client().get('/sign-in')).status).toBe(200);
  });

  it('is closed at once when it half-closes with no request, or before its TLS handshake', async () => {
    const started = performance.now();
    expect(await halfClosed('')).toEqual({ text: '', ended: true });
    const raw = await new Promise<boolean>((resolve) => {
      const socket = connectTcp(a.port, '127.0.0.1', () => socket.end());
      socket.on('close', () => resolve(true)).resume();
    });
    expect(raw).toBe(true);
    // Well within the keep-alive time (5 s) and the time a first request gets (20 s).
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
