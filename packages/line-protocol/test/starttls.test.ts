import { afterEach, describe, expect, it } from 'vitest';
import { connect as tlsConnect, createSecureContext, type TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import { LineReader, startTls } from '@hearth/line-protocol';
import { makeCert, socketPair, until } from './helpers.js';

const material = makeCert();
const secureContext = createSecureContext(material);

function serve(socket: Socket, seen: string[], secure = false): void {
  const reader = new LineReader(socket, {
    maxLineLength: 100,
    async onLine(line) {
      seen.push(`${secure ? 'tls' : 'plain'}:${line}`);
      if (line === 'STARTTLS' && !secure) {
        socket.write('OK go ahead\r\n');
        reader.stop();
        const upgraded = await startTls(socket, { secureContext, handshakeTimeoutMs: 5000 });
        upgraded.on('error', () => {});
        serve(upgraded as TLSSocket as unknown as Socket, seen, true);
      } else {
        socket.write(`echo ${line}\r\n`);
      }
    },
    onOverflow: () => {},
  });
}

describe('startTls', () => {
  let cleanup: (() => void) | undefined;
  afterEach(() => cleanup?.());

  it('upgrades a live connection and drops plaintext pipelined after the command', async () => {
    const seen: string[] = [];
    const pair = await socketPair((socket) => serve(socket, seen));
    cleanup = pair.close;
    let plain = '';
    pair.client.on('data', (d: Buffer) => (plain += d.toString()));
    pair.client.write('HELLO\r\nSTARTTLS\r\nINJECTED\r\n');
    await until(() => plain.includes('OK go ahead\r\n'));
    pair.client.removeAllListeners('data');
    const secure = tlsConnect({ socket: pair.client, ca: material.cert, servername: 'localhost' });
    secure.on('error', () => {});
    await new Promise<void>((resolve) => secure.once('secureConnect', resolve));
    let encrypted = '';
    secure.on('data', (d: Buffer) => (encrypted += d.toString()));
    secure.write('AFTER\r\n');
    await until(() => encrypted.includes('echo AFTER'));
    expect(seen).toEqual(['plain:HELLO', 'plain:STARTTLS', 'tls:AFTER']);
    secure.destroy();
  });

  it('rejects when the client speaks no TLS', async () => {
    let result: Promise<unknown> | undefined;
    const pair = await socketPair((socket) => {
      result = startTls(socket, { secureContext, handshakeTimeoutMs: 5000 });
    });
    cleanup = pair.close;
    pair.client.write('this is not a client hello\r\n');
    await until(() => result !== undefined);
    await expect(result).rejects.toThrow(/TLS handshake failed|closed/);
  });
});
