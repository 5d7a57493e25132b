/**
 * The `listen:` entries of the suite config, as `config-build.ts` reads them: a listener as
 * written (`listenEntry`) with what it omits filled in from the kind's default listener
 * (`listenerSpec`), the checks across listeners (the kind's `listenerRule`, two listeners on one
 * port whose addresses overlap), and `ipv6Only` for an IPv6 wildcard declared beside an IPv4
 * address on its port. Loaded only with `config-build.ts`, in the config worker.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';
import { port } from '@hearth/config';
import type { ListenerRule, ListenerSpec, ServiceManifest } from '@hearth/runtime';
import type { ServiceConfig } from './config.js';

/** A listener as written; what it omits comes from `listenerSpec`. */
export const listenEntry = z
  .object({
    address: z.string().min(1).optional(),
    port: port(),
    tls: z.boolean().optional(),
    protocol: z.enum(['tcp', 'udp']).optional(),
  })
  .strict();

/**
 * A listener of the config with its omitted keys filled in: from the kind's default listener of
 * the same name (`https: { port: 443 }` of the file service is TLS, `snmp: { port: 161 }` UDP),
 * else 127.0.0.1, tcp, no TLS. Takes the entry as written: a key that failed its own check is
 * taken as omitted.
 */
export function listenerSpec(name: string, entry: Readonly<Record<string, unknown>>, manifest: ServiceManifest<unknown> | undefined): ListenerSpec {
  const known = manifest?.defaultListeners.find((l) => l.name === name);
  const protocol = entry['protocol'] === 'tcp' || entry['protocol'] === 'udp' ? entry['protocol'] : (known?.protocol ?? 'tcp');
  return {
    name,
    protocol,
    address: typeof entry['address'] === 'string' ? entry['address'] : (known?.address ?? '127.0.0.1'),
    port: typeof entry['port'] === 'number' ? entry['port'] : 0,
    tls: typeof entry['tls'] === 'boolean' ? entry['tls'] : (known?.tls ?? false),
  };
}

/**
 * The kind's `listenerRule` (the protocol it serves, TLS required) checked on each listener
 * written under a Hearth service's `listen:`, each problem added to `rc` at its key.
 */
export function checkListenerRule(listen: Readonly<Record<string, unknown>>, manifest: ServiceManifest<unknown>, rule: ListenerRule, rc: z.RefinementCtx): void {
  for (const [lname, l] of Object.entries(listen)) {
    if (!isRecord(l)) continue;
    const spec = listenerSpec(lname, l, manifest);
    const kind = manifest.kind;
    if (spec.protocol !== rule.protocol) {
      rc.addIssue({ code: 'custom', path: ['listen', lname, 'protocol'], message: `${kind} serves ${rule.protocol} listeners only (this one is ${spec.protocol})` });
    } else if (spec.protocol === 'udp' && spec.tls) {
      rc.addIssue({ code: 'custom', path: ['listen', lname, 'tls'], message: `${kind} listens on udp: tls is for tcp listeners` });
    } else if (rule.tls === 'required' && !spec.tls) {
      rc.addIssue({ code: 'custom', path: ['listen', lname, 'tls'], message: `${kind} is served over TLS only: set tls: true` });
    }
}
}

/** A plain object (a YAML map), not null or a list. */
export function isRecord(v: unknown): v is Readonly<Record<string, unknown>> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

interface DeclaredListener {
  readonly service: string;
  readonly listener: string;
  /** Named under the service's listen: (else one of its kind's defaults). */
  readonly written: boolean;
  readonly spec: ListenerSpec;
}

/**
 * Two listeners of the config on one port and protocol whose addresses overlap (the same one, or
 * a wildcard and an address of its family), each after the first named with the one it clashes
 * with. The supervisor binds both (SO_REUSEADDR lets two sockets bind one address until one
 * listens), so only the second service's listen failed, at every start of a crash loop.
 * An IPv6 wildcard beside an IPv4 address is not a clash: it is bound IPv6-only (withIpv6Only).
 */
export function portClashes(
  services: readonly (readonly [string, unknown])[],
  manifests: ReadonlyMap<string, ServiceManifest<unknown> | Error>,
): { service: string; listener: string; written: boolean; at: string; other: DeclaredListener }[] {
  const declared: DeclaredListener[] = [];
  for (const [service, s] of services) {
    if (!isRecord(s)) continue;
    const m = manifests.get(service);
    const manifest = m instanceof Error ? undefined : m;
    if (isRecord(s['listen'])) {
      for (const [listener, l] of Object.entries(s['listen'])) if (isRecord(l)) declared.push({ service, listener, written: true, spec: listenerSpec(listener, l, manifest) });
    } else if (s['command'] === undefined) {
      for (const spec of manifest?.defaultListeners ?? []) declared.push({ service, listener: spec.name, written: false, spec });
    }
  }
  const overlap = (a: string, b: string): boolean =>
    a === b || (isIPv4(a) && isIPv4(b) && (a === '0.0.0.0' || b === '0.0.0.0')) || (isIPv6(a) && isIPv6(b) && (isIpv6Wildcard(a) || isIpv6Wildcard(b)));
  const clashes = [];
  for (const [i, d] of declared.entries()) {
    if (d.spec.port === 0) continue;
    const other = declared.slice(0, i).find((e) => e.spec.port === d.spec.port && e.spec.protocol === d.spec.protocol && overlap(e.spec.address, d.spec.address));
    if (other === undefined) continue;
    const host = isIPv6(d.spec.address) ? `[${d.spec.address}]` : d.spec.address;
    clashes.push({ service: d.service, listener: d.listener, written: d.written, at: `${host}:${d.spec.port}${d.spec.protocol === 'udp' ? '/udp' : ''}`, other });
  }
  return clashes;
}

/** `::` and its longer spellings (only zeros and colons): the IPv6 wildcard. */
const isIpv6Wildcard = (address: string): boolean => isIPv6(address) && /^[0:]+$/.test(address);

/**
 * An IPv6 wildcard listener on a port that some listener also declares on an IPv4 address gets
 * `ipv6Only`: a dual-stack `::` socket would take that port for IPv4 too, and the second bind
 * would fail with "address already in use". Declared together, each family gets its own socket
 * (nginx binds `[::]` with ipv6only=on for the same reason); `::` alone stays dual-stack.
 */
export function withIpv6Only(services: ServiceConfig[]): ServiceConfig[] {
  const ipv4 = new Set<string>();
  for (const s of services) for (const l of s.listen) if (l.port !== 0 && isIPv4(l.address)) ipv4.add(`${l.protocol}/${l.port}`);
  if (ipv4.size === 0) return services;
  return services.map((s) => ({
    ...s,
    listen: s.listen.map((l) => (l.port !== 0 && isIpv6Wildcard(l.address) && ipv4.has(`${l.protocol}/${l.port}`) ? { ...l, ipv6Only: true } : l)),
  }));
}
