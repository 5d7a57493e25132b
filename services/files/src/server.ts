/**
 * The file server: one request handler for every HTTP and HTTPS listener. Per request, in order:
 * the per-client concurrency limit, the method table (501 for others), OPTIONS without
 * credentials, Basic authentication, then the method's handler; whatever it throws becomes a reply
 * in `replies.ts`. The share leases a request took are given back when its response is done, and
 * an access log line is written. A GET or HEAD that the file cache can answer at once is answered
 * so (`cached-get.ts`), its bookkeeping done there and then. Usable directly in tests, without a
 * supervisor.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TlsOptions } from 'node:tls';
import type { LoginPolicy } from '@hearth/accounts';
import { answerHalfClosed, answerPlainHttp } from '@hearth/tls';
import type { Logger } from '@hearth/log';
import type { HandlerTable } from '@hearth/runtime';
import { SpaceReserve } from '@hearth/sqlite';
import { CounterSet, refreshedCounters, type CounterSource } from '@hearth/metrics';
import type { Socket } from 'node:net';
import type { FilesSettings } from './config.js';
import { RequestContext, type Env } from './context.js';
import { DeadProps } from './dead-props.js';
import { counters, requestCounter, responseCounter, type FilesCounters } from './counters.js';
import { FileBody } from './file-body.js';
import { FileCache } from './file-cache.js';
import { KeptResponses } from './kept-responses.js';
import { checkFdPaths } from './anchored.js';
import { Connections } from './connections.js';
import { LockTable } from './locks.js';
import { isMethod, methods, ALLOW, optionsReply } from './methods/index.js';
import { Quotas } from './quota.js';
import { closeBody, DavError, errorReply, fsError, keepAliveHint, sendListed, sendReply, writtenOut, type Meter, type Reply } from './replies.js';
import { CachedAnswers } from './cached-get.js';
import { Shares } from './shares.js';
import { Authenticator, type FileUser, type FileUsers } from './users.js';
import { join, resolve } from 'node:path';

/** Methods that change nothing on disk (every other one clears the file cache). */
const READS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'PROPFIND', 'OPTIONS']);

export interface FilesServerDeps {
  readonly settings: FilesSettings;
  readonly users: FileUsers;
  /** The runtime's handler table (shares live there). */
  readonly handlers: HandlerTable<unknown>;
  /** DATA: home folders under DATA/files/home, dead properties in DATA/files/props.db. */
  readonly dataDir: string;
  readonly log: Logger;
  /** Whether a client address counts as loopback (plaintext Basic allowed). Injectable for tests. */
  readonly isLoopback?: (address: string) => boolean;
  /** The suite's login policy (persisted in the accounts); in memory when none is given. */
  readonly loginPolicy?: LoginPolicy;
  /** The suite's mail domains: a user may log in as `alice@` one of them (default: none, the bare name only). */
  readonly mailDomains?: readonly string[];
}

export interface FilesServer {
  /** An HTTP server answering with this service (not yet listening). */
  httpServer(): Server;
  /** An HTTPS server with `tls` options (not yet listening). */
  httpsServer(tls: TlsOptions): Server;
  /** New settings: shares (through the handler table), limits, auth policy. */
  updateSettings(settings: FilesSettings): void;
  /** New mail domains of the suite (a reload): the login names taken. */
  updateMailDomains(domains: readonly string[]): void;
  /** Stop accepting, let requests in progress finish until `deadline`, then close what is left. */
  stop(deadline: number): Promise<void>;
  /** Requests in progress. */
  readonly inFlight: number;
  /** The service's counters (`counters.ts`), bytes of open connections counted as they are read. */
  readonly counters: CounterSource;
  /** Settles once the space reserve (`context.ts`) is written, or found to have no room. */
  readonly reserved: Promise<void>;
}

