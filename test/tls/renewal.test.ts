/**
 * A certificate renewed in place, as certbot renews one: new contents under the configured `tls:`
 * paths, the config file unchanged, then `hearth reload`. Every TLS listener of the suite (the file
 * service's and the admin page's HTTPS, POP3S and POP3's STLS, SMTPS and submission's STARTTLS)
 * then presents the new certificate to new connections, both to clients that name the server (SNI)
 * and to those that do not, with every service still the same process. A reload with nothing new
 * touches no service; a pair that does not load is refused and the certificate served stays.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, runProgramOk, type TempDir } from '@hearth/testkit';
import { startUp, stopAll, waitState, type Up } from '@hearth/testkit/hearth-up';

const SERVICES = ['files', 'admin', 'pop3', 'smtp'] as const;

/** How each TLS endpoint is reached: `implicit` (TLS from the first byte) or a STARTTLS dialogue. */
type Way = 'implicit' | 'pop3-stls' | 'smtp-starttls';
const ENDPOINTS: ReadonlyArray<{ service: (typeof SERVICES)[number]; listener: string; way: Way }> = [
  { service: 'files', listener: 'https', way: 'implicit' },
  { service: 'admin', listener: 'https', way: 'implicit' },
  { service: 'pop3', listener: 'pop3s', way: 'implicit' },
  { service: 'pop3', listener: 'pop3', way: 'pop3-stls' },
  { service: 'smtp', listener: 'smtps', way: 'implicit' },
  { service: 'smtp', listener: 'submission', way: 'smtp-starttls' },
];

let dir: TempDir;
let up: Up;
let certFile: string;
let keyFile: string;

/** A new self-signed pair for localhost and 127.0.0.1 in `name`-cert.pem and `name`-key.pem: its certificate's PEM and key's PEM. */
async function makePair(name: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir.path, `${name}-cert.pem`);
  const key = join(dir.path, `${name}-key.pem`);
  await runProgramOk('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2',
    '-subj', `/CN=localhost/O=${name}`, '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ]);
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}

/** Renews in place: the pair's contents written under the configured paths. */
function install(pair: { cert: string; key: string }): void {
  writeFileSync(certFile, pair.cert);
  writeFileSync(keyFile, pair.key);
}

const fingerprintOf = (pem: string): string => new X509Certificate(pem).fingerprint256;

