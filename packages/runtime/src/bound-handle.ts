/**
 * Bound-but-not-listening socket handles: the ONE module that uses Node internals.
 *
 * Node has no public API for a TCP socket that is bound but not listening, or a UDP socket that is
 * bound but not receiving (its `cluster` module uses the same internal wraps). The supervisor
 * creates them here and hands them to each service instance over the IPC channel (they travel as
 * `net.Native` / `dgram.Native`); the instance listens (or receives) on them with the public
 * `net.Server#listen(handle)` and `dgram.Socket#bind(handle)`. Since the supervisor keeps its copy
 * of the descriptor and never accepts or reads on it, connections made while no instance runs wait
 * in the kernel backlog and datagrams queue in the socket buffer.
 *
 * Modelled on Node 20's lib/net.js `createServerHandle` and lib/dgram.js `_createSocketHandle`.
 * `test/bound-handle.test.ts` fails loudly if a Node upgrade changes any of it.
 */
import type { Socket as UdpSocket } from 'node:dgram';
import { isIP, type Server } from 'node:net';
import { constants as osConstants } from 'node:os';
import { getSystemErrorName } from 'node:util';

/** An opaque bound socket handle (a Node internal TCP or UDP wrap). */
export interface BoundHandle {
  readonly __hearthBoundHandle?: never;
}

interface WrapAddress {
  address?: string;
  family?: string;
  port?: number;
}

interface TcpWrap extends BoundHandle {
  bind(address: string, port: number): number;
  bind6(address: string, port: number, flags: number): number;
  getsockname(out: WrapAddress): number;
  close(cb?: () => void): void;
}

interface UdpWrap extends BoundHandle {
  bind(address: string, port: number, flags: number): number;
  bind6(address: string, port: number, flags: number): number;
  getsockname(out: WrapAddress): number;
  close(cb?: () => void): void;
}

interface Internals {
  readonly TCP: new (type: number) => TcpWrap;
  readonly TCP_SERVER: number;
  readonly UDP: new () => UdpWrap;
}

const WHO = '@hearth/runtime bound-handle.ts';
const EADDRINUSE = -(osConstants.errno.EADDRINUSE ?? 98);

let internals: Internals | undefined;

/**
 * Load and check the internals this module depends on. Throws an Error naming this module if the
 * running Node no longer provides them (fix this module, nothing else).
 */
export function checkInternals(): Internals {
  if (internals) return internals;
  const binding = (process as unknown as { binding?: (name: string) => unknown }).binding;
  if (typeof binding !== 'function') {
    throw new Error(`${WHO}: process.binding() is gone in Node ${process.version}; held sockets need a new way to create bound handles`);
  }
  const problems: string[] = [];
  const tcp = binding.call(process, 'tcp_wrap') as
    | { TCP?: new (type: number) => TcpWrap; constants?: { SERVER?: number } }
    | undefined;
  const udp = binding.call(process, 'udp_wrap') as { UDP?: new () => UdpWrap } | undefined;
  if (typeof tcp?.TCP !== 'function') problems.push("process.binding('tcp_wrap').TCP missing");
  if (typeof tcp?.constants?.SERVER !== 'number') problems.push("process.binding('tcp_wrap').constants.SERVER missing");
  if (typeof udp?.UDP !== 'function') problems.push("process.binding('udp_wrap').UDP missing");
  for (const [what, proto, methods] of [
    ['TCP', tcp?.TCP?.prototype, ['bind', 'bind6', 'listen', 'getsockname', 'close']],
    ['UDP', udp?.UDP?.prototype, ['bind', 'bind6', 'recvStart', 'getsockname', 'close']],
  ] as const) {
    for (const m of methods) {
      if (typeof (proto as Record<string, unknown> | undefined)?.[m] !== 'function') problems.push(`${what}.prototype.${m} missing`);
    }
  }
  if (problems.length > 0 || !tcp?.TCP || !udp?.UDP || tcp.constants?.SERVER === undefined) {
    throw new Error(`${WHO}: Node ${process.version} internals changed: ${problems.join('; ')}`);
  }
  internals = { TCP: tcp.TCP, TCP_SERVER: tcp.constants.SERVER, UDP: udp.UDP };
  return internals;
}

