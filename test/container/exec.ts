/**
 * What the container test finds on the machine: programs on PATH, whether Docker can run at all,
 * the commands it needs and their Debian packages.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The path of an executable on PATH, or null. */
export function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return join(dir, cmd);
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * Why Docker cannot run on this machine at all, or null when it can (or can be installed): the
 * one reason a machine may skip the container test (outside CI).
 */
export function whyDockerCannotRun(): string | null {
  if (process.platform !== 'linux') return `Docker's engine needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return `dockerd needs root (running as uid ${process.getuid?.()})`;
  const cgroups = existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup') : [];
  if (cgroups.length === 0) return 'no kernel support: /sys/fs/cgroup is missing or empty';
  const missing = ['mnt', 'pid', 'net', 'ipc', 'uts'].filter((ns) => !existsSync(`/proc/self/ns/${ns}`));
  if (missing.length > 0) return `no kernel support for ${missing.join(', ')} namespaces`;
  if (which('dockerd') === null && which('apt-get') === null) return 'no dockerd, and no apt-get to install docker.io';
  return null;
}

/**
 * The commands the container test needs, each with the Debian package that provides it: the
 * engine and client (`docker.io`), `debootstrap` for the stand-in base, `curl`, and Compose v1
 * (Debian's `docker-compose`) unless `docker compose` (v2) works (`composeV2`).
 */
export function neededTools(composeV2: boolean): Record<string, string> {
  return { dockerd: 'docker.io', docker: 'docker.io', debootstrap: 'debootstrap', curl: 'curl', ...(composeV2 ? {} : { 'docker-compose': 'docker-compose' }) };
}

/** Whether `docker compose` (Compose v2) works here. */
export function composeV2Works(): boolean {
  return spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0;
}

/** The Debian packages that provide the commands of `wanted` (command -> package) not on PATH. */
export function missingPackages(wanted: Readonly<Record<string, string>>): string[] {
  return [...new Set(Object.entries(wanted).filter(([cmd]) => which(cmd) === null).map(([, pkg]) => pkg))];
}
