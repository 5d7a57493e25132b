/** Test helpers: the file server in-process on 127.0.0.1:0 (HTTP and HTTPS), and a curl runner. */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, type Agent, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { SaxesParser } from 'saxes';
import type { LoginPolicy } from '@hearth/accounts';
import { createLogger, type Logger } from '@hearth/log';
import { createFilesServer, defaultSettings, MemoryUsers, type FilesServer, type FilesSettings } from '@hearth/files';
import { HandlerTable } from '@hearth/runtime';
import { runProgram } from '@hearth/testkit';
import { inject } from 'vitest';
import type { TestCertificate } from '../../../scripts/test-certificate.js';

export type Cert = TestCertificate;

/** The run's self-signed certificate for localhost and 127.0.0.1 (`scripts/test-certificate.ts`). */
export function testCertificate(): Cert {
  return inject('testCertificate');
}

export interface Harness {
  readonly url: string;
  readonly httpsUrl: string;
  readonly port: number;
  readonly dataDir: string;
  /** The folder of share `files` (readable and writable by alice and bob). */
  readonly shareDir: string;
  readonly files: FilesServer;
  readonly handlers: HandlerTable<unknown>;
  readonly users: MemoryUsers;
  readonly cert: Cert;
  settings: FilesSettings;
  reload(settings: FilesSettings): void;
  close(): Promise<void>;
}

/** A logger at `info` whose lines are parsed into `lines` as they are written (the access log, for assertions). */
export function capturingLogger(lines: Array<Record<string, unknown>>): Logger {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return createLogger({ svc: 'files', level: 'info', pretty: false, destination: sink });
}

export interface HarnessOptions {
  readonly settings?: (dataDir: string, base: FilesSettings) => FilesSettings;
  readonly log?: Logger;
  readonly isLoopback?: (address: string) => boolean;
  /** The login policy the server uses (one in memory, made by the server, when not given). */
  readonly loginPolicy?: LoginPolicy;
  /** Serve this data directory (and its share) instead of a new one: a second engine on the same files. */
  readonly dataDir?: string;
}

/** Users: alice/secret and bob/hunter2 (group staff), carol/pw (no shares). */
export async function startServer(options: HarnessOptions = {}): Promise<Harness> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'files-data-'));
  const shareDir = join(dataDir, 'share');
  mkdirSync(shareDir, { recursive: true });
  const base = defaultSettings();
  const initial: FilesSettings = { ...base, loginFailureDelay: 10, shares: { files: { path: shareDir, read: [], write: ['alice', '@staff'], refuseAppleFiles: false, quota: 0 } } };
  const settings = options.settings ? options.settings(dataDir, initial) : initial;
  const users = new MemoryUsers().add('alice', 'secret').add('bob', 'hunter2', ['staff']).add('carol', 'pw');
  const handlers = new HandlerTable<unknown>();
  const log = options.log ?? createLogger({ svc: 'files-test', level: process.env['FILES_TEST_LOG'] ?? 'silent', pretty: false });
  const files = createFilesServer({
    settings,
    users,
    handlers,
    dataDir,
    log,
    ...(options.isLoopback ? { isLoopback: options.isLoopback } : {}),
    ...(options.loginPolicy ? { loginPolicy: options.loginPolicy } : {}),
  });
  await files.reserved;
  const cert = testCertificate();
  const http = files.httpServer();
  const https = files.httpsServer({ cert: cert.cert, key: cert.key });
  await Promise.all([listen(http), listen(https)]);
  const port = (http.address() as AddressInfo).port;
  const harness: Harness = {
    url: `http://127.0.0.1:${port}`,
    httpsUrl: `https://127.0.0.1:${(https.address() as AddressInfo).port}`,
    port,
    dataDir,
    shareDir,
    files,
    handlers,
    users,
    cert,
    settings,
    reload(next) {
      harness.settings = next;
      files.updateSettings(next);
    },
    async close() {
      await files.stop(Date.now() + 2000);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
}

export interface CurlResult {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Run curl (`input` on its stdin) and parse the last response (status, lower-cased headers, body). */
export async function curl(args: readonly string[], input?: Buffer | string): Promise<CurlResult> {
  const r = await runProgram('curl', ['-sS', '-i', '--max-time', '20', ...args], input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`curl ${args.join(' ')}: exit code ${r.code} ${r.stderr}`);
  return parseResponse(r.stdout);
}

export function parseResponse(text: string): CurlResult {
  let rest = text;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    const head = end >= 0 ? rest.slice(0, end) : rest;
    const body = end >= 0 ? rest.slice(end + 4) : '';
    const lines = head.split('\r\n');
    const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
    if (status === 100 && body.startsWith('HTTP/')) {
      rest = body;
      continue;
    }
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    return { status, headers, body };
  }
}

export interface RawResult {
  readonly status: number;
  readonly headers: import('node:http').IncomingHttpHeaders;
  readonly body: string;
  /** The body's bytes, as received. */
  readonly bytes: Buffer;
}

/** One HTTP request with node:http (the path is sent exactly as given). */
export function request(
  url: string,
  method: string,
  path: string,
  options: { auth?: string | null; headers?: Record<string, string>; body?: string | Buffer; agent?: Agent } = {},
): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const headers: Record<string, string> = { ...options.headers };
    const auth = options.auth === undefined ? 'alice:secret' : options.auth;
    if (auth !== null) headers['Authorization'] = `Basic ${Buffer.from(auth).toString('base64')}`;
    const req = httpRequest({ host: u.hostname, port: u.port, method, path, headers, agent: options.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: bytes.toString('utf8'), bytes });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * One request written to a socket byte for byte as given, with `Connection: close` among its
 * headers: the response as the server sent it, parsed, once the server has closed the connection
 * (a chunked body joined from its chunks).
 */
export function rawRequest(port: number, bytes: Buffer): Promise<CurlResult> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const r = parseResponse(Buffer.concat(chunks).toString('utf8'));
      resolve(r.headers['transfer-encoding'] === 'chunked' ? { ...r, body: joinChunks(r.body) } : r);
    });
    socket.write(bytes);
  });
}

/** The data of a chunked body (its chunks' sizes and data, up to the last chunk), sizes counted in UTF-8 bytes. */
function joinChunks(body: string): string {
  const bytes = Buffer.from(body, 'utf8');
  const data: Buffer[] = [];
  let at = 0;
  for (;;) {
    const line = bytes.indexOf('\r\n', at);
    const size = Number.parseInt(bytes.subarray(at, line).toString('latin1'), 16);
    if (line < 0 || !(size >= 0)) throw new Error(`not a chunked body: ${JSON.stringify(body.slice(0, 80))}`);
    if (size === 0) return Buffer.concat(data).toString('utf8');
    data.push(bytes.subarray(line + 2, line + 2 + size));
    at = line + 2 + size + 2;
  }
}

/** The text of every DAV:href in `xml`, parsed by an XML parser (which throws on XML that is not well formed). */
export function hrefsIn(xml: string): string[] {
  const parser = new SaxesParser({ xmlns: true });
  const hrefs: string[] = [];
  let inHref = false;
  parser.on('opentag', (tag) => {
    inHref = tag.uri === 'DAV:' && tag.local === 'href';
    if (inHref) hrefs.push('');
  });
  parser.on('closetag', () => {
    inHref = false;
  });
  parser.on('text', (text) => {
    if (inHref) hrefs[hrefs.length - 1] += text;
  });
  parser.on('error', (err) => {
    throw err;
  });
  parser.write(xml).close();
  return hrefs;
}
