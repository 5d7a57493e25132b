/**
 * The per-connection acceptor (`type: per-connection`): like inetd "nowait" or systemd
 * `Accept=yes`. A small Node process that speaks the service IPC protocol like any Hearth service
 * (so it gets the held listeners and overlapped restarts), accepts connections and runs the
 * configured command once per connection:
 *
 * - the socket is the command's stdin and stdout (stderr is a pipe, logged line by line);
 * - each command runs in its own session (setsid) with REMOTE_ADDR, REMOTE_PORT, LOCAL_ADDR,
 *   LOCAL_PORT in its environment; it never inherits the listening socket (Node opens every
 *   descriptor close-on-exec, received ones included);
 * - at `maxInstances` running handlers the acceptor closes its own copy of the listening socket,
 *   so new connections wait in the kernel backlog (the supervisor still holds the socket, which
 *   stays in LISTEN state) instead of being refused; when a handler exits it asks the supervisor
 *   for the socket again (`listener-request`). Connections already accepted in the same burst
 *   wait in a small bounded queue;
 * - handlers are reaped as they exit (Node waits for every child it spawns) and their exit is
 *   logged; at `stop` the acceptor stops accepting, lets handlers run until the deadline, then
 *   kills their process groups.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { createInterface } from 'node:readline';
import type { Logger } from '@hearth/log';
import { closeBoundHandle, listenOnHandle } from '@hearth/runtime';
import type { BoundHandle, ListenerSpec, ServiceMessage, SupervisorMessage } from '@hearth/runtime';

export interface AcceptorSettings {
  readonly argv: readonly string[];
  readonly maxInstances: number;
}

/** Connections accepted past the cap in one burst wait here, at most this many per acceptor. */
export const MAX_QUEUED = 64;

/** The IPC side the acceptor needs (the process's channel, or a fake in tests). */
export interface AcceptorChannel {
  send(message: ServiceMessage): void;
}

interface Handler {
  readonly child: ChildProcess;
  readonly remote: string;
  readonly startedAt: number;
}

/** Variables a handler must not inherit from the acceptor: Node's IPC channel of ours. */
const PRIVATE_ENV = ['NODE_CHANNEL_FD', 'NODE_CHANNEL_SERIALIZATION_MODE', 'NODE_UNIQUE_ID'];

