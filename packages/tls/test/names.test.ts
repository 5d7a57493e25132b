/**
 * The names of the suite's generated certificate (`suiteNames`), which names a certificate covers
 * (`certificateNamesHost`, as curl and browsers match them), and the rule that replaces a
 * generated certificate: when it lacks a name the config asks for (a `tls.names` entry, a mail
 * domain), under a lock that every service starting or reloading at once waits for, and not for
 * a name the config does not ask for (the machine's host name, a name since removed).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { certificateNames, certificateNamesHost, generatedTlsPaths, loadTlsMaterial, suiteNames, type TlsLog } from '@hearth/tls';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'hearth-tls-names-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

/** A logger that keeps what it is given. */
function memoryLog(): TlsLog & { lines: Array<{ level: 'info' | 'warn'; fields: Record<string, unknown>; message: string }> } {
  const lines: Array<{ level: 'info' | 'warn'; fields: Record<string, unknown>; message: string }> = [];
  return {
    lines,
    info: (fields, message) => lines.push({ level: 'info', fields: fields as Record<string, unknown>, message }),
    warn: (fields, message) => lines.push({ level: 'warn', fields: fields as Record<string, unknown>, message }),
  };
}

/** An openssl-made pair in the generated pair's place, naming `san` only. */
async function placePair(san: string): Promise<string> {
  const { dir, certFile, keyFile } = generatedTlsPaths(dataDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '3650', '-subj', '/CN=localhost', '-addext', `subjectAltName=${san}`,
  ]);
  return readFile(certFile, 'utf8');
}

describe('suiteNames', () => {
  it('names localhost, the host name and its .local name, the mail domains and tls.names (IPs as IPs), and the loopback addresses', () => {
    const names = suiteNames({ mail: { domains: ['localhost', 'NAS', 'Example.org', 'bad_domain'] }, tls: { names: ['files.test', '192.168.1.10', 'FD00:0::10'] } }, 'NAS');
    expect(names.dns).toEqual(['localhost', 'nas', 'nas.local', 'example.org', 'files.test']);
    expect(names.ips).toEqual(['127.0.0.1', '::1', '192.168.1.10', 'fd00::10']);
    // Asked for: what a certificate must name to be kept. Not localhost, not the host name.
    expect(names.asked).toEqual(['example.org', 'files.test', '192.168.1.10', 'fd00::10']);
  });

  it('takes the .local name from the first label of a qualified host name, and none for localhost', () => {
    expect(suiteNames({ mail: { domains: [] }, tls: {} }, 'nas.example.org').dns).toEqual(['localhost', 'nas.example.org', 'nas.local']);
    expect(suiteNames({ mail: { domains: [] }, tls: {} }, 'localhost').dns).toEqual(['localhost']);
  });
});

describe('certificateNamesHost', () => {
  it('matches DNS names (one label for a wildcard), and IPs in any spelling', async () => {
    const cert = await placePair('DNS:nas.local,DNS:*.example.org,IP:192.168.1.10,IP:fd00::10');
    expect(certificateNames(cert)).toEqual({ dns: ['nas.local', '*.example.org'], ips: ['192.168.1.10', 'fd00::10'] });
    for (const host of ['nas.local', 'NAS.local', 'files.example.org', '192.168.1.10', 'fd00::10', 'FD00:0:0::10', '[fd00::10]', 'fd00::10%eth0']) {
      expect(certificateNamesHost(cert, host), host).toBe(true);
    }
    for (const host of ['nas', 'example.org', 'a.b.example.org', '192.168.1.11', 'fd00::11', 'localhost', '127.0.0.1']) {
      expect(certificateNamesHost(cert, host), host).toBe(false);
    }
  });
});

