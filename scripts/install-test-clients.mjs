#!/usr/bin/env node
// Installs the real clients the tests drive (Debian packages), once, when they are missing.
// Run by `pnpm test`; needs root (CI and the development machines run as root).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian package -> a file that proves it is installed. */
const clients = {
  curl: '/usr/bin/curl',
};

const missing = Object.entries(clients)
  .filter(([, proof]) => !existsSync(proof))
  .map(([pkg]) => pkg);

if (missing.length === 0) process.exit(0);
if (process.getuid?.() !== 0) {
  console.error(`install-test-clients: missing ${missing.join(', ')}; install them as root (apt-get install ${missing.join(' ')})`);
  process.exit(1);
}
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
console.log(`install-test-clients: apt-get install ${missing.join(' ')}`);
execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
