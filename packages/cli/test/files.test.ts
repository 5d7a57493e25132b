/** `hearth files`: the connection steps for one user, as a real process prints them. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

function hearth(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

it('prints the URLs and the steps for macOS, Windows, Linux and rclone', async () => {
  const r = await hearth(['files', '--user', 'alice', '--host', 'nas.local', '--port', '8443', '--data', '/srv/hearth']);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('https://nas.local:8443/home/   your private folder');
  expect(r.stdout).toContain('/srv/hearth/tls/self-signed/cert.pem');
  expect(r.stdout).toContain('Finder > Go > Connect to Server (Cmd-K), enter https://nas.local:8443/home/');
  expect(r.stdout).toContain('\\\\nas.local@SSL@8443\\DavWWWRoot\\home');
  expect(r.stdout).toContain('davs://nas.local:8443/home/');
  expect(r.stdout).toContain('rclone config create hearth webdav url=https://nas.local:8443/ vendor=owncloud user=alice');
});

it('takes the user from $HEARTH_USER and refuses a bad port with 64', async () => {
  expect((await hearth(['files'], { HEARTH_USER: 'bob' })).stdout).toMatch(/^Files for bob\n/);
  const bad = await hearth(['files', '--user', 'bob', '--port', '99999']);
  expect(bad.code).toBe(64);
  expect(bad.stderr).toBe('hearth files: --port must be a port number, not "99999"\n');
});
