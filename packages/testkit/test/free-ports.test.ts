/** `freePorts` on this machine's sockets. */
import dgram from 'node:dgram';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { ephemeralRange, freePorts } from '@hearth/testkit';

function listen(port: number): Promise<net.Server> {
  const server = net.createServer();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function bindUdp(port: number): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', () => resolve(socket));
  });
}

const byNumber = (x: number, y: number) => x - y;
const close = (s: net.Server | dgram.Socket) => new Promise<void>((resolve) => (s instanceof net.Server ? s.close(() => resolve()) : s.close(() => resolve())));

describe('freePorts', () => {
  it('gives different ports below the ephemeral range, each free for its protocol afterwards', async () => {
    const protocols = ['udp', 'tcp', 'tcp', 'tcp', 'tcp', 'tcp', 'udp', 'tcp', 'tcp', 'tcp'] as const;
    const ports = await freePorts(protocols);
    expect(new Set(ports).size).toBe(protocols.length);
    const [low] = await ephemeralRange();
    for (const port of ports) expect(port).toBeLessThan(low);
    const bound = await Promise.all(ports.map((port, i) => (protocols[i] === 'udp' ? bindUdp(port) : listen(port))));
    await Promise.all(bound.map(close));
  });

  it('passes over ports taken for the protocol asked, and says so when the range has none left', async () => {
    // Three neighbouring ports free for TCP now (the picks run on from a random start), one of them
    // then taken for TCP and another for UDP.
    let start = 0;
    for (let round = 0; round < 5 && start === 0; round += 1) {
      const [a = 0, b = 0, c = 0] = (await freePorts(['tcp', 'tcp', 'tcp'])).sort(byNumber);
      if (b === a + 1 && c === a + 2) start = a;
    }
    expect(start, 'three neighbouring free ports').toBeGreaterThan(0);
    const range = [start, start + 2] as const;
    const busy = await listen(start + 1);
    const busyUdp = await bindUdp(start + 2);
    try {
      for (let round = 0; round < 6; round += 1) {
        expect((await freePorts(['tcp', 'tcp'], range)).sort(byNumber)).toEqual([start, start + 2]);
        expect((await freePorts(['udp', 'udp'], range)).sort(byNumber)).toEqual([start, start + 1]);
      }
      await expect(freePorts(['tcp', 'tcp', 'tcp'], range)).rejects.toThrow(`no free tcp port on 127.0.0.1 in ${start}-${start + 2} beside`);
    } finally {
      await close(busy);
      await close(busyUdp);
    }
  });
});