/** Reads from `socket` until what arrived ends with a line matching `last`; everything read. */
function readUntil(socket: Socket, last: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      const lines = text.split('\r\n');
      if (lines.length > 1 && last.test(lines[lines.length - 2]!)) {
        socket.off('data', onData);
        socket.off('error', reject);
        resolve(text);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/** The plain-text dialogue before the handshake on a STARTTLS endpoint; the socket to upgrade. */
async function startTls(port: number, way: Exclude<Way, 'implicit'>): Promise<Socket> {
  const socket = netConnect(port, '127.0.0.1');
  if (way === 'pop3-stls') {
    await readUntil(socket, /^\+OK/);
    socket.write('STLS\r\n');
    await readUntil(socket, /^\+OK/);
  } else {
    await readUntil(socket, /^220 /);
    socket.write('EHLO renewal.test\r\n');
    await readUntil(socket, /^250 /);
    socket.write('STARTTLS\r\n');
    await readUntil(socket, /^220 /);
  }
  return socket;
}

/**
 * The SHA-256 fingerprint of the certificate the endpoint presents; with `sni`, the client names
 * the server `localhost` (without, it connects by address and names none, as Node does for an IP).
 */
async function presented(port: number, way: Way, sni: boolean): Promise<string> {
  const options: ConnectionOptions = { rejectUnauthorized: false, ...(sni ? { servername: 'localhost' } : {}) };
  const socket = way === 'implicit' ? undefined : await startTls(port, way);
  return new Promise((resolve, reject) => {
    const secure = tlsConnect(socket ? { ...options, socket } : { ...options, host: '127.0.0.1', port }, () => {
      resolve(secure.getPeerCertificate().fingerprint256);
      secure.destroy();
    });
    secure.once('error', reject);
  });
}

/** What every endpoint presents, with and without SNI: `service/listener sni|ip` → fingerprint. */
async function everyPresented(): Promise<Record<string, string>> {
  const ports = new Map<string, number>();
  for (const row of await up.status()) for (const l of row.listeners) ports.set(`${row.name}/${l.name}`, l.port);
  const seen: Record<string, string> = {};
  for (const e of ENDPOINTS) {
    const key = `${e.service}/${e.listener}`;
    const port = ports.get(key);
    if (port === undefined) throw new Error(`no listener ${key} in hearth status`);
    for (const sni of [true, false]) seen[`${key} ${sni ? 'sni' : 'ip'}`] = await presented(port, e.way, sni);
  }
  return seen;
}

/** Every endpoint, with and without SNI, presenting `fingerprint`. */
const all = (fingerprint: string): Record<string, string> =>
  Object.fromEntries(ENDPOINTS.flatMap((e) => ['sni', 'ip'].map((how) => [`${e.service}/${e.listener} ${how}`, fingerprint])));

async function pids(): Promise<Record<string, number | null>> {
  return Object.fromEntries((await up.status()).map((s) => [s.name, s.pid]));
}

beforeAll(async () => {
  dir = await makeTempDir('hearth-tls-renewal-');
  certFile = join(dir.path, 'cert.pem');
  keyFile = join(dir.path, 'key.pem');
  install(await makePair('first'));
  const tls = (name: string): string => `${name}: { address: 127.0.0.1, port: 0, tls: true }`;
  const plain = (name: string): string => `${name}: { address: 127.0.0.1, port: 0 }`;
  up = await startUp(
    `tls:
  cert: ${certFile}
  key: ${keyFile}
services:
  files:
    service: files
    listen: { ${tls('https')} }
  admin:
    service: admin
    listen: { ${tls('https')} }
  pop3:
    service: pop3
    listen: { ${plain('pop3')}, ${tls('pop3s')} }
  smtp:
    service: smtp
    listen: { ${plain('submission')}, ${tls('smtps')} }
`,
    { dir },
  );
  for (const name of SERVICES) await waitState(up, name, 'running', 30_000);
}, 60_000);

afterAll(stopAll);

describe('a certificate renewed in place', () => {
  it('is presented by every TLS listener after hearth reload, with and without SNI, by the same processes', async () => {
    const first = fingerprintOf(readFileSync(certFile, 'utf8'));
    expect(await everyPresented()).toEqual(all(first));
    const before = await pids();

    // Nothing new: no service is touched.
    const idle = await up.cli('reload');
    expect(idle.stdout.trim()).toBe(`unchanged: ${SERVICES.join(', ')}`);
    expect(idle.code).toBe(0);

    const second = await makePair('second');
    install(second);
    // Until the reload, the services serve what they loaded.
    expect(await everyPresented()).toEqual(all(first));
    const renewed = await up.cli('reload');
    expect(renewed.stderr).toBe('');
    expect(renewed.stdout.trim()).toBe(`reloaded in place: ${SERVICES.join(', ')}`);
    expect(renewed.code).toBe(0);
    expect(await everyPresented()).toEqual(all(fingerprintOf(second.cert)));
    expect(await pids()).toEqual(before);
  }, 60_000);

  it('refuses a pair that does not load and keeps serving the one it has', async () => {
    const served = fingerprintOf(readFileSync(certFile, 'utf8'));
    writeFileSync(certFile, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    const refused = await up.cli('reload');
    expect(refused.code).toBe(1);
    // One line per service, each naming the file.
    expect(refused.stderr.trim().split('\n')).toHaveLength(SERVICES.length);
    for (const line of refused.stderr.trim().split('\n')) expect(line).toContain(`${certFile} is not a valid PEM certificate`);
    for (const name of SERVICES) expect((await up.service(name)).state).toBe('running');
    expect(await everyPresented()).toEqual(all(served));
  }, 90_000);
});
