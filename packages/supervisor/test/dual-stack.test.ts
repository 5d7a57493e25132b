/**
 * One port on IPv4 and on the IPv6 wildcard: both bound (the IPv6 socket IPv6-only), each answered
 * by its own service; the wildcard declared alone stays dual-stack and answers IPv4 too. The
 * sockets are bound to `::` (all addresses); every connection goes to 127.0.0.1 or ::1.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FIXTURE_SERVICE_PATH, connectAndReadLine } from '@hearth/testkit';
import { startUp, stopAll, waitState } from '@hearth/testkit/hearth-up';

afterEach(stopAll);

/** A port free on every address of both families: bind `::` dual-stack on port 0, then close. */
async function freeDualStackPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen({ host: '::', port: 0 }, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const service = (name: string, greeting: string, address: string, port: number): string => `  ${name}:
    module: ${FIXTURE_SERVICE_PATH}
    settings: { greeting: ${greeting} }
    listen: { main: { address: "${address}", port: ${port} } }
    standby: false
`;

describe('listeners on IPv4 and IPv6', () => {
  it('binds one port on 127.0.0.1 and on [::] side by side, each family reaching its own service', async () => {
    const port = await freeDualStackPort();
    const up = await startUp(`services:\n${service('four', 'four', '127.0.0.1', port)}${service('six', 'six', '::', port)}`);
    const four = await waitState(up, 'four', 'running');
    const six = await waitState(up, 'six', 'running');
    expect(await connectAndReadLine(port, '127.0.0.1')).toBe(`four ${four.pid}`);
    expect(await connectAndReadLine(port, '::1')).toBe(`six ${six.pid}`);
  });

  it('keeps [::] dual-stack when it is the only listener on its port', async () => {
    const port = await freeDualStackPort();
    const up = await startUp(`services:\n${service('all', 'all', '::', port)}`);
    const all = await waitState(up, 'all', 'running');
    expect(await connectAndReadLine(port, '::1')).toBe(`all ${all.pid}`);
    expect(await connectAndReadLine(port, '127.0.0.1')).toBe(`all ${all.pid}`);
  });
});
