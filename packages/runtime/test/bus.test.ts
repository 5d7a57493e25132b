/**
 * The bus's drain signal: `writable` turns false from the channel's own back-pressure and
 * `drained()` resolves once the channel caught up. Over a real IPC channel to a child process
 * that is stopped (SIGSTOP) so it reads nothing, then continued.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@hearth/log';
import { ChannelBus, LocalBus, type ServiceChannel, type ServiceMessage } from '@hearth/runtime';

const log = createLogger({ svc: 't', level: 'silent' });

/** Counts the bus messages it reads; answers `{ got }` to the topic `count`. */
const SINK = `
let got = 0;
process.on('message', (m) => {
  if (m.topic === 'count') process.send({ got });
  else got++;
});
process.send('ready');
`;

/** The parent's end of a child's IPC channel, as a ServiceChannel (the same Node channel code). */
function channelTo(child: ChildProcess): ServiceChannel {
  return {
    get connected() {
      return child.connected;
    },
    send: (message: ServiceMessage, callback) => child.send(message, undefined, {}, (err) => callback?.(err)),
    onMessage: () => () => {},
    onDisconnect: () => () => {},
  };
}

let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill('SIGCONT');
  child?.kill('SIGKILL');
  child = undefined;
});

describe('ChannelBus drain signal', () => {
  it('over a real IPC channel: not writable once the channel buffers, drained() when the reader catches up', async () => {
    child = spawn(process.execPath, ['-e', SINK], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const [hello] = (await once(child, 'message')) as [unknown];
    expect(hello).toBe('ready');
    child.kill('SIGSTOP'); // the reader stops reading: the kernel buffer, then Node's write queue fill
    const bus = new ChannelBus(channelTo(child), log, 1_000_000);
    const chunk = 'x'.repeat(16 * 1024);
    let sent = 0;
    while (bus.writable && sent < 2_000) {
      expect(bus.publish('fill', chunk)).toBe(true);
      sent++;
    }
    expect(bus.writable).toBe(false);
    expect(sent).toBeLessThan(2_000);
    expect(bus.dropped).toBe(0);
    expect(bus.pending).toBeGreaterThan(0);

    const drained = bus.drained();
    child.kill('SIGCONT');
    await drained;
    expect(bus.writable).toBe(true);
    expect(bus.dropped).toBe(0);
    // Every message got through, in order before the question.
    expect(bus.publish('count', null)).toBe(true);
    const [answer] = (await once(child, 'message')) as [unknown];
    expect(answer).toEqual({ got: sent });
  });

  it('a closed channel is writable (sends fail at once, counted): nobody waits forever', async () => {
    let connected = true;
    const channel: ServiceChannel = {
      get connected() {
        return connected;
      },
      send: () => false, // buffered, and its write never completes
      onMessage: () => () => {},
      onDisconnect: () => () => {},
    };
    const bus = new ChannelBus(channel, log);
    expect(bus.publish('a', 1)).toBe(true);
    expect(bus.writable).toBe(false);
    const drained = bus.drained();
    connected = false;
    bus.disconnected();
    await drained;
    expect(bus.writable).toBe(true);
    expect(bus.publish('a', 2)).toBe(false);
    expect(bus.dropped).toBe(1);
  });

  it('is not writable at maxPending messages unsent, and drains as writes complete', async () => {
    const callbacks: Array<(err: Error | null) => void> = [];
    const channel: ServiceChannel = {
      connected: true,
      send: (_m, cb) => {
        if (cb) callbacks.push(cb);
        return true;
      },
      onMessage: () => () => {},
      onDisconnect: () => () => {},
    };
    const bus = new ChannelBus(channel, log, 2);
    bus.publish('a', 1);
    bus.publish('a', 2);
    expect(bus.writable).toBe(false);
    const drained = bus.drained();
    callbacks.shift()!(null);
    await drained;
    expect(bus.writable).toBe(true);
    expect(bus.pending).toBe(1);
  });

  it('LocalBus never holds a producer back', async () => {
    const bus = new LocalBus('biff', log);
    expect(bus.writable).toBe(true);
    await bus.drained();
  });
});
