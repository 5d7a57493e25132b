/** Held UDP sockets and IPv6 listeners, through hearth up. */
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { connectAndReadLine, udpRequest, waitFor } from '@hearth/testkit';
import type { ServiceStatus } from '@hearth/supervisor';
import { FIXTURE_SERVICE_PATH, startUp, stopAll, waitRunning } from './helpers.js';

afterEach(stopAll);

describe('held UDP and IPv6 listeners', () => {
  it('datagrams sent while no instance runs (after a second crash, in its backoff) are answered by the next one', async () => {
    // No standby, and a second crash soon after the first waits 3 s before the next start.
    const up = await startUp(`services:
  echo:
    module: ${FIXTURE_SERVICE_PATH}
    listen: { dgram: { protocol: udp, port: 0 } }
    standby: false
    backoff: { initial: 3s }
`);
    const running = (not: number | null): Promise<ServiceStatus> =>
      waitFor(
        async () => {
          const now = await up.service('echo');
          return now.state === 'running' && now.pid !== not ? now : undefined;
        },
        { timeout: 15_000, what: 'a new instance of echo running' },
      );
    const s = await running(null);
    const port = s.listeners[0]!.port;
    expect((await udpRequest(port, 'first')).toString()).toBe(`hello ${s.pid} first`);
    process.kill(s.pid!, 'SIGKILL'); // the first crash: started again at once
    const second = await running(s.pid);
    process.kill(second.pid!, 'SIGKILL');
    await waitFor(async () => (await up.service('echo')).state === 'backoff', { what: 'echo waiting to start again' });
    const client = dgram.createSocket('udp4');
    const replies: string[] = [];
    client.on('message', (m) => replies.push(m.toString()));
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
    try {
      // On loopback a datagram is in the socket's queue once its send completes; the replies below
      // all come from the next instance, so none was lost while no instance ran.
      await Promise.all(Array.from({ length: 5 }, (_, i) => new Promise((r) => client.send(`queued-${i}`, port, '127.0.0.1', r))));
      expect(replies).toEqual([]);
      const next = await running(second.pid);
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
