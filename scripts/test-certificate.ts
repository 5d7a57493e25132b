/**
 * Vitest global setup: one self-signed certificate for `localhost` and 127.0.0.1 (openssl CLI) for
 * the whole run, given to the tests as `inject('testCertificate')`, its folder removed when the run
 * ends. Tests that need a certificate of their own (a renewal, another name) still make one in
 * their own temporary folder.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

export interface TestCertificate {
  readonly cert: string;
  readonly key: string;
  /** The certificate as a file, for clients that want a CA file (`curl --cacert`). */
  readonly certFile: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    testCertificate: TestCertificate;
  }
}

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-test-cert-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ], { stdio: 'ignore' });
  const certFile = join(dir, 'cert.pem');
  project.provide('testCertificate', { cert: readFileSync(certFile, 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8'), certFile });
  return () => rmSync(dir, { recursive: true, force: true });
}
