/**
 * The compose file and the image against the config they ship (no engine needed): every listener
 * of every service is published and exposed, UDP and the admin page on the host's loopback only;
 * the project, container and volume names the README promises; base and build network from the
 * environment; no memory limit; the stand-in base of the Node.js line the image defaults to. The
 * base each place names (Compose's default, the container test's) is the Dockerfile's, read from
 * it, so that moving the image to another line is one edit there and a failing test for each
 * place not moved with it. And the two files the container test derives from them.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { composeService, hostNetworkVariant, listenersOf, loopbackConfig, publishedPorts } from './compose-files.js';
import { OFFICIAL_BASE } from './support.js';

const dockerDir = fileURLToPath(new URL('../../docker/', import.meta.url));
const read = (name: string) => readFile(`${dockerDir}${name}`, 'utf8');

/** The Dockerfile's default base: its NODE_IMAGE with its NODE_VERSION put in. */
async function dockerfileBase(): Promise<{ line: string; image: string }> {
  const dockerfile = await read('Dockerfile');
  const line = /^ARG NODE_VERSION=(\d+)$/m.exec(dockerfile)?.[1];
  const template = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1];
  expect(line).toMatch(/^\d+$/);
  expect(template).toContain('${NODE_VERSION}');
  return { line: line!, image: template!.replace('${NODE_VERSION}', line!) };
}

describe('docker/docker-compose.yml and docker/Dockerfile', () => {
  it('publish every listener of docker/hearth.yaml on its own port, UDP and the admin page on 127.0.0.1 only, and nothing else', async () => {
    const listeners = listenersOf(await read('hearth.yaml'));
    const published = publishedPorts(await read('docker-compose.yml'));
    expect(listeners.length).toBeGreaterThan(0);
    const want = listeners.map((l) => ({
      hostIp: l.protocol === 'udp' || l.service === 'admin' ? '127.0.0.1' : null,
      hostPort: l.port,
      containerPort: l.port,
      protocol: l.protocol,
    }));
    expect(published).toEqual(expect.arrayContaining(want));
    expect(published).toHaveLength(want.length);
  });

  it('EXPOSE every listener of docker/hearth.yaml', async () => {
    const expose = /^EXPOSE (.+)$/m.exec(await read('Dockerfile'))?.[1]?.trim().split(/\s+/) ?? [];
    const want = listenersOf(await read('hearth.yaml')).map((l) => `${l.port}/${l.protocol}`);
    expect([...expose].sort()).toEqual([...want].sort());
  });

  it('name the project hearth (docker/.env), the container hearth and the volume hearth-data', async () => {
    expect(await read('.env')).toMatch(/^COMPOSE_PROJECT_NAME=hearth$/m);
    const { service, doc } = composeService(await read('docker-compose.yml'));
    expect(service.container_name).toBe('hearth');
    expect(service.volumes).toContain('hearth-data:/var/lib/hearth');
    expect(doc.volumes).toEqual({ 'hearth-data': { name: 'hearth-data' } });
  });

  it('take the base image and the build network from the environment, and set no memory limit', async () => {
    const { service } = composeService(await read('docker-compose.yml'));
    const build = service.build as { network?: string; args?: Record<string, string> };
    expect(build.network).toBe('${HEARTH_BUILD_NETWORK:-default}');
    expect(build.args?.NODE_IMAGE).toBe(`\${HEARTH_NODE_IMAGE:-${(await dockerfileBase()).image}}`);
    for (const key of ['mem_limit', 'mem_reservation', 'memswap_limit', 'deploy']) expect(service).not.toHaveProperty(key);
  });

  it('the stand-in base (make-local-base.sh) carries the Node.js line of the official base', async () => {
    const { line } = await dockerfileBase();
    expect(await read('make-local-base.sh')).toContain(`node_version=\${HEARTH_NODE_VERSION:-${line}}`);
  });

  it("the container test's official base is the Dockerfile's default", async () => {
    expect(OFFICIAL_BASE).toBe((await dockerfileBase()).image);
  });

  it("the image's build installs with the pnpm the repository pins (package.json's packageManager)", async () => {
    const { packageManager } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { packageManager: string };
    const pinned = /^ARG PNPM_VERSION=(\S+)$/m.exec(await read('Dockerfile'))?.[1];
    expect(`pnpm@${pinned}`).toBe(packageManager);
  });
});

describe('the files the container test derives', () => {
  it('the host-networking variant drops ports and hostname, mounts the config and keeps the rest', async () => {
    const original = composeService(await read('docker-compose.yml')).service;
    const variant = parse(hostNetworkVariant(await read('docker-compose.yml'), { configPath: '/tmp/x/hearth.yaml', healthInterval: '1s' })) as {
      services: Record<string, Record<string, unknown>>;
    };
    const svc = variant.services.hearth ?? {};
    expect(svc).not.toHaveProperty('ports');
    expect(svc).not.toHaveProperty('hostname');
    expect(svc.network_mode).toBe('host');
    expect(svc.volumes).toEqual([...(original.volumes as string[]), '/tmp/x/hearth.yaml:/etc/hearth/hearth.yaml:ro']);
    for (const key of ['build', 'image', 'container_name', 'init', 'stop_grace_period', 'restart']) expect(svc[key]).toEqual(original[key]);
    expect(svc.healthcheck).toEqual({ ...(original.healthcheck as object), interval: '1s' });
  });

  it('the loopback config moves every listener to 127.0.0.1 on the port given, and keeps the rest', async () => {
    const yaml = await read('hearth.yaml');
    const moved = loopbackConfig(yaml, (l) => 40000 + l.port);
    expect(listenersOf(moved)).toEqual(listenersOf(yaml).map((l) => ({ ...l, address: '127.0.0.1', port: 40000 + l.port })));
    const strip = (text: string) => {
      const doc = parse(text) as { services: Record<string, { listen?: unknown }> };
      for (const svc of Object.values(doc.services)) delete svc.listen;
      return doc;
    };
    expect(strip(moved)).toEqual(strip(yaml));
  });
});