export class Acceptor {
  readonly #handlers = new Set<Handler>();
  readonly #queue: net.Socket[] = [];
  readonly #servers = new Map<string, net.Server>();
  readonly #specs: ListenerSpec[] = [];
  readonly #handles = new Map<string, BoundHandle>();
  readonly #env: NodeJS.ProcessEnv;
  #settings: AcceptorSettings | undefined;
  #stopping = false;
  #started = false;
  /** Listeners whose handle we asked for again and have not received yet. */
  readonly #requested = new Set<string>();
  #resolveDone: (code: number) => void = () => {};
  readonly done = new Promise<number>((resolve) => (this.#resolveDone = resolve));

  constructor(
    readonly channel: AcceptorChannel,
    readonly log: Logger,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.#env = Object.fromEntries(Object.entries(env).filter(([k]) => !PRIVATE_ENV.includes(k)));
  }

  get running(): number {
    return this.#handlers.size;
  }

  onMessage(msg: SupervisorMessage, handle: BoundHandle | undefined): void {
    switch (msg.t) {
      case 'init':
        this.#settings = msg.settings as AcceptorSettings;
        this.#specs.push(...msg.listeners);
        return;
      case 'listener':
        if (!handle) return;
        if (!this.#started) this.#handles.set(msg.name, handle);
        else void this.#relisten(msg.name, handle);
        return;
      case 'start':
        void this.#start();
        return;
      case 'reload':
        this.channel.send({ t: 'reloaded', ok: true });
        return;
      case 'stop':
        void this.stop(Date.now() + msg.deadlineMs);
        return;
      default:
        return;
    }
  }

  async #start(): Promise<void> {
    const settings = this.#settings;
    if (!settings || this.#started) return;
    this.#started = true;
    try {
      for (const spec of this.#specs) {
        const handle = this.#handles.get(spec.name);
        if (!handle) throw new Error(`no socket handed down for listener "${spec.name}"`);
        await this.#listen(spec.name, handle);
      }
    } catch (err) {
      this.channel.send({ t: 'failed', error: (err as Error).message, permanent: false });
      this.#resolveDone(1);
      return;
    }
    this.#handles.clear();
    this.channel.send({ t: 'ready' });
    this.log.info({ command: settings.argv, maxInstances: settings.maxInstances }, 'accepting');
  }

  async #listen(name: string, handle: BoundHandle): Promise<void> {
    // pauseOnConnect: the acceptor never reads a byte meant for the handler.
    const server = net.createServer({ pauseOnConnect: true }, (socket) => this.#onConnection(socket));
    server.on('error', (err) => this.log.error({ err, listener: name }, 'listener error'));
    await listenOnHandle(server, handle);
    this.#servers.set(name, server);
  }

  async #relisten(name: string, handle: BoundHandle): Promise<void> {
    this.#requested.delete(name);
    if (this.#stopping || this.#servers.has(name) || this.#atCap()) {
      // Not wanted (any more): drop our copy, the supervisor keeps its own.
      await closeBoundHandle(handle);
      if (!this.#stopping && !this.#servers.has(name)) this.#resume();
      return;
    }
    await this.#listen(name, handle).catch((err: Error) => this.log.error({ err, listener: name }, 'cannot listen again'));
  }

  #atCap(): boolean {
    return this.#handlers.size + this.#queue.length >= (this.#settings?.maxInstances ?? 1);
  }

  #onConnection(socket: net.Socket): void {
    socket.on('error', () => {});
    if (this.#handlers.size < (this.#settings?.maxInstances ?? 1)) this.#run(socket);
    else if (this.#queue.length < MAX_QUEUED) this.#queue.push(socket);
    else {
      this.log.warn({ remote: socket.remoteAddress }, 'queue full: connection closed');
      socket.destroy();
    }
    if (this.#handlers.size >= (this.#settings?.maxInstances ?? 1)) this.#pause();
  }

  /** At the cap: close our copy of every listener; the backlog holds what comes next. */
  #pause(): void {
    if (this.#servers.size === 0) return;
    this.log.info({ running: this.#handlers.size }, 'at maxInstances: not accepting');
    for (const server of this.#servers.values()) server.close();
    this.#servers.clear();
  }

  /** A slot is free: ask the supervisor for every listener we closed. */
  #resume(): void {
    if (this.#stopping || this.#atCap()) return;
    for (const spec of this.#specs) {
      if (this.#servers.has(spec.name) || this.#requested.has(spec.name)) continue;
      this.#requested.add(spec.name);
      this.channel.send({ t: 'listener-request', name: spec.name });
    }
  }

  #run(socket: net.Socket): void {
    const settings = this.#settings!;
    const [command, ...args] = settings.argv;
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const env = {
      ...this.#env,
      REMOTE_ADDR: socket.remoteAddress ?? '',
      REMOTE_PORT: String(socket.remotePort ?? ''),
      LOCAL_ADDR: socket.localAddress ?? '',
      LOCAL_PORT: String(socket.localPort ?? ''),
    };
    let child: ChildProcess;
    try {
      child = spawn(command!, args, { stdio: [socket, socket, 'pipe'], detached: true, env });
    } catch (err) {
      this.log.error({ err, remote }, 'handler could not be started');
      socket.destroy();
      return;
    }
    const handler: Handler = { child, remote, startedAt: Date.now() };
    this.#handlers.add(handler);
    // The child has its own copy of the socket now; ours goes.
    socket.destroy();
    child.on('error', (err) => {
      this.log.error({ err, remote }, 'handler could not be started');
      this.#finished(handler);
    });
    if (child.stderr) {
      createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (line) => this.log.info({ handler: child.pid, line }, 'handler stderr'));
    }
    child.on('exit', (code, signal) => {
      this.log.info({ handler: child.pid, remote, code, signal, ms: Date.now() - handler.startedAt }, 'handler exited');
      this.#finished(handler);
    });
  }

  #finished(handler: Handler): void {
    if (!this.#handlers.delete(handler)) return;
    const next = this.#queue.shift();
    if (next) this.#run(next);
    else this.#resume();
    if (this.#stopping && this.#handlers.size === 0 && this.#queue.length === 0) this.#wakeStop?.();
  }

  #wakeStop: (() => void) | undefined;

  /** Stop accepting; let handlers (and queued connections) run until `deadline`, then kill their groups. */
  async stop(deadline: number): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    for (const server of this.#servers.values()) server.close();
    this.#servers.clear();
    this.log.info({ running: this.#handlers.size, queued: this.#queue.length }, 'stopping');
    if (this.#handlers.size > 0 || this.#queue.length > 0) {
      await new Promise<void>((resolve) => {
        this.#wakeStop = resolve;
        setTimeout(resolve, Math.max(0, deadline - Date.now()));
      });
    }
    for (const s of this.#queue.splice(0)) s.destroy();
    const left = [...this.#handlers];
    if (left.length > 0) {
      this.log.warn({ handlers: left.map((h) => h.child.pid) }, 'deadline reached: killing handlers');
      const exits = left.map((h) => new Promise<void>((resolve) => (h.child.exitCode !== null || h.child.signalCode !== null ? resolve() : h.child.once('exit', () => resolve()))));
      for (const h of left) {
        try {
          if (h.child.pid !== undefined) process.kill(-h.child.pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
      await Promise.all(exits);
    }
    this.#resolveDone(0);
  }
}
