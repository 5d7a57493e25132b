/**
 * The file service under `hearth up` (the test kit's harness): fixed loopback ports (a restart or a
 * replacing reload keeps the held sockets), user alice/secret in the suite's accounts, share
 * `files`, and an HTTP client that tells apart the one failure HTTP lets a client retry.
 */
import { mkdirSync } from 'node:fs';
import { Agent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { freePorts, makeTempDir } from '@hearth/testkit';
import { startUp, type Up } from '@hearth/testkit/hearth-up';
import { openAccounts } from '@hearth/testkit/suite';

export interface Supervised {
  readonly up: Up;
  readonly port: number;
  readonly httpsPort: number;
  readonly shareDir: string;
  /** The config with `stopTimeout` and extra settings lines (a changed one makes a reload replace the instance). */
  config(stopTimeout: string, extraShares?: string): string;
}

export async function startSupervised(): Promise<Supervised> {
  const dir = await makeTempDir('files-up-');
  const data = join(dir.path, 'data');
  const shareDir = join(dir.path, 'share');
  mkdirSync(shareDir);
  mkdirSync(data);
  const accounts = await openAccounts(data);
  await accounts.add('alice', 'secret');
  await accounts.close();
  const [port, httpsPort] = await freePorts(['tcp', 'tcp']);
  const config = (stopTimeout: string, extraShares = ''): string => `services:
  files:
    service: files
    stopTimeout: ${stopTimeout}
    listen:
      http: { address: 127.0.0.1, port: ${port} }
      https: { address: 127.0.0.1, port: ${httpsPort}, tls: true }
    settings:
      loginFailureDelay: 10
      shares:
        files: { path: ${shareDir}, write: [alice] }
${extraShares}`;
  const up = await startUp(config('10s'), { dir });
  return { up, port, httpsPort, shareDir, config };
}

export const AUTH = `Basic ${Buffer.from('alice:secret').toString('base64')}`;

export interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/**
 * The connection closed before any byte of the answer, on a connection that had already carried
 * a request: the race every HTTP/1.1 client meets when a server closes an idle keep-alive
 * connection as the client sends on it (RFC 9112 9.3.1: the request may be retried; browsers,
 * curl and Go retry it on a new connection).
 */
export class IdleCloseError extends Error {
  override readonly name = 'IdleCloseError';
}

export interface SendOptions {
  /** A keep-alive agent (an `https.Agent` with `secure`), or false for a fresh connection. */
  readonly agent?: Agent | false;
  /** HTTPS (the suite's self-signed certificate is accepted). */
  readonly secure?: boolean;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer | string;
}

/** One request; the answer is read whole. */
export function send(port: number, method: string, path: string, options: SendOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const target = { host: '127.0.0.1', port, method, path, agent: options.agent ?? false, headers: { Authorization: AUTH, ...options.headers } };
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
      res.on('close', () => {
        if (!res.complete) reject(new Error(`${method} ${path}: the answer was cut short`));
      });
    };
    const req = options.secure === true ? httpsRequest({ ...target, rejectUnauthorized: false }, onResponse) : httpRequest(target, onResponse);
    let answered = false;
    req.on('response', () => (answered = true));
    req.on('error', (err) => reject(!answered && req.reusedSocket ? new IdleCloseError(err.message) : err));
    req.end(options.body);
  });
}
