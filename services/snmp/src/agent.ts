/**
 * net-snmp's agent, hardened. Datagrams come in through `receive` (the service owns the UDP
 * socket; net-snmp opens none), and every way net-snmp is known to fail is bounded here:
 *
 * - GetBulk: max-repetitions is clamped to `limits.maxRepetitions` and the reply to
 *   `limits.maxVarbinds` varbinds (net-snmp loops until the requested count, past the end of the
 *   MIB, so one `-Cr300000` froze it and took hundreds of MB);
 * - GetNext and GetBulk: past the last object served, or from a name net-snmp cannot look up,
 *   the answer is `endOfMibView` under the name asked for (`successors.ts`), not net-snmp's
 *   `noSuchObject` or a walk that starts over at `1.3.6.1`;
 * - reply size: a response larger than the limit (or than an SNMPv3 request's msgMaxSize) is cut
 *   to the varbinds that fit for GetBulk, answered `tooBig` otherwise (RFC 3416 4.2);
 * - encoding: values are clamped before they are stored (`tree.ts`); an encode failure all the
 *   same is answered `genErr`, never thrown;
 * - SET: refused, every one, with `noAccess` (no community or user has a write view), before
 *   net-snmp's setters run;
 * - SNMPv1 is dropped (Counter64 has no v1 encoding); a wrong community, an unknown user, a
 *   wrong digest or a failed decryption get no answer at all (no report revealing which); each
 *   is counted;
 * - SNMPv3 engine boots and time: the given persisted boots, and seconds since the engine
 *   started; an authenticated request for another engine or outside the time window is not
 *   served but reported (`timeliness.ts`, RFC 3414 3.2 steps 3 and 7).
 */
import * as snmp from 'net-snmp';
import type { Socket } from 'node:dgram';
import type { Logger } from '@hearth/log';
import type { CounterSet } from '@hearth/metrics';
import type { counters } from './counters.js';
import { toSuccessors } from './successors.js';
import { timeliness, untimelyReport } from './timeliness.js';
import { ObjectTree } from './tree.js';

export type AuthProtocol = 'sha224' | 'sha256' | 'sha384' | 'sha512';
export type PrivProtocol = 'aes128' | 'aes256b' | 'aes256r';

export interface SnmpUser {
  readonly name: string;
  readonly auth: { readonly protocol: AuthProtocol; readonly key: string };
  readonly priv: { readonly protocol: PrivProtocol; readonly key: string };
}

export interface AgentLimits {
  /** Highest GetBulk max-repetitions honoured. */
  readonly maxRepetitions: number;
  /** Most varbinds in one response. */
  readonly maxVarbinds: number;
  /** Largest response datagram, in bytes (at most 65507, UDP's limit). */
  readonly maxMessageSize: number;
}

export interface AgentOptions {
  readonly engineId: Buffer;
  /** snmpEngineBoots: how many times the engine started, this start included (kept on disk). */
  readonly engineBoots: number;
  readonly communities: readonly string[];
  readonly users: readonly SnmpUser[];
  readonly limits: AgentLimits;
  readonly stats: CounterSet<typeof counters>;
  readonly log: Logger;
  /** Called before each datagram is handled (refresh sysUpTime and the like). */
  readonly beforeRequest?: () => void;
  /** Milliseconds on a monotonic clock (performance.now() unless a test moves time). */
  readonly clock?: () => number;
  /** When the engine started on `clock` (kept across reloads, which build a new agent); now if not given. */
  readonly engineStartedAt?: number;
}

const AUTH: Record<AuthProtocol, number> = {
  sha224: snmp.AuthProtocols.sha224,
  sha256: snmp.AuthProtocols.sha256,
  sha384: snmp.AuthProtocols.sha384,
  sha512: snmp.AuthProtocols.sha512,
};
const PRIV: Record<PrivProtocol, number> = { aes128: snmp.PrivProtocols.aes, aes256b: snmp.PrivProtocols.aes256b, aes256r: snmp.PrivProtocols.aes256r };

const UDP_MAX = 65_507;
const USM_STATS = '1.3.6.1.6.3.15.1.1.';
/** usmStatsUnknownUserNames, usmStatsWrongDigests: answered with silence. */
const SILENT_REPORTS: ReadonlyMap<string, 'unknownUsers' | 'authFailures'> = new Map([
  [`${USM_STATS}3.0`, 'unknownUsers'],
  [`${USM_STATS}5.0`, 'authFailures'],
]);

/** A stand-in for node:dgram: net-snmp's listener must not open a socket of its own. */
const noSocket = {
  createSocket: () => ({ on: () => undefined, bind: () => undefined, close: (cb?: () => void) => cb?.(), address: () => ({}) }),
};

export class HardenedAgent {
  readonly tree: ObjectTree;
  readonly #agent: snmp.Agent;
  readonly #clock: () => number;
  readonly #started: number;
  /** The names a GetNext or GetBulk asked for (net-snmp replaces them with its answers). */
  readonly #asked = new WeakMap<snmp.Message, { readonly oids: readonly string[]; readonly nonRepeaters: number }>();

