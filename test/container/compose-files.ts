/**
 * Reading docker/hearth.yaml and docker/docker-compose.yml, and deriving the two files the
 * container test runs with: the image's config on free loopback ports, and a host-networking
 * variant of the compose file (docker-compose 1.29 merges an override's `ports:` into the base's
 * and refuses them with `network_mode: host`, so the variant is the file itself, transformed).
 */
import { parse, stringify } from 'yaml';

/** One listener of one service in a Hearth config. */
export interface Listener {
  readonly service: string;
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly protocol: 'tcp' | 'udp';
}

/** One entry of a compose service's `ports:`. */
export interface PublishedPort {
  readonly hostIp: string | null;
  readonly hostPort: number;
  readonly containerPort: number;
  readonly protocol: 'tcp' | 'udp';
}

type Doc = Record<string, unknown>;

function isDoc(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function servicesOf(doc: unknown, file: string): Record<string, Doc> {
  if (!isDoc(doc) || !isDoc(doc.services)) throw new Error(`${file}: no services: mapping`);
  const out: Record<string, Doc> = {};
  for (const [name, svc] of Object.entries(doc.services)) {
    if (!isDoc(svc)) throw new Error(`${file}: services.${name} is not a mapping`);
    out[name] = svc;
  }
  return out;
}

/** Every listener of every service in a Hearth config, in file order. */
export function listenersOf(hearthYaml: string): Listener[] {
  const out: Listener[] = [];
  for (const [service, svc] of Object.entries(servicesOf(parse(hearthYaml), 'hearth.yaml'))) {
    if (!isDoc(svc.listen)) continue;
    for (const [name, l] of Object.entries(svc.listen)) {
      if (!isDoc(l) || typeof l.address !== 'string' || typeof l.port !== 'number') {
        throw new Error(`hearth.yaml: services.${service}.listen.${name} needs an address and a port`);
      }
      out.push({ service, name, address: l.address, port: l.port, protocol: l.protocol === 'udp' ? 'udp' : 'tcp' });
    }
  }
  return out;
}

/** The services of a Hearth config, by name. */
export function serviceNamesOf(hearthYaml: string): string[] {
  return Object.keys(servicesOf(parse(hearthYaml), 'hearth.yaml'));
}

/** The Hearth config with each listener on 127.0.0.1 and the port `portOf` gives it. */
export function loopbackConfig(hearthYaml: string, portOf: (l: Listener) => number): string {
  const doc: unknown = parse(hearthYaml);
  for (const l of listenersOf(hearthYaml)) {
    const entry = (servicesOf(doc, 'hearth.yaml')[l.service]?.listen as Doc)[l.name] as Doc;
    entry.address = '127.0.0.1';
    entry.port = portOf(l);
  }
  return stringify(doc);
}

/** The one service of the compose file (Hearth's image runs as one container). */
export function composeService(composeYaml: string): { readonly name: string; readonly service: Doc; readonly doc: Doc } {
  const doc: unknown = parse(composeYaml);
  const entries = Object.entries(servicesOf(doc, 'docker-compose.yml'));
  const first = entries[0];
  if (entries.length !== 1 || first === undefined) throw new Error(`docker-compose.yml: expected one service, found ${entries.length}`);
  return { name: first[0], service: first[1], doc: doc as Doc };
}

/** The `ports:` of the compose file's service (short syntax: [IP:]HOST:CONTAINER[/PROTO]). */
export function publishedPorts(composeYaml: string): PublishedPort[] {
  const ports = composeService(composeYaml).service.ports;
  if (!Array.isArray(ports)) return [];
  return ports.map((p) => {
    const text = String(p);
    const m = /^(?:(\d+\.\d+\.\d+\.\d+|\[[0-9a-f:]+\]):)?(\d+):(\d+)(?:\/(tcp|udp))?$/.exec(text);
    if (m === null) throw new Error(`docker-compose.yml: cannot read the port ${JSON.stringify(text)}`);
    return { hostIp: m[1] ?? null, hostPort: Number(m[2]), containerPort: Number(m[3]), protocol: m[4] === 'udp' ? 'udp' : 'tcp' };
  });
}

export interface VariantOptions {
  /** A Hearth config file on the host, mounted read-only over the image's. */
  readonly configPath: string;
  /** The health check's interval in the test (the file's own suits production). */
  readonly healthInterval: string;
}

/**
 * The compose file for host networking: its one service without `ports:` and `hostname:` (Docker
 * refuses both with the host's network), with `network_mode: host`, the loopback config mounted,
 * and a short health-check interval. Everything else (build, image, container and volume names,
 * init, stop grace period, health check) is the file's own.
 */
export function hostNetworkVariant(composeYaml: string, options: VariantOptions): string {
  const { doc, service } = composeService(composeYaml);
  delete service.ports;
  delete service.hostname;
  service.network_mode = 'host';
  const volumes = Array.isArray(service.volumes) ? service.volumes : [];
  service.volumes = [...volumes, `${options.configPath}:/etc/hearth/hearth.yaml:ro`];
  if (isDoc(service.healthcheck)) service.healthcheck.interval = options.healthInterval;
  return stringify(doc);
}
