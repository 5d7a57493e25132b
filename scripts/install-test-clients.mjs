#!/usr/bin/env node
// Installs the real clients the tests drive (Debian packages) when they are missing.
// Run by `pnpm test` before the suite; needs root for apt-get (CI and our machines run as root).
import { execFileSync, spawnSync } from 'node:child_process';

/** Debian packages, each with the reason a test needs it. */
const packages = {
  curl: 'curl smtp:// and pop3:// clients',
  openssl: 'certificates and s_client in TLS tests',
  swaks: 'SMTP client (smtp tests)',
  'libnet-ssleay-perl': 'swaks STARTTLS',
  'libio-socket-ssl-perl': 'swaks STARTTLS',
  'libauthen-sasl-perl': 'swaks AUTH',
  'libdigest-hmac-perl': 'swaks AUTH',
  fetchmail: 'POP3 client (pop3 tests)',
  mpop: 'POP3 client (pop3 tests)',
  snmp: 'snmpwalk, snmpget, snmpbulkget, snmpbulkwalk, snmptable, snmpset, snmptranslate against the SNMP agent',
  smitools: 'smilint checks the Hearth MIB file',
  snmpd: 'the reference agent bench/snmp compares with',
  litmus: 'WebDAV compliance suite run against the file service',
  rclone: 'WebDAV client: sync round trip with the file service',
  cadaver: 'scripted WebDAV shell against the file service',
  gvfs: "GNOME Files' WebDAV client: GIO's module for the GVfs daemons",
  'gvfs-backends': "GNOME Files' WebDAV client: GVfs's dav backend (file service tests)",
  'glib-networking': "TLS for GVfs's davs:// (file service tests)",
  'libglib2.0-bin': 'gio, the command line of the GIO calls GNOME Files makes',
  'dbus-daemon': 'a private D-Bus session bus on which gio starts the GVfs daemons',
  'python3-prometheus-client': "Prometheus's own text-format and OpenMetrics parsers read the admin service's /metrics",
  prometheus: "the Prometheus server runs the admin README's scrape job against /metrics, and its promtool checks the /metrics text",
  chromium: 'the browser the admin page tests and bench/admin drive through playwright-core (nothing is downloaded)',
};

function installed(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

const missing = Object.keys(packages).filter((pkg) => !installed(pkg));
if (missing.length === 0) process.exit(0);

if (process.getuid?.() !== 0) {
  console.error(`install-test-clients: missing Debian packages: ${missing.join(' ')}`);
  console.error(`install-test-clients: run as root, or: apt-get install ${missing.join(' ')}`);
  process.exit(1);
}
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
console.log(`install-test-clients: apt-get install ${missing.join(' ')}`);
execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