  constructor(private readonly options: AgentOptions) {
    this.#clock = options.clock ?? (() => performance.now());
    this.#started = options.engineStartedAt ?? this.#clock();
    const agent = snmp.createAgent(
      {
        engineID: options.engineId,
        accessControlModelType: snmp.AccessControlModelType.Simple,
        disableAuthorization: false,
        dgramModule: noSocket,
        port: 0,
      },
      (err) => {
        if (err) this.#rejected(err);
      },
    );
    agent.engine.engineBoots = options.engineBoots;
    const authorizer = agent.getAuthorizer();
    for (const c of options.communities) authorizer.addCommunity(c);
    for (const u of options.users) {
      authorizer.addUser({
        name: u.name,
        level: snmp.SecurityLevel.authPriv,
        authProtocol: AUTH[u.auth.protocol],
        authKey: u.auth.key,
        privProtocol: PRIV[u.priv.protocol],
        privKey: u.priv.key,
      });
    }
    const proto = Object.getPrototypeOf(agent) as snmp.Agent;
    agent.getRequest = (s, m, r) => this.#served(s, m, r) && !this.#answeredEmpty(s, m, r, m.pdu.varbinds.length) && proto.getRequest.call(agent, s, m, r);
    agent.getNextRequest = (s, m, r) => {
      if (!this.#served(s, m, r) || this.#answeredEmpty(s, m, r, m.pdu.varbinds.length)) return;
      this.#asked.set(m, { oids: m.pdu.varbinds.map((v) => v.oid), nonRepeaters: m.pdu.varbinds.length });
      proto.getNextRequest.call(agent, s, m, r);
    };
    agent.getBulkRequest = (s, m, r) => {
      if (!this.#served(s, m, r)) return;
      this.#clampBulk(m.pdu);
      if (this.#answeredEmpty(s, m, r, m.pdu.maxRepetitions)) return;
      this.#asked.set(m, { oids: m.pdu.varbinds.map((v) => v.oid), nonRepeaters: m.pdu.nonRepeaters });
      proto.getBulkRequest.call(agent, s, m, r);
    };
    agent.setRequest = (s, m, r) => this.#served(s, m, r) && this.#refuseSet(s, m, r);
    agent.onProxyRequest = (s, m, r) => this.#served(s, m, r) && proto.onProxyRequest.call(agent, s, m, r);
    agent.sendResponse = (s, r, request, pdu) => this.#respond(s, r, request, pdu);
    agent.listener.send = (message, r, s) => this.#report(message, r, s);
    this.#agent = agent;
    this.tree = new ObjectTree(agent.getMib(), options.log);
  }

  get engineId(): Buffer {
    return this.#agent.engine.engineID;
  }

  /** Seconds since this engine started (snmpEngineTime). */
  get engineTime(): number {
    return Math.min(Math.max(Math.floor((this.#clock() - this.#started) / 1000), 0), 2 ** 31 - 1);
  }

  /** One datagram from `socket`. Never throws. */
  receive(socket: Socket, data: Buffer, rinfo: snmp.RemoteInfo): void {
    const { stats, log } = this.options;
    stats.inc('packets');
    this.#agent.engine.engineTime = this.engineTime;
    try {
      this.options.beforeRequest?.();
      this.#agent.onMsg(socket, data, rinfo);
    } catch (err) {
      stats.inc('otherDrops');
      log.error({ err, remote: rinfo.address }, 'snmp request failed');
    }
  }

  close(): void {
    this.#agent.close();
  }

  /** Versions served: v2c, and v3 for this engine within its time window (else a report). */
  #served(socket: snmp.SendSocket, m: snmp.Message, rinfo: snmp.RemoteInfo): boolean {
    const { stats } = this.options;
    if (m.version !== snmp.Version2c && m.version !== snmp.Version3) {
      stats.inc('badVersions');
      return false;
    }
    const why = timeliness(m, this.#agent.engine);
    if (why === 'timely') return true;
    stats.inc(why);
    this.#report(untimelyReport(m, this.#agent.engine, this.#agent.context ?? '', why, stats.get(why)), rinfo, socket);
    return false;
  }

  #clampBulk(pdu: snmp.Pdu): void {
    const { maxRepetitions, maxVarbinds } = this.options.limits;
    const n = Math.min(Math.max(Math.trunc(pdu.nonRepeaters) || 0, 0), pdu.varbinds.length);
    const asked = Math.max(Math.trunc(pdu.maxRepetitions) || 0, 0);
    const m = Math.min(asked, maxRepetitions);
    if (m < asked) this.options.stats.inc('bulkClamped');
    pdu.nonRepeaters = n;
    // net-snmp reads maxRepetitions as the total number of varbinds to return.
    pdu.maxRepetitions = Math.min(n + m * (pdu.varbinds.length - n), maxVarbinds);
  }

  /**
   * A request with nothing to answer (no varbinds; a GetBulk of max-repetitions 0 and no
   * non-repeaters) gets an empty response, as RFC 3416 has it; net-snmp never answered one.
   */
  #answeredEmpty(socket: snmp.SendSocket, request: snmp.Message, rinfo: snmp.RemoteInfo, count: number): boolean {
    if (count > 0) return false;
    const pdu = request.pdu.getResponsePduForRequest();
    pdu.varbinds = [];
    this.#respond(socket, rinfo, request, pdu);
    return true;
  }

  #refuseSet(socket: snmp.SendSocket, request: snmp.Message, rinfo: snmp.RemoteInfo): void {
    this.options.stats.inc('setsRefused');
    const pdu = request.pdu.getResponsePduForRequest();
    pdu.errorStatus = snmp.ErrorStatus.NoAccess;
    pdu.errorIndex = request.pdu.varbinds.length > 0 ? 1 : 0;
    pdu.varbinds = request.pdu.varbinds.map((v) => ({ oid: v.oid, type: v.type, value: v.value }));
    this.#respond(socket, rinfo, request, pdu);
  }

  #respond(socket: snmp.SendSocket, rinfo: snmp.RemoteInfo, request: snmp.Message, pdu: snmp.Pdu): void {
    const { stats } = this.options;
    const asked = this.#asked.get(request);
    if (asked) pdu.varbinds = toSuccessors(asked.oids, asked.nonRepeaters, pdu.varbinds);
    let data = this.#encode(request, pdu);
    if (!data) {
      stats.inc('encodeErrors');
      data = this.#encode(request, this.#errorPdu(pdu, snmp.ErrorStatus.GeneralError));
      if (!data) return;
    }
    const max = this.#maxSize(request);
    if (data.length > max) {
      stats.inc('repliesCut');
      data = request.pdu.type === snmp.PduType.GetBulkRequest ? this.#fit(request, pdu, max) : undefined;
      data ??= this.#encode(request, this.#errorPdu(pdu, snmp.ErrorStatus.TooBig));
      if (!data || data.length > max) return;
    }
    this.#send(socket, data, rinfo);
  }

  /** The longest prefix of a GetBulk response's varbinds that fits in `max` bytes (binary search). */
  #fit(request: snmp.Message, pdu: snmp.Pdu, max: number): Buffer | undefined {
    const all = pdu.varbinds;
    let lo = 1;
    let hi = all.length - 1;
    let best: Buffer | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      pdu.varbinds = all.slice(0, mid);
      const data = this.#encode(request, pdu);
      if (data && data.length <= max) {
        best = data;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return best;
  }

  #errorPdu(pdu: snmp.Pdu, status: number): snmp.Pdu {
    pdu.errorStatus = status;
    pdu.errorIndex = 0;
    pdu.varbinds = [];
    return pdu;
  }

  #encode(request: snmp.Message, pdu: snmp.Pdu): Buffer | undefined {
    try {
      return request.createResponseForRequest(pdu).toBuffer();
    } catch (err) {
      this.options.log.error({ err }, 'snmp response could not be encoded');
      return undefined;
    }
  }

  #maxSize(request: snmp.Message): number {
    const asked = request.version === snmp.Version3 ? (request.msgGlobalData?.msgMaxSize ?? UDP_MAX) : UDP_MAX;
    return Math.max(484, Math.min(this.options.limits.maxMessageSize, asked, UDP_MAX));
  }

