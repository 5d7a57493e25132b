/** ServiceListener implementations: on a handle handed down by the supervisor, or bound here. */
import type { Socket as UdpSocket } from 'node:dgram';
import { isIP, type Server } from 'node:net';
import { bindOnHandle, createBoundTcpHandle, createBoundUdpHandle, listenOnHandle, type BoundHandle } from './bound-handle.js';
import type { ListenerSpec } from './protocol.js';
import type { ServiceListener } from './service.js';

function endpoint(spec: ListenerSpec): string {
  const host = isIP(spec.address) === 6 ? `[${spec.address}]` : spec.address;
  return `${spec.name} ${host}:${spec.port}${spec.protocol === 'udp' ? '/udp' : ''}`;
}

function wrongProtocol(spec: ListenerSpec, wanted: string): Error {
  return new Error(`listener ${endpoint(spec)} is ${spec.protocol}, not ${wanted}`);
}

const REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'address not available on this host',
};

function explain(spec: ListenerSpec, err: NodeJS.ErrnoException): Error {
  const reason = (err.code && REASONS[err.code]) ?? err.message;
  const out = new Error(`listener ${endpoint(spec)}: ${reason}`) as NodeJS.ErrnoException;
  if (err.code !== undefined) out.code = err.code;
  return out;
}

/**
 * A bound, not listening, handle for `spec` (TCP or UDP, IPv6-only as it says): what the
 * supervisor holds for a service, and what `hearth run` as root binds before it takes its user.
 */
export function bindSpec(spec: ListenerSpec): BoundHandle {
  const options = { ipv6Only: spec.ipv6Only === true };
  return spec.protocol === 'udp' ? createBoundUdpHandle(spec.address, spec.port, options) : createBoundTcpHandle(spec.address, spec.port, options);
}

/** A listener on the bound handle the supervisor handed down. */
export function handedListener(spec: ListenerSpec, handle: BoundHandle): ServiceListener {
  return {
    spec,
    async listen(server: Server) {
      if (spec.protocol !== 'tcp') throw wrongProtocol(spec, 'tcp');
      await listenOnHandle(server, handle).catch((err: NodeJS.ErrnoException) => Promise.reject(explain(spec, err)));
    },
    async bind(socket: UdpSocket) {
      if (spec.protocol !== 'udp') throw wrongProtocol(spec, 'udp');
      await bindOnHandle(socket, handle).catch((err: NodeJS.ErrnoException) => Promise.reject(explain(spec, err)));
    },
  };
}

/** A listener bound by the service itself (`hearth run NAME`, no supervisor). */
export function ownListener(spec: ListenerSpec): ServiceListener {
  // Once bound, `spec` says the port it got: a port 0 is a real port to report and connect to.
  let bound = spec;
  const got = (address: { port: number } | string | null): void => {
    if (address !== null && typeof address === 'object') bound = { ...spec, port: address.port };
  };
  return {
    get spec() {
      return bound;
    },
    listen(server: Server) {
      if (spec.protocol !== 'tcp') return Promise.reject(wrongProtocol(spec, 'tcp'));
      return new Promise<void>((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException) => reject(explain(spec, err));
        server.once('error', onError);
        server.listen({ host: spec.address, port: spec.port, ipv6Only: spec.ipv6Only === true }, () => {
          server.off('error', onError);
          got(server.address());
          resolve();
        });
      });
    },
    bind(socket: UdpSocket) {
      if (spec.protocol !== 'udp') return Promise.reject(wrongProtocol(spec, 'udp'));
      return new Promise<void>((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException) => reject(explain(spec, err));
        socket.once('error', onError);
        socket.bind(spec.port, spec.address, () => {
          socket.off('error', onError);
          got(socket.address());
          resolve();
        });
      });
    },
  };
}
