/** Held UDP sockets and IPv6 listeners, through hearth up. */
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { connectAndReadLine, udpRequest, waitFor } from '@hearth/testkit';
import { FIXTURE_SERVICE_PATH, startUp, stopAll, waitRunning } from './helpers.js';

afterEach(stopAll);

describe('held UDP and IPv6 listeners', () => {
  it('datagrams sent while no instance runs are answered by the next one', async () => {
    const up = await startUp(`services:
  echo:
    module: ${FIXTURE_SERVICE_PATH}
    listen: { dgram: { protocol: udp, port: 0 } }
`);
    const s = await waitRunning(up, 'echo');
    const port = s.listeners[0]!.port;
    expect((await udpRequest(port, 'first')).toString()).toBe(`hello ${s.pid} first`);
    expect((await up.cli('stop', 'echo')).code).toBe(0);
    const client = dgram.createSocket('udp4');
    const replies: string[] = [];
    client.on('message', (m) => replies.push(m.toString()));
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
    try {
      // On loopback a datagram is in the socket's queue once its send completes; the replies below
      // all come from the next instance, so none was answered (or lost) by the stopped one.
      await Promise.all(Array.from({ length: 5 }, (_, i) => new Promise((r) => client.send(`queued-${i}`, port, '127.0.0.1', r))));
      expect(replies).toEqual([]);
      expect((await up.cli('start', 'echo')).code).toBe(0);
      const next = await waitRunning(up, 'echo');
      await waitFor(() => replies.length === 5, { what: 'five replies' });
      expect(replies.sort()).toEqual([0, 1, 2, 3, 4].map((i) => `hello ${next.pid} queued-${i}`));
    } finally {
      client.close();
    }
  });

  it('serves TCP and UDP on ::1 from the config, across an overlapped restart', async () => {
    const up = await startUp(`services:
  six:
    module: ${FIXTURE_SERVICE_PATH}
    listen:
      tcp6: { address: "::1", port: 0 }
      udp6: { address: "::1", port: 0, protocol: udp }
`);
    const s = await waitRunning(up, 'six');
    const [tcp, udp] = s.listeners;
    expect(tcp).toMatchObject({ address: '::1', protocol: 'tcp' });
    expect(udp).toMatchObject({ address: '::1', protocol: 'udp' });
    expect(await connectAndReadLine(tcp!.port, '::1')).toBe(`hello ${s.pid}`);
    expect((await udpRequest(udp!.port, 'x', '::1')).toString()).toBe(`hello ${s.pid} x`);
    expect((await up.cli('restart', 'six')).code).toBe(0);
    const next = await up.service('six');
    expect(next.listeners.map((l) => l.port)).toEqual([tcp!.port, udp!.port]);
    expect(await connectAndReadLine(tcp!.port, '::1')).toBe(`hello ${next.pid}`);
    expect((await udpRequest(udp!.port, 'y', '::1')).toString()).toBe(`hello ${next.pid} y`);
  });
});