  /** Reports (SNMPv3 discovery, errors): those that would say a user is unknown are dropped. */
  #report(message: snmp.Message, rinfo: snmp.RemoteInfo, socket: snmp.SendSocket): void {
    const silent = SILENT_REPORTS.get(message.pdu.varbinds[0]?.oid ?? '');
    if (message.pdu.type === snmp.PduType.Report && silent) {
      this.options.stats.inc(silent);
      return;
    }
    let data: Buffer;
    try {
      data = message.toBuffer();
    } catch (err) {
      this.options.stats.inc('encodeErrors');
      this.options.log.error({ err }, 'snmp report could not be encoded');
      return;
    }
    this.#send(socket, data, rinfo);
  }

  #send(socket: snmp.SendSocket, data: Buffer, rinfo: snmp.RemoteInfo): void {
    this.options.stats.inc('responses');
    socket.send(data, 0, data.length, rinfo.port, rinfo.address, (err) => {
      if (err) this.options.log.debug({ err, remote: rinfo.address }, 'snmp send failed');
    });
  }

  /** What net-snmp refused before answering, by its error. */
  #rejected(err: Error & { code?: number }): void {
    const { stats } = this.options;
    const text = err.message ?? '';
    if (err.name === 'ProcessingError') stats.inc('parseErrors');
    else if (/community/i.test(text)) stats.inc('badCommunities');
    else if (/user not found/i.test(text)) stats.inc('unknownUsers');
    else if (err.name === 'ResponseInvalidError' || /requires (authentication|privacy)/.test(text)) stats.inc('authFailures');
    else {
      stats.inc('otherDrops');
      this.options.log.debug({ err }, 'snmp request dropped');
    }
  }
}
