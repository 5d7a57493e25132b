import { describe, expect, it } from 'vitest';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { DotStuffer, dotStuff, writeDotStuffed } from '@hearth/line-protocol';
import { socketPair, until } from './helpers.js';

const text = (body: string, bodyLines?: number): string =>
  dotStuff(body, bodyLines === undefined ? {} : { bodyLines }).toString('latin1');

describe('dot-stuffing', () => {
  it('normalises line ends, stuffs leading dots and terminates', () => {
    expect(text('a\nb\r\n.c\n..d\n.\n')).toBe('a\r\nb\r\n..c\r\n...d\r\n..\r\n.\r\n');
    expect(text('no final newline')).toBe('no final newline\r\n.\r\n');
    expect(text('')).toBe('.\r\n');
    expect(text('a\rb\n')).toBe('a\rb\r\n.\r\n');
  });

  it('TOP: header, blank line, then the requested number of body lines', () => {
    const msg = 'Subject: x\r\nFrom: y\r\n\r\nline1\r\n.line2\r\nline3\r\n';
    expect(text(msg, 0)).toBe('Subject: x\r\nFrom: y\r\n\r\n.\r\n');
    expect(text(msg, 2)).toBe('Subject: x\r\nFrom: y\r\n\r\nline1\r\n..line2\r\n.\r\n');
    expect(text(msg, 99)).toBe('Subject: x\r\nFrom: y\r\n\r\nline1\r\n..line2\r\nline3\r\n.\r\n');
    expect(text('Subject: only header\n', 0)).toBe('Subject: only header\r\n.\r\n');
  });

  it('gives the same output however the input is split into chunks', () => {
    const msg = Buffer.from('H: 1\r\n\r\n.a\r\n\r\n..b\nc\r\r\n.\r\nlast');
    for (const bodyLines of [undefined, 0, 1, 3]) {
      const options = bodyLines === undefined ? {} : { bodyLines };
      const whole = dotStuff(msg, options).toString('latin1');
      for (let i = 0; i <= msg.length; i++) {
        for (let j = i; j <= msg.length; j += 3) {
          const stuffer = new DotStuffer(options);
          const parts = [msg.subarray(0, i), msg.subarray(i, j), msg.subarray(j)].flatMap((c) => stuffer.push(c));
          expect(Buffer.concat([...parts, stuffer.finish()]).toString('latin1'), `split ${i}/${j}`).toBe(whole);
        }
      }
    }
  });

  it('streams with back-pressure: a reader that does not read holds the source back', async () => {
    let produced = 0;
    const chunk = Buffer.from('x'.repeat(1023) + '\n');
    const source = new Readable({
      read() {
        produced += chunk.length;
        this.push(produced > 64 * 1024 * 1024 ? null : chunk);
      },
    });
    let done: Promise<void> | undefined;
    let writer: Socket | undefined;
    const pair = await socketPair((socket) => {
      writer = socket;
      done = writeDotStuffed(socket, source);
    });
    try {
      pair.client.pause();
      // The writer fills the socket buffers, then waits for 'drain'.
      await until(() => writer?.writableNeedDrain === true);
      // Socket buffers on both sides plus a few stream chunks; far below the 64 MB on offer.
      expect(produced).toBeLessThan(16 * 1024 * 1024);
      let received = 0;
      let tail = '';
      pair.client.on('data', (data: Buffer) => {
        received += data.length;
        tail = (tail + data.toString('latin1')).slice(-16);
      });
      pair.client.resume();
      await done;
      await until(() => received >= 64 * 1024 * 1025 + 3);
      expect(tail.endsWith('x\r\n.\r\n')).toBe(true);
      expect(received).toBe(64 * 1024 * 1025 + 3);
    } finally {
      pair.close();
    }
  });

  it('rejects when the connection closes mid-body and destroys the source', async () => {
    const source = new Readable({ read() { this.push(Buffer.alloc(65536, 0x61)); } });
    let done: Promise<void> | undefined;
    let writer: Socket | undefined;
    const pair = await socketPair((socket) => {
      writer = socket;
      done = writeDotStuffed(socket, source);
    });
    pair.client.pause();
    await until(() => writer?.writableNeedDrain === true); // mid-body, waiting for the client
    pair.client.destroy();
    await expect(done).rejects.toThrow();
    if (!source.destroyed) await once(source, 'close');
    expect(source.destroyed).toBe(true);
    pair.close();
  });
});
