import { afterEach, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { LineReader } from '@hearth/line-protocol';
import { socketPair, until } from './helpers.js';

describe('LineReader', () => {
  let cleanup: (() => void) | undefined;
  afterEach(() => cleanup?.());

  it('splits CRLF and bare LF lines and hands them over one at a time, in order', async () => {
    const events: string[] = [];
    let active = 0;
    let maxActive = 0;
    const pair = await socketPair((socket) => {
      new LineReader(socket, {
        maxLineLength: 100,
        async onLine(line) {
          active += 1;
          maxActive = Math.max(maxActive, active);
          events.push(`start ${line}`);
          await sleep(line === 'one' ? 50 : 1); // a slow handler: the stimulus, not an order
          events.push(`end ${line}`);
          active -= 1;
        },
        onOverflow: () => void events.push('overflow'),
      });
    });
    cleanup = pair.close;
    pair.client.write('one\r\ntwo\nthr');
    // The reader has the first chunk (so 'three' arrives split across two).
    await until(() => events.includes('start one'));
    pair.client.write('ee\r\n\r\n');
    await until(() => events.length === 8);
    expect(events).toEqual(['start one', 'end one', 'start two', 'end two', 'start three', 'end three', 'start ', 'end ']);
    expect(maxActive).toBe(1);
  });

  it('reports an over-long line as soon as it passes the cap, discards its rest, then goes on', async () => {
    const events: string[] = [];
    const pair = await socketPair((socket) => {
      new LineReader(socket, {
        maxLineLength: 10,
        onLine: (line) => void events.push(line),
        onOverflow: () => void events.push('OVERFLOW'),
      });
    });
    cleanup = pair.close;
    pair.client.write('0123456789\r\n'); // exactly the cap
    pair.client.write('x'.repeat(5000));
    await until(() => events.length === 2); // no line end yet: the overflow is already reported
    pair.client.write('y'.repeat(5000) + '\r\nafter\r\n');
    await until(() => events.length === 3);
    expect(events).toEqual(['0123456789', 'OVERFLOW', 'after']);
  });

  it('stop() drops what was pipelined behind the current line', async () => {
    const events: string[] = [];
    let dropped = -1;
    const pair = await socketPair((socket) => {
      const reader = new LineReader(socket, {
        maxLineLength: 100,
        onLine(line) {
          events.push(line);
          if (line === 'STOP') dropped = reader.stop();
        },
        onOverflow: () => {},
      });
    });
    cleanup = pair.close;
    pair.client.write('a\r\nSTOP\r\nb\r\nc\r\n');
    await until(() => dropped >= 0);
    // The rest was in the same chunk: by the next turn of the loop it would have been handed over.
    await new Promise((r) => setImmediate(r));
    expect(events).toEqual(['a', 'STOP']);
    expect(dropped).toBe(6);
  });

  it('a failing handler stops the reader and reports the error', async () => {
    const errors: unknown[] = [];
    const lines: string[] = [];
    const pair = await socketPair((socket) => {
      new LineReader(socket, {
        maxLineLength: 100,
        onLine(line) {
          lines.push(line);
          throw new Error('boom');
        },
        onOverflow: () => {},
        onError: (error) => void errors.push(error),
      });
    });
    cleanup = pair.close;
    pair.client.write('a\r\nb\r\n');
    await until(() => errors.length === 1);
    // 'b' came in the same chunk: by the next turn of the loop it would have been handed over.
    await new Promise((r) => setImmediate(r));
    expect(lines).toEqual(['a']);
  });
});