describe('the generated certificate and the config names', () => {
  it('names every name at first generation, whichever service generates it, and logs where it is', async () => {
    const log = memoryLog();
    const options = { dataDir, mailDomains: ['mail.example.org'], names: ['files.test', '127.0.0.2'], log };
    const material = await loadTlsMaterial(options);
    const names = certificateNames(material.cert);
    expect(names.dns).toEqual(expect.arrayContaining(['localhost', 'mail.example.org', 'files.test']));
    expect(names.ips).toEqual(expect.arrayContaining(['127.0.0.1', '::1', '127.0.0.2']));
    expect(log.lines).toEqual([expect.objectContaining({ level: 'info', fields: expect.objectContaining({ certFile: material.certFile }) })]);
    // Another service with the same settings reads the same pair, and logs nothing.
    const again = await loadTlsMaterial({ ...options, log: memoryLog() });
    expect(again.cert).toBe(material.cert);
  });

  it('replaces a certificate that lacks a name the config asks for, naming everything, with a warning naming the file', async () => {
    const first = await loadTlsMaterial({ dataDir, names: ['nas.local'] });
    const log = memoryLog();
    const second = await loadTlsMaterial({ dataDir, names: ['nas.local', '192.168.1.10'], mailDomains: ['example.org'], log });
    expect(second.cert).not.toBe(first.cert);
    expect(await readFile(generatedTlsPaths(dataDir).certFile, 'utf8')).toBe(second.cert);
    for (const host of ['nas.local', '192.168.1.10', 'example.org', 'localhost']) expect(certificateNamesHost(second.cert, host), host).toBe(true);
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatchObject({ level: 'warn', fields: { certFile: second.certFile, missing: ['example.org', '192.168.1.10'] } });
    expect(log.lines[0]!.message).toContain('devices that trusted the old one must trust the new one');
  });

  it('keeps a certificate when the config asks for fewer names, or only for the host name and localhost it lacks', async () => {
    const first = await loadTlsMaterial({ dataDir, names: ['nas.local', '192.168.1.10'] });
    expect((await loadTlsMaterial({ dataDir })).cert).toBe(first.cert);
    // Made on a machine of another name: the default mail domains (localhost, the host name) ask for nothing.
    const old = await placePair('DNS:oldname,IP:127.0.0.1');
    const log = memoryLog();
    const kept = await loadTlsMaterial({ dataDir, mailDomains: ['localhost', hostname()], log });
    expect(kept.cert).toBe(old);
    expect(log.lines).toEqual([]);
  });

  it('gives services that find the name missing at once one new pair, replaced once', async () => {
    await loadTlsMaterial({ dataDir });
    const logs = [memoryLog(), memoryLog(), memoryLog(), memoryLog()];
    const all = await Promise.all(logs.map((log) => loadTlsMaterial({ dataDir, names: ['files.test'], log })));
    expect(new Set(all.map((m) => m.cert)).size).toBe(1);
    expect(new Set(all.map((m) => m.key)).size).toBe(1);
    expect(certificateNamesHost(all[0]!.cert, 'files.test')).toBe(true);
    expect(logs.flatMap((l) => l.lines).filter((l) => l.level === 'warn')).toHaveLength(1);
    expect(new X509Certificate(all[0]!.cert).checkPrivateKey(createPrivateKey(all[0]!.key))).toBe(true);
  });

  it('takes over a generation lock left by a process that died', async () => {
    const lock = join(dataDir, 'tls', '.generating');
    await mkdir(lock, { recursive: true });
    const old = new Date(Date.now() - 5 * 60_000);
    await utimes(lock, old, old);
    const material = await loadTlsMaterial({ dataDir, names: ['files.test'] });
    expect(certificateNamesHost(material.cert, 'files.test')).toBe(true);
    // Released once done.
    await expect(stat(lock)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('takes over at once a generation lock whose holder no longer runs, and waits for one whose holder runs', async () => {
    const lock = join(dataDir, 'tls', '.generating');
    await mkdir(lock, { recursive: true });
    // A pid no process has: past the largest this kernel hands out.
    const pidMax = Number(await readFile('/proc/sys/kernel/pid_max', 'utf8'));
    await writeFile(join(lock, 'pid'), String(pidMax + 1));
    const material = await loadTlsMaterial({ dataDir, names: ['files.test'] });
    expect(certificateNamesHost(material.cert, 'files.test')).toBe(true);
    await expect(stat(lock)).rejects.toMatchObject({ code: 'ENOENT' });

    // Held by a process that runs (this one): the generation waits until it lets go.
    await mkdir(lock);
    await writeFile(join(lock, 'pid'), String(process.pid));
    let done = false;
    const waiting = loadTlsMaterial({ dataDir, names: ['files.test', 'other.test'] }).then((m) => ((done = true), m));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(done).toBe(false);
    await rm(lock, { recursive: true });
    expect(certificateNamesHost((await waiting).cert, 'other.test')).toBe(true);
  });
});

describe('configured material', () => {
  it('is served as configured, whatever names are asked for', async () => {
    const cert = await placePair('DNS:localhost');
    const { certFile, keyFile } = generatedTlsPaths(dataDir);
    const files = { cert: join(dataDir, 'site.crt'), key: join(dataDir, 'site.key') };
    await writeFile(files.cert, cert);
    await writeFile(files.key, await readFile(keyFile));
    await rm(certFile);
    const material = await loadTlsMaterial({ dataDir, ...files, names: ['files.test'] });
    expect(material).toMatchObject({ source: 'configured', cert });
  });
});