function endpoint(address: string, port: number): string {
  return isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

function bindError(address: string, port: number, proto: 'tcp' | 'udp', code: number): Error {
  let name: string;
  try {
    name = getSystemErrorName(code);
  } catch {
    name = `errno ${code}`;
  }
  const why: Record<string, string> = {
    EADDRINUSE: 'address already in use',
    EACCES: port < 1024 ? 'permission denied (a port below 1024 needs root)' : 'permission denied',
    EADDRNOTAVAIL: 'address not available on this host',
    EAFNOSUPPORT: 'address family not supported (IPv6 disabled?)',
    EINVAL: 'invalid address',
  };
  const err = new Error(`${endpoint(address, port)}${proto === 'udp' ? '/udp' : ''}: ${why[name] ?? name}`) as NodeJS.ErrnoException;
  err.code = name;
  return err;
}

function family(address: string, proto: 'tcp' | 'udp', port: number): 4 | 6 {
  const f = isIP(address);
  if (f === 0) throw new Error(`${address}:${port}${proto === 'udp' ? '/udp' : ''}: not an IP address`);
  return f as 4 | 6;
}

/** libuv's UV_TCP_IPV6ONLY and UV_UDP_IPV6ONLY (both 1): bind an IPv6 socket with IPV6_V6ONLY. */
const IPV6ONLY = 1;

export interface BindOptions {
  /** IPv6 addresses only: no IPv4 connections as v4-mapped addresses (IPV6_V6ONLY). */
  readonly ipv6Only?: boolean;
}

/** Create a TCP socket bound to address:port, not listening. Throws a clear Error on failure. */
export function createBoundTcpHandle(address: string, port: number, options: BindOptions = {}): BoundHandle {
  const { TCP, TCP_SERVER } = checkInternals();
  const f = family(address, 'tcp', port);
  const handle = new TCP(TCP_SERVER);
  let err = f === 6 ? handle.bind6(address, port, options.ipv6Only === true ? IPV6ONLY : 0) : handle.bind(address, port);
  if (err === 0 && port !== 0) {
    // libuv defers EADDRINUSE from bind() to listen() ("delayed_error"), leaving the socket
    // unbound: an unbound socket reports port 0, so the bind did not happen.
    const out: WrapAddress = {};
    if (handle.getsockname(out) !== 0 || out.port !== port) err = EADDRINUSE;
  }
  if (err !== 0) {
    handle.close();
    throw bindError(address, port, 'tcp', err);
  }
  return handle;
}

/** Create a UDP socket bound to address:port, not receiving. Throws a clear Error on failure. */
export function createBoundUdpHandle(address: string, port: number, options: BindOptions = {}): BoundHandle {
  const { UDP } = checkInternals();
  const f = family(address, 'udp', port);
  const handle = new UDP();
  const err = f === 6 ? handle.bind6(address, port, options.ipv6Only === true ? IPV6ONLY : 0) : handle.bind(address, port, 0);
  if (err !== 0) {
    handle.close();
    throw bindError(address, port, 'udp', err);
  }
  return handle;
}

/** The local address of a bound handle (the real port when bound to port 0). */
export function boundAddress(handle: BoundHandle): { address: string; port: number; family: 'IPv4' | 'IPv6' } {
  const out: WrapAddress = {};
  const err = (handle as TcpWrap).getsockname(out);
  if (err !== 0 || out.address === undefined || out.port === undefined) {
    throw new Error(`${WHO}: getsockname failed (${err})`);
  }
  return { address: out.address, port: out.port, family: out.family === 'IPv6' ? 'IPv6' : 'IPv4' };
}

/** Close the supervisor's copy of a handle (instances that received it keep theirs). */
export function closeBoundHandle(handle: BoundHandle): Promise<void> {
  return new Promise((resolve) => (handle as TcpWrap).close(() => resolve()));
}

/** `target.send(message, handle)` without the casts (`child_process` types know no raw handles). */
export function sendWithHandle(
  target: { send(message: unknown, handle: never, options?: object, cb?: (err: Error | null) => void): boolean },
  message: unknown,
  handle: BoundHandle,
): Promise<void> {
  return new Promise((resolve, reject) => {
    target.send(message, handle as never, {}, (err) => (err ? reject(err) : resolve()));
  });
}

/**
 * Child side: make `server` accept on a handle received over IPC. Resolves once listening.
 * (`net.Server#listen` takes a TCP wrap: the path Node's `cluster` uses.)
 */
export function listenOnHandle(server: Server, handle: BoundHandle, backlog = 511): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen({ _handle: handle } as never, backlog, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/**
 * Child side: make a UDP socket receive on a handle received over IPC. Resolves once bound.
 * The socket's type (`udp4`/`udp6`) must match the handle's address family.
 * (`dgram.Socket#bind` takes a UDP wrap: the path Node's `cluster` uses.)
 */
export function bindOnHandle(socket: UdpSocket, handle: BoundHandle): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    socket.once('error', onError);
    socket.once('listening', () => {
      socket.off('error', onError);
      resolve();
    });
    (socket.bind as (h: unknown) => void)(handle);
  });
}
