/**
 * `hearth user del` and the user's files, against `hearth up` running the file service: a home
 * folder that holds files is kept, with the user, unless --purge; with --purge it goes with its
 * dead properties, its locks and its quota count, and a user made again under the name finds an
 * empty /home/ over WebDAV (curl), none of the old user's files, properties or locks.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProgram } from '@hearth/testkit';
import { startUp, stopAll, waitState, type Up } from '@hearth/testkit/hearth-up';
import { userCommand } from '../dist/commands/user.js';
import { capturedOutput } from './captured.js';

let up: Up;
let port: number;

beforeAll(async () => {
  up = await startUp(`services:
  files:
    service: files
    listen: { http: { address: 127.0.0.1, port: 0 } }
    settings: { loginFailureDelay: 10, home: { quota: 1MB } }
`);
  port = (await waitState(up, 'files', 'running')).listeners.find((l) => l.name === 'http')!.port;
});
afterAll(stopAll);

/** Runs `hearth user ARGV --data DATA` in this process, the password (if any) on stdin. */
async function user(argv: string[], password?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdin = Object.assign(new PassThrough(), { isTTY: false });
  stdin.end(password === undefined ? '' : `${password}\n`);
  const { stdout, stderr, out, err } = capturedOutput();
  const code = await userCommand.run([...argv, '--data', up.data], { stdin, stdout, stderr, env: {}, cwd: up.data });
  return { code, stdout: out(), stderr: err() };
}

/** One WebDAV request with curl as `auth`; the status and the body. */
async function dav(auth: string, method: string, path: string, options: { body?: string; headers?: string[] } = {}): Promise<{ status: number; body: string }> {
  const args = ['-sS', '--max-time', '20', '-u', auth, '-X', method, '-w', '\n%{http_code}', ...(options.headers ?? []).flatMap((h) => ['-H', h])];
  if (options.body !== undefined) args.push('--data-binary', '@-');
  const r = await runProgram('curl', [...args, `http://127.0.0.1:${port}${path}`], options.body === undefined ? {} : { input: options.body });
  if (r.code !== 0) throw new Error(`curl ${method} ${path}: exit code ${r.code} ${r.stderr}`);
  const nl = r.stdout.lastIndexOf('\n');
  return { status: Number(r.stdout.slice(nl + 1)), body: r.stdout.slice(0, nl) };
}

const PROPPATCH = `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:T="urn:test"><D:set><D:prop><T:color>blue</T:color></D:prop></D:set></D:propertyupdate>`;
const LOCK = `<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>old tom</D:owner></D:lockinfo>`;
const ASK = `<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:T="urn:test"><D:prop><T:color/><D:lockdiscovery/><D:quota-used-bytes/></D:prop></D:propfind>`;

describe('hearth user del and the home folder', () => {
  it('keeps a user whose home holds files unless --purge; with it, a user made again under the name finds nothing of the old one', async () => {
    expect(await user(['add', 'tom', '--password-stdin'], 'old-password')).toMatchObject({ code: 0, stdout: 'added user tom\n' });
    const oldTom = 'tom:old-password';
    expect((await dav(oldTom, 'PUT', '/home/notes.txt', { body: 'old secrets\n' })).status).toBe(201);
    expect((await dav(oldTom, 'PROPPATCH', '/home/notes.txt', { body: PROPPATCH })).status).toBe(207);
    expect((await dav(oldTom, 'LOCK', '/home/notes.txt', { body: LOCK, headers: ['Timeout: Second-3600'] })).status).toBe(200);
    const before = await dav(oldTom, 'PROPFIND', '/home/notes.txt', { body: ASK, headers: ['Depth: 0'] });
    expect(before.body).toContain('blue');
    expect(before.body).toContain('old tom');

    const home = join(up.data, 'files', 'home', 'tom');
    expect(await user(['del', 'tom'])).toEqual({
      code: 1,
      stdout: '',
      stderr: `hearth user: the home folder of tom (${home}) holds files: use --purge to delete the user with its mail and files\n`,
    });
    // Refused: nothing was deleted, the user still reads its file.
    expect((await user(['list'])).stdout).toMatch(/^tom /m);
    expect(await dav(oldTom, 'GET', '/home/notes.txt')).toEqual({ status: 200, body: 'old secrets\n' });

    expect(await user(['del', 'tom', '--purge'])).toEqual({ code: 0, stdout: 'deleted user tom and its files\n', stderr: '' });
    expect(existsSync(home)).toBe(false);
    expect(await user(['add', 'tom', '--password-stdin'], 'new-password')).toMatchObject({ code: 0, stdout: 'added user tom\n' });
    // The new tom's first request: the old file is not served from the service's cache either.
    const newTom = 'tom:new-password';
    expect((await dav(newTom, 'GET', '/home/notes.txt')).status).toBe(404);
    expect((await dav(oldTom, 'GET', '/home/notes.txt')).status).toBe(401);
    const listing = await dav(newTom, 'PROPFIND', '/home/', { headers: ['Depth: 1'] });
    expect(listing.status).toBe(207);
    expect(listing.body.match(/<D:href>/g)).toHaveLength(1);
    expect(listing.body).not.toContain('notes.txt');
    // The old file's property, lock and quota count are gone with it: a file of the same name is
    // stored without 423, and has no property, no lock, and only its own bytes counted.
    expect((await dav(newTom, 'PUT', '/home/notes.txt', { body: 'new\n' })).status).toBe(201);
    const after = await dav(newTom, 'PROPFIND', '/home/notes.txt', { body: ASK, headers: ['Depth: 0'] });
    expect(after.body).not.toContain('blue');
    expect(after.body).not.toContain('old tom');
    expect(after.body).not.toContain('opaquelocktoken');
    const used = await dav(newTom, 'PROPFIND', '/home/', { body: ASK, headers: ['Depth: 0'] });
    expect(used.body).toContain('<D:quota-used-bytes>4</D:quota-used-bytes>');
  });
});