export function createFilesServer(deps: FilesServerDeps): FilesServer {
  let settings = deps.settings;
  checkFdPaths();
  // Absolute from here on: a listing changes the working directory for a moment (propfind.ts).
  const dataDir = resolve(deps.dataDir);
  const cache = new FileCache();
  const shares = new Shares(deps.handlers, dataDir, deps.log, () => cache.clear());
  shares.apply(settings);
  const props = new DeadProps(join(dataDir, 'files', 'props.db'));
  const locks = new LockTable(join(dataDir, 'files', 'locks.db'));
  const quotas = new Quotas(join(dataDir, 'files', 'quota.db'));
  const reserve = new SpaceReserve(join(dataDir, 'files', 'reserve'));
  const reserved = reserve.ensure().then(() => {});
  const env: Env = { settings: () => settings, locks, props, shares, quotas, log: deps.log, cache, kept: new KeptResponses(), reserve };
  const live: FilesCounters = new CounterSet(counters);
  const auth = new Authenticator(deps.users, settings, live, deps.isLoopback, deps.loginPolicy, deps.log, deps.mailDomains);
  const answers = new CachedAnswers(env, auth);
  // Bytes of each connection already counted: the rest is counted when the counters are read
  // (`reported`) and as the connection closes. Keyed by the request's socket; over HTTPS, the TLS
  // socket: bytes before encryption.
  const counted = new WeakMap<Socket, { read: number; written: number }>();
  const countBytes = (socket: Socket): void => {
    let seen = counted.get(socket);
    if (seen === undefined) {
      seen = { read: 0, written: 0 };
      counted.set(socket, seen);
    }
    live.inc('bytesIn', socket.bytesRead - seen.read);
    live.inc('bytesOut', socket.bytesWritten - seen.written);
    seen.read = socket.bytesRead;
    seen.written = socket.bytesWritten;
  };
  const connections = new Connections(settings.keepAliveTimeout, countBytes);
  let keepAlive = keepAliveHint(settings.keepAliveTimeout);
  // GETs and HEADs answered at once (all 200s) since the counters were last read: added to them
  // then, so that such an answer costs a field increment.
  const atOnce = { GET: 0, HEAD: 0 };
  const bringUpToDate = (): void => {
    for (const socket of connections.requestSockets()) countBytes(socket);
    for (const method of ['GET', 'HEAD'] as const) {
      live.inc(requestCounter[method], atOnce[method]);
      live.inc('responses2xx', atOnce[method]);
      atOnce[method] = 0;
    }
  };
  const reported = refreshedCounters(live, bringUpToDate);
  const servers: Server[] = [];
  // Whether the access log is on, kept as the logger's level changes (read by every request).
  let accessLog = deps.log.isLevelEnabled('info');
  const levelChanged = (): void => {
    accessLog = deps.log.isLevelEnabled('info');
  };
  deps.log.on('level-change', levelChanged);
  const perClient = new Map<string, number>();
  let inFlight = 0;

  async function run(req: IncomingMessage, res: ServerResponse, secure: boolean, remote: string, setUser: (u: FileUser) => void, ctxRef: { ctx?: RequestContext }): Promise<Reply> {
    const method = req.method ?? '';
    if (!isMethod(method)) return errorReply(new DavError(501, `method ${method} is not supported`, undefined, undefined, { Allow: ALLOW }));
    if (method === 'OPTIONS') return optionsReply;
    const user = await auth.check(req, secure, remote);
    setUser(user);
    const expect = req.headers.expect;
    if (expect !== undefined && method !== 'PUT' && /100-continue/i.test(expect)) res.writeContinue();
    const ctx = new RequestContext(env, req, res, user, secure, deps.log);
    ctxRef.ctx = ctx;
    if (READS.has(method)) return methods[method](ctx);
    // What this request changes is never served from the cache, during or after it.
    cache.clear();
    try {
      return await methods[method](ctx);
    } finally {
      cache.clear();
    }
  }

  function handle(req: IncomingMessage, res: ServerResponse, secure: boolean): void {
    const method = req.method ?? '';
    // The access log's fields are only gathered when it is on; its duration starts here either way.
    const logging = accessLog;
    const started = logging ? performance.now() : 0;
    if ((method === 'GET' || method === 'HEAD') && !connections.draining && answerAtOnce(req, res, method, logging, started)) return;
    handleFully(req, res, secure, method, logging, started);
  }

  /**
   * A request on the full way: `run` makes its reply, which is then sent. Kept apart from `handle`
   * so that an answer made at once creates none of the closures this one needs, nor the context
   * they share: the garbage a request leaves is part of its cost (bench/files).
   */
  function handleFully(req: IncomingMessage, res: ServerResponse, secure: boolean, method: string, logging: boolean, started: number): void {
    const remote = req.socket.remoteAddress ?? 'unknown';
    live.inc(isMethod(method) ? requestCounter[method] : 'requestsOther');
    // No byte moving for this long ends the request (Node's own timer runs between requests).
    req.socket.setTimeout(settings.idleTimeout);
    let user: string | undefined;
    const ctxRef: { ctx?: RequestContext } = {};
    const meter: Meter = { bytes: 0 };
    const active = perClient.get(remote) ?? 0;
    perClient.set(remote, active + 1);
    inFlight++;
    const ended = connections.begin(req, res);
    let finished = false;
    let transfer = req.method === 'PUT';
    if (transfer) live.add('transfersCurrent', 1);
    const done = (): void => {
      if (finished) return;
      finished = true;
      ctxRef.ctx?.release();
      if (transfer) live.add('transfersCurrent', -1);
      const counter = responseCounter(res.statusCode);
      if (counter !== undefined) live.inc(counter);
      const n = (perClient.get(remote) ?? 1) - 1;
      if (n <= 0) perClient.delete(remote);
      else perClient.set(remote, n);
      inFlight--;
      ended();
      if (logging) logRequest(req, res, started, meter.bytes, user, remote, false, res.writableFinished);
    };
    // The response is done, or the connection gone ('close' follows 'finish').
    res.on('close', done);
    const reply: Promise<Reply> =
      active >= settings.maxRequestsPerClient
        ? Promise.resolve(errorReply(new DavError(503, 'too many requests in progress from this address', undefined, undefined, { 'Retry-After': '2' })))
        : run(req, res, secure, remote, (u) => (user = u.name), ctxRef).catch((err: unknown) => errorReply(toDavError(err, req, deps.log)));
    void reply
      .then(async (r) => {
        if (res.destroyed || res.writableEnded) {
          // The client is gone: a body still holds its file or folder open.
          if (r.body !== undefined) await closeBody(r.body);
          return;
        }
        if (r.body instanceof FileBody && req.method === 'GET' && !transfer) {
          transfer = true;
          live.add('transfersCurrent', 1);
        }
        await sendReply(res, r, req.method === 'HEAD', keepAlive, meter);
      })
      .catch(async (err: unknown) => {
        // A listing that failed before its head was written is answered with its error's status.
        if (!res.headersSent && !res.destroyed) return sendReply(res, errorReply(toDavError(err, req, deps.log)), req.method === 'HEAD', keepAlive, meter);
        deps.log.debug({ err }, 'response not completed');
        res.destroy();
      })
      .catch(() => res.destroy());
  }

  /**
   * A GET or HEAD answered from the cache there and then (`cached-get.ts`): false, having done
   * nothing, when it cannot be. The full way's bookkeeping (`handle`) is done at once, as the
   * request starts and ends here, unless the answer could not be written out at once: then the
   * drain follows it, and its access log line is written, when it is done. `logging` and
   * `started` are the access log's, taken by `handle` before the lookup.
   */
  function answerAtOnce(req: IncomingMessage, res: ServerResponse, method: 'GET' | 'HEAD', logging: boolean, started: number): boolean {
    // Only requests on the full way are in `perClient` (and counted in `inFlight`), while they run.
    if (inFlight > 0 && (perClient.get(req.socket.remoteAddress ?? 'unknown') ?? 0) >= settings.maxRequestsPerClient) return false;
    const now = Date.now();
    const cached = answers.answer(req, now);
    if (cached === undefined) return false;
    // Named, not `atOnce[method]`: the method is a string the parser made, not one V8 has
    // interned, so a read or write keyed by it takes V8's slow (megamorphic) way at every request.
    if (method === 'GET') atOnce.GET++;
    else atOnce.HEAD++;
    const bytes = sendListed(res, 200, cached.headers, method === 'HEAD' ? undefined : cached.body);
    if (writtenOut(res)) {
      connections.answered(req.socket, now);
      if (logging) logRequest(req, res, started, bytes, cached.user, req.socket.remoteAddress ?? 'unknown', true, true);
    } else {
      followAnswer(req, res, logging, started, bytes, cached.user);
    }
    return true;
  }

  /**
   * An answer made at once that is not written out yet (the socket is full, or an answer before it
   * is still going out): followed until it is, as on the full way, idle timeout included.
   */
  function followAnswer(req: IncomingMessage, res: ServerResponse, logging: boolean, started: number, bytes: number, user: string): void {
    req.socket.setTimeout(settings.idleTimeout);
    const ended = connections.begin(req, res);
    res.once('close', () => {
      ended();
      if (logging) logRequest(req, res, started, bytes, user, req.socket.remoteAddress ?? 'unknown', true, res.writableFinished);
    });
  }

  /**
   * The access log's line for a request whose response is done (or whose connection is gone);
   * `bytes`: of its body; `complete`: whether all of the response was written out.
   */
  function logRequest(req: IncomingMessage, res: ServerResponse, started: number, bytes: number, user: string | undefined, remote: string, cached: boolean, complete: boolean): void {
    deps.log.info(
      {
        method: req.method,
        path: req.url,
        status: res.statusCode,
        bytes,
        ms: Math.round((performance.now() - started) * 1000) / 1000,
        user,
        remote,
        complete,
        cached,
      },
      'request',
    );
  }

  /**
   * A socket requests will come on, as it is accepted (after Node's HTTP server has set it up):
   * given now, in this order, the properties that the service and Node add to it later, the
   * service's two slots (`socket-slot.ts`), the peer's address Node keeps once read, and the
   * idle timeout's field that Node makes at the first `setTimeout`. Added as requests came, in
   * orders that differ by the way a connection's first requests went, they gave the sockets
   * several shapes (four within a second of the benchmark's load), and once a property read sees
   * more than four, V8 looks it up the slow way: in three runs of `instructions.mjs` out of four,
   * every read of a socket in Node's code on a request's way (its parser's callbacks, `write_`,
   * `_send`, `clearBuffer`, ...) did, 9% to 23% of a 4 KB GET's instructions (bench/files). So
   * every socket has one shape from here on, as a bare Node server's do; the property Node adds
   * at the first response (`_httpMessage`) comes last in all of them.
   */
  function settle(socket: Socket): void {
    connections.accepted(socket);
    auth.accepted(socket);
    void socket.remoteAddress;
    socket.setTimeout(0);
  }

  function configure(server: Server, secure: boolean): Server {
    server.on('connection', (socket: Socket) => {
      live.inc('connectionsTotal');
      live.add('connectionsOpen', 1);
      socket.once('close', () => live.add('connectionsOpen', -1));
    });
    // Over TLS requests come on the TLS socket, which 'secureConnection' gives.
    server.on(secure ? 'secureConnection' : 'connection', settle);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => handle(req, res, secure));
    server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => handle(req, res, secure));
    server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) return socket.destroy();
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      socket.end(`HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    });
    server.on('error', (err) => deps.log.error({ err }, 'listener failed'));
    // A client that half-closes after its requests gets them answered, then the close.
    answerHalfClosed(server);
    applyLimits(server);
    servers.push(server);
    connections.track(server);
    return server;
  }

  function applyLimits(server: Server): void {
    server.headersTimeout = settings.headersTimeout;
    server.requestTimeout = 0;
    // No keep-alive timer of Node's: `connections.ts` closes idle connections, and `replies.ts`
    // sends the `Keep-Alive` hint.
    server.keepAliveTimeout = 0;
    server.maxConnections = settings.maxConnections;
  }

  // Node checks head timeouts every `connectionsCheckingInterval` (30 s by default): check often
  // enough for the configured timeout to mean what it says. A request without Content-Length or
  // Transfer-Encoding has no body (RFC 9112, 6.3): with `optimizeEmptyRequests` (Node 24.12 and
  // 25.1 on; older versions ignore it) Node hands it over already ended instead of running a
  // stream's life through to its 'end' and 'close', a tenth of a 4 KB GET's work (bench/files).
  // It then emits no events: the XML reader, which waits for 'end', checks `readableEnded` first
  // (`xml.ts`); an upload's async iteration (`atomic-write.ts`) ends at once by itself.
  const serverOptions = () => ({
    maxHeaderSize: settings.maxHeaderSize,
    requestTimeout: 0,
    headersTimeout: settings.headersTimeout,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(settings.headersTimeout / 2))),
    optimizeEmptyRequests: true,
  });

  return {
    get inFlight() {
      return inFlight;
    },
    counters: reported,
    reserved,
    httpServer: () => configure(createHttpServer(serverOptions()), false),
    httpsServer: (tls) => {
      const server = createHttpsServer({ ...serverOptions(), ...tls });
      answerPlainHttp(server, { firstBytesTimeoutMs: () => settings.headersTimeout });
      return configure(server, true);
    },
    updateSettings(next) {
      settings = next;
      shares.apply(next);
      auth.update(next);
      answers.forget();
      connections.keepAliveMs = next.keepAliveTimeout;
      keepAlive = keepAliveHint(next.keepAliveTimeout);
      for (const s of servers) applyLimits(s);
    },
    updateMailDomains(domains) {
      auth.setMailDomains(domains);
    },
    async stop(deadline) {
      await connections.stop(deadline);
      deps.log.off('level-change', levelChanged);
      props.close();
      locks.close();
      quotas.close();
    },
  };
}

function toDavError(err: unknown, req: IncomingMessage, log: Logger): DavError {
  if (err instanceof DavError) return err;
  const mapped = fsError(err, req.method ?? 'request');
  if (mapped) return mapped;
  log.error({ err, method: req.method, path: req.url }, 'request failed');
  return new DavError(500, 'internal error');
}
