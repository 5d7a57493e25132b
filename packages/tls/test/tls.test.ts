import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect, createServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:tls';
import { createTlsContextProvider, generatedTlsPaths, loadTlsMaterial, TlsMaterialError } from '@hearth/tls';

let dataDir: string;
let server: Server | undefined;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'hearth-tls-'));
});
afterEach(async () => {
  server?.close();
  server = undefined;
  await rm(dataDir, { recursive: true, force: true });
});

/** Serves one greeting line over TLS and returns what a client trusting `ca` received. */
async function handshake(options: Parameters<typeof createServer>[0], ca: string, servername: string): Promise<{ line: string; cert: X509Certificate }> {
  server = createServer(options, (socket) => socket.end('hello\n'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const socket = connect({ host: '127.0.0.1', port, ca, servername });
  try {
    await once(socket, 'secureConnect');
    const [data] = (await once(socket, 'data')) as [Buffer];
    return { line: data.toString(), cert: new X509Certificate(socket.getPeerX509Certificate()?.raw ?? Buffer.alloc(0)) };
  } finally {
    socket.destroy();
  }
}

describe('generated material', () => {
  it('generates one self-signed pair at first start, reuses it afterwards, key mode 0600', async () => {
    const first = await loadTlsMaterial({ dataDir });
    expect(first.source).toBe('generated');
    const paths = generatedTlsPaths(dataDir);
    expect(first.certFile).toBe(paths.certFile);
    expect((await stat(paths.keyFile)).mode & 0o777).toBe(0o600);
    const again = await loadTlsMaterial({ dataDir });
    expect(again.cert).toBe(first.cert);
    expect(again.key).toBe(first.key);
    expect(await readFile(paths.certFile, 'utf8')).toBe(first.cert);
  });

  it('names localhost, the loopback addresses and the host name', async () => {
    const { cert } = await loadTlsMaterial({ dataDir, mailDomains: ['mail.example.org'] });
    const san = new X509Certificate(cert).subjectAltName ?? '';
    expect(san).toContain('DNS:localhost');
    expect(san).toContain('DNS:mail.example.org');
    expect(san).toContain('IP Address:127.0.0.1');
    expect(san).toMatch(/IP Address:(::1|0:0:0:0:0:0:0:1)/);
  });

  it('gives two services starting at once the same pair', async () => {
    const [a, b] = await Promise.all([loadTlsMaterial({ dataDir }), loadTlsMaterial({ dataDir })]);
    expect(a.cert).toBe(b.cert);
    expect(a.key).toBe(b.key);
  });

  it('lets a TLS client that trusts the generated certificate connect with servername localhost', async () => {
    const provider = await createTlsContextProvider({ dataDir });
    const { line } = await handshake({ SNICallback: provider.sniCallback, ...provider.serverOptions }, provider.material.cert, 'localhost');
    expect(line).toBe('hello\n');
  });
});

describe('configured material', () => {
  async function writePair(prefix: string): Promise<{ cert: string; key: string }> {
    const other = await loadTlsMaterial({ dataDir: join(dataDir, prefix) });
    const cert = join(dataDir, `${prefix}.crt`);
    const key = join(dataDir, `${prefix}.key`);
    await writeFile(cert, other.cert);
    await writeFile(key, other.key, { mode: 0o600 });
    return { cert, key };
  }

  it('loads a configured pair', async () => {
    const files = await writePair('site');
    const material = await loadTlsMaterial({ dataDir, ...files });
    expect(material).toMatchObject({ source: 'configured', certFile: files.cert, keyFile: files.key });
    expect(material.cert).toBe(await readFile(files.cert, 'utf8'));
  });

  it('names the file that is missing, unreadable, not PEM, or does not match', async () => {
    const files = await writePair('site');
    const missing = join(dataDir, 'nope.pem');
    await expect(loadTlsMaterial({ dataDir, cert: missing, key: files.key })).rejects.toThrow(`tls: the certificate file ${missing} does not exist`);
    await expect(loadTlsMaterial({ dataDir, cert: files.cert, key: missing })).rejects.toMatchObject({ file: missing });
    const garbage = join(dataDir, 'garbage.pem');
    await writeFile(garbage, 'not a certificate\n');
    await expect(loadTlsMaterial({ dataDir, cert: garbage, key: files.key })).rejects.toThrow(`tls: ${garbage} holds no PEM certificate`);
    await expect(loadTlsMaterial({ dataDir, cert: files.cert, key: files.cert })).rejects.toThrow(`tls: ${files.cert} holds no PEM private key`);
    const broken = join(dataDir, 'broken.pem');
    await writeFile(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    await expect(loadTlsMaterial({ dataDir, cert: broken, key: files.key })).rejects.toThrow(`tls: ${broken} is not a valid PEM certificate`);
    const otherPair = await writePair('other');
    await expect(loadTlsMaterial({ dataDir, cert: files.cert, key: otherPair.key })).rejects.toThrow(
      `tls: the key in ${otherPair.key} does not belong to the certificate in ${files.cert}`,
    );
    await expect(loadTlsMaterial({ dataDir, cert: files.cert })).rejects.toBeInstanceOf(TlsMaterialError);
    if (process.getuid?.() !== 0) {
      await chmod(files.key, 0o000);
      await expect(loadTlsMaterial({ dataDir, ...files })).rejects.toThrow('is not readable (permission denied)');
    }
  });

  it('reloads a replaced pair for new connections and keeps the old one when the new files are bad', async () => {
    const files = await writePair('site');
    const provider = await createTlsContextProvider({ dataDir, ...files });
    const before = provider.material.cert;
    const next = await loadTlsMaterial({ dataDir: join(dataDir, 'next') });
    await writeFile(files.cert, next.cert);
    await writeFile(files.key, next.key);
    await provider.reload();
    expect(provider.material.cert).not.toBe(before);
    const { cert } = await handshake({ SNICallback: provider.sniCallback, ...provider.serverOptions }, next.cert, 'localhost');
    expect(cert.raw.equals(new X509Certificate(next.cert).raw)).toBe(true);
    server?.close();
    await writeFile(files.cert, 'garbage');
    await expect(provider.reload()).rejects.toBeInstanceOf(TlsMaterialError);
    expect(provider.material.cert).toBe(next.cert);
  });

  it('reloads from other files when given new options, and keeps the old options when those fail', async () => {
    const files = await writePair('site');
    const provider = await createTlsContextProvider({ dataDir, ...files });
    const other = await writePair('other');
    await provider.reload({ dataDir, ...other });
    const otherCert = await readFile(other.cert, 'utf8');
    expect(provider.material.cert).toBe(otherCert);
    await expect(provider.reload({ dataDir, cert: join(dataDir, 'missing.pem'), key: other.key })).rejects.toBeInstanceOf(TlsMaterialError);
    expect(provider.material.cert).toBe(otherCert);
    // Without options: the last ones that loaded (the other pair), not the first.
    await writeFile(files.cert, 'garbage');
    await provider.reload();
    expect(provider.material.certFile).toBe(other.cert);
  });
});

describe('importing the package', () => {
  it('leaves the global object and Reflect as they were (the certificate generator loads only to generate)', async () => {
    // A fresh process: what it finds on globalThis and Reflect before and after the import.
    const script = `
      const names = () => [...Object.getOwnPropertyNames(globalThis), ...Reflect.ownKeys(Reflect).map(String).map((k) => 'Reflect.' + k)];
      const before = new Set(names());
      const tls = await import('@hearth/tls');
      const added = names().filter((n) => !before.has(n));
      console.log(JSON.stringify({ added, exports: Object.keys(tls).length }));
    `;
    const cwd = fileURLToPath(new URL('..', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd });
    const result = JSON.parse(stdout) as { added: string[]; exports: number };
    expect(result.exports).toBeGreaterThan(0);
    expect(result.added).toEqual([]);
  });
});
