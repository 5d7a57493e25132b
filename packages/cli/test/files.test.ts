/** `hearth files`: the connection steps for one user, as a real process prints them. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { openSuiteAccounts } from '@hearth/accounts';
import { runProgram } from '@hearth/testkit';
import { hearth, startUp, stopAll, waitState } from '@hearth/testkit/hearth-up';
import { filesCommand } from '../dist/commands/files.js';
import { capturedOutput } from './captured.js';

/**
 * `hearth up` of a files service with one http listener on `address`, port 0, and the account
 * alice; `hearth files --user alice` run against it, and the port the listener got.
 */
async function filesOfAliceUnderUp(address: string): Promise<{ up: Awaited<ReturnType<typeof startUp>>; port: number; r: { code: number | null; stdout: string; stderr: string } }> {
  const up = await startUp(`services:\n  files:\n    service: files\n    listen: { http: { address: ${address}, port: 0 } }\n`);
  const accounts = await openSuiteAccounts(up.data, { passwordParams: { ln: 10, r: 8, p: 1 } });
  await accounts.add('alice', 'alice-password-1');
  await accounts.close();
  const port = (await waitState(up, 'files', 'running')).listeners.find((l) => l.name === 'http')!.port;
  const r = await up.cli('files', '--user', 'alice', '--config', up.configFile);
  return { up, port, r };
}

let dir: string;
let data: string;
/** The files service on 0.0.0.0:41443 (HTTPS) and 127.0.0.1:41080 (HTTP); the certificate names nas.local and 2001:db8::1. */
let config: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-cli-files-'));
  data = join(dir, 'data');
  config = join(dir, 'hearth.yaml');
  writeFileSync(
    config,
    `tls: { names: [nas.local, "2001:db8::1"] }
services:
  files:
    service: files
    listen:
      web: { address: 127.0.0.1, port: 41080 }
      secure: { address: 0.0.0.0, port: 41443, tls: true }
`,
  );
  const accounts = await openSuiteAccounts(data, { passwordParams: { ln: 10, r: 8, p: 1 } });
  await accounts.add('alice', 'alice-password-1');
  await accounts.add('bob', 'bob-password-1');
  await accounts.close();
});
afterAll(async () => {
  await stopAll();
  await rm(dir, { recursive: true, force: true });
});

it("prints the config's files listeners in every step, reached by --host", async () => {
  const r = await hearth(['files', '--user', 'alice', '--host', 'nas.local', '--config', config, '--data', data]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const lines = r.stdout.split('\n');
  expect(lines.slice(0, 4)).toEqual([
    'Files for alice',
    '  https://nas.local:41443/home/   your private folder',
    '  https://nas.local:41443/        lists the shares you may use (each at https://nas.local:41443/<share>/)',
    '  http://127.0.0.1:41080/ plain HTTP, for programs on this machine only',
  ]);
  expect(r.stdout).toContain(`  ${join(data, 'tls', 'self-signed', 'cert.pem')}\n`);
  expect(r.stdout).toContain('Finder > Go > Connect to Server (Cmd-K), enter https://nas.local:41443/home/ and click Connect.');
  expect(r.stdout).toContain('Folder: \\\\nas.local@SSL@41443\\DavWWWRoot\\home\n     (or https://nas.local:41443/home/)');
  expect(r.stdout).toContain('Other Locations > Connect to Server: davs://nas.local:41443/home/');
  expect(r.stdout).toContain('sudo mount -t davfs https://nas.local:41443/home/ /mnt/hearth');
  expect(r.stdout).toContain('rclone config create hearth webdav url=https://nas.local:41443/ vendor=owncloud user=alice');
  expect(r.stdout).not.toMatch(/2443|2080/);
  // The suite's self-signed certificate: trusted on each device, and given to rclone.
  const selfSigned = join(data, 'tls', 'self-signed', 'cert.pem');
  expect(r.stdout).toContain(`rclone --ca-cert ${selfSigned} lsd hearth:`);
});

it('names a configured certificate as trusted already when a public CA issued it, and gives rclone no CA of its own', async () => {
  const withCert = join(dir, 'with-cert.yaml');
  writeFileSync(withCert, `tls:\n  cert: /etc/letsencrypt/live/nas/fullchain.pem\n  key: /etc/letsencrypt/live/nas/privkey.pem\nservices:\n  files:\n    service: files\n`);
  const r = await hearth(['files', '--user', 'alice', '--config', withCert, '--data', data]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('The server presents the configured certificate:\n  /etc/letsencrypt/live/nas/fullchain.pem\n');
  expect(r.stdout).not.toContain('self-signed');
  expect(r.stdout).toContain('  2. rclone lsd hearth:\n');
});

it('without --config and no supervisor running, prints the embedded default listeners, on localhost, and says so', async () => {
  const r = await hearth(['files', '--data', data], { env: { HEARTH_USER: 'bob' } });
  expect(r.code).toBe(0);
  expect(r.stdout.split('\n').slice(0, 4)).toEqual([
    'Files for bob',
    '  https://localhost:2443/home/   your private folder',
    '  https://localhost:2443/        lists the shares you may use (each at https://localhost:2443/<share>/)',
    '  http://127.0.0.1:2080/ plain HTTP, for programs on this machine only',
  ]);
  // The embedded default's listeners are on loopback: said below the URLs, with the config file it takes.
  expect(r.stdout.split('\n').slice(4, 13)).toEqual([
    '',
    'Its HTTPS listener is on 127.0.0.1 only: programs on this machine reach it, other',
    'devices cannot. To let them, run the suite on a config file that gives it an address',
    'they reach (docker/hearth.yaml lists every service of the default), for service',
    'files, listener https:',
    "  address: 0.0.0.0   (or this machine's own address)",
    'then run hearth down and hearth up --config FILE as you ran hearth up.',
    '',
    "Log in as bob with your Hearth password. The server's certificate is self-signed:",
  ]);
  expect(r.stderr).toBe(`hearth files: the steps describe the embedded default config: no suite is running on ${data} (--data DIR names another data dir, --config FILE another config)\n`);
});

it('warns when --host names a listener that is on loopback only', async () => {
  const r = await hearth(['files', '--user', 'bob', '--host', 'nas.local', '--data', data]);
  expect(r.code).toBe(0);
  expect(r.stderr).toBe(
    'hearth files: warning: listener files.https is on 127.0.0.1 only: other machines cannot reach it as nas.local\n' +
      `hearth files: the steps describe the embedded default config: no suite is running on ${data} (--data DIR names another data dir, --config FILE another config)\n`,
  );
});

it('refuses a user that has no account', async () => {
  const r = await hearth(['files', '--user', 'carol', '--config', config, '--data', data]);
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toBe(`hearth files: no such user: carol (not in the accounts at ${join(data, 'accounts')})\n`);
});

it('takes alice@ one of the mail domains, as the file service takes a login, and names the local user in the steps', async () => {
  const withDomains = join(dir, 'with-domains.yaml');
  writeFileSync(withDomains, 'mail:\n  domains: [example.org, Home.Example]\nservices:\n  files:\n    service: files\n    listen:\n      https: { address: 0.0.0.0, port: 41443, tls: true }\n');
  const r = await hearth(['files', '--user', 'Alice@EXAMPLE.org', '--config', withDomains, '--data', data]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^Files for alice\n/);
  expect(r.stdout).toContain('Log in as alice with your Hearth password.');
  expect(r.stdout).toContain(' vendor=owncloud user=alice pass=');
  // From the environment too, in the second domain.
  const fromEnv = await hearth(['files', '--config', withDomains, '--data', data], { env: { HEARTH_USER: 'bob@home.example' } });
  expect(fromEnv.code).toBe(0);
  expect(fromEnv.stdout).toMatch(/^Files for bob\n/);
  // An address in another domain is no user of the suite; one in a mail domain is looked up as its local part.
  const elsewhere = await hearth(['files', '--user', 'alice@elsewhere.example', '--config', withDomains, '--data', data]);
  expect(elsewhere.code).toBe(1);
  expect(elsewhere.stdout).toBe('');
  expect(elsewhere.stderr).toBe("hearth files: no such user: alice@elsewhere.example (elsewhere.example is not one of the suite's mail domains: example.org, Home.Example)\n");
  // An @ with no domain after it is no address: an invalid name, not a domain named "".
  const noDomain = await hearth(['files', '--user', 'alice@', '--config', withDomains, '--data', data]);
  expect(noDomain.code).toBe(1);
  expect(noDomain.stderr).toMatch(/^hearth files: invalid user name "alice@": /);
  const unknown = await hearth(['files', '--user', 'carol@example.org', '--config', withDomains, '--data', data]);
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toBe(`hearth files: no such user: carol (not in the accounts at ${join(data, 'accounts')})\n`);
});

it('prints the steps with a warning when the accounts cannot be opened', async () => {
  const empty = join(dir, 'no-accounts');
  const r = await hearth(['files', '--user', 'carol', '--config', config, '--data', empty]);
  expect(r.code).toBe(0);
  expect(r.stderr).toMatch(/^hearth files: warning: cannot tell whether user carol exists: no accounts at .*\n$/);
  expect(r.stdout).toMatch(/^Files for carol\n {2}https:\/\/localhost:41443\/home\//);
});

it('reads a config with user: entries as hearth up does, also in a process that is not root', async () => {
  const withUser = join(dir, 'with-user.yaml');
  writeFileSync(withUser, 'services:\n  files:\n    service: files\n    user: nobody\n    listen:\n      https: { address: 0.0.0.0, port: 42443, tls: true }\n');
  const output = capturedOutput();
  // The verb in this process, which takes itself for another user than root (the tests run as root).
  const getuid = vi.spyOn(process, 'getuid').mockReturnValue(65534);
  try {
    const code = await filesCommand.run(['--user', 'alice', '--config', withUser, '--data', data], { stdin: new PassThrough(), stdout: output.stdout, stderr: output.stderr, env: {}, cwd: dir });
    expect(output.err()).toBe('');
    expect(code).toBe(0);
    expect(output.out()).toContain('  https://localhost:42443/home/   your private folder\n');
  } finally {
    getuid.mockRestore();
  }
});

it('says so when the config has no files service, or several', async () => {
  const none = join(dir, 'none.yaml');
  writeFileSync(none, 'services:\n  biff:\n    service: biff\n');
  const r1 = await hearth(['files', '--user', 'alice', '--config', none, '--data', data]);
  expect(r1.code).toBe(1);
  expect(r1.stderr).toBe(`hearth files: ${none} has no files service (a service with "service: files")\n`);
  const two = join(dir, 'two.yaml');
  writeFileSync(two, 'services:\n  photos:\n    service: files\n  music:\n    service: files\n    listen: { https: { port: 3443, tls: true } }\n');
  const r2 = await hearth(['files', '--user', 'alice', '--config', two, '--data', data]);
  expect(r2.code).toBe(1);
  expect(r2.stderr).toBe(`hearth files: ${two} has 2 files services (photos, music): hearth files describes only one\n`);
});

it('refuses a listener on port 0 when no supervisor runs to tell its port', async () => {
  const zero = join(dir, 'zero.yaml');
  writeFileSync(zero, 'services:\n  files:\n    service: files\n    listen: { https: { port: 0, tls: true } }\n');
  const r = await hearth(['files', '--user', 'alice', '--config', zero, '--data', data]);
  expect(r.code).toBe(1);
  expect(r.stderr).toBe(
    `hearth files: listener files.https has port 0 in ${zero} (a free port chosen when hearth up starts), and no supervisor is running on ${data} to tell which\n`,
  );
});

it('takes no --port: the ports are the config\'s', async () => {
  const r = await hearth(['files', '--user', 'alice', '--port', '8443', '--data', data]);
  expect(r.code).toBe(64);
  expect(r.stderr).toMatch(/^hearth files: unknown option --port\n$/);
});

it('prints the plain HTTP URLs and steps for a files service with http listeners only, and that it refuses passwords from other machines', async () => {
  const plain = join(dir, 'plain.yaml');
  writeFileSync(plain, 'services:\n  nas:\n    service: files\n    listen:\n      web: { address: 0.0.0.0, port: 41080 }\n');
  const r = await hearth(['files', '--user', 'alice', '--config', plain, '--data', data]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout.split('\n').slice(0, 14)).toEqual([
    'Files for alice',
    '  http://127.0.0.1:41080/home/   your private folder',
    '  http://127.0.0.1:41080/        lists the shares you may use (each at http://127.0.0.1:41080/<share>/)',
    '',
    'Log in as alice with your Hearth password.',
    '',
    'The file service has no HTTPS listener: these are its plain HTTP URLs.',
    'Over plain HTTP the service refuses a password sent from another machine (403 "Basic',
    'authentication over plain HTTP is refused: use HTTPS"): the steps below work on this machine',
    'only until the config sets, for service nas,',
    '  settings: { allowPlaintextAuth: true }',
    'which lets passwords cross the network readable by anyone on the way; an HTTPS listener',
    '(tls: true) is the safer change.',
    '',
  ]);
  expect(r.stdout).toContain('Finder > Go > Connect to Server (Cmd-K), enter http://127.0.0.1:41080/home/ and click Connect.');
  // Windows' WebClient sends Basic over plain HTTP only with BasicAuthLevel 2 (Microsoft KB 841215);
  // its file size and listing size limits are raised in the same step (connect-help.test.ts).
  expect(r.stdout).toContain(
    '       reg add HKLM\\SYSTEM\\CurrentControlSet\\Services\\WebClient\\Parameters /v BasicAuthLevel /t REG_DWORD /d 2 /f\n       reg add HKLM\\SYSTEM\\CurrentControlSet\\Services\\WebClient\\Parameters /v FileSizeLimitInBytes ',
  );
  expect(r.stdout).toContain('/v FileAttributesLimitInBytes /t REG_DWORD /d 100000000 /f\n       net stop webclient && net start webclient\n');
  expect(r.stdout).toContain('Folder: \\\\127.0.0.1@41080\\DavWWWRoot\\home\n     (or http://127.0.0.1:41080/home/)');
  expect(r.stdout).toContain('Other Locations > Connect to Server: dav://127.0.0.1:41080/home/');
  expect(r.stdout).toContain('sudo mount -t davfs http://127.0.0.1:41080/home/ /mnt/hearth');
  expect(r.stdout).toContain('rclone config create hearth webdav url=http://127.0.0.1:41080/ vendor=owncloud user=alice');
  expect(r.stdout).toContain('  2. rclone lsd hearth:\n');
  // No certificate to trust: nothing of https, davs or a CA.
  expect(r.stdout).not.toMatch(/https:|davs:|@SSL@|certificate|--ca-cert/);

  // allowPlaintextAuth set: other machines may log in, reaching it as --host.
  const allowed = join(dir, 'plain-allowed.yaml');
  writeFileSync(allowed, 'services:\n  nas:\n    service: files\n    settings: { allowPlaintextAuth: true }\n    listen:\n      web: { address: 0.0.0.0, port: 41080 }\n');
  const a = await hearth(['files', '--user', 'alice', '--host', 'nas.local', '--config', allowed, '--data', data]);
  expect(a.stderr).toBe('');
  expect(a.code).toBe(0);
  expect(a.stdout.split('\n').slice(1, 3)).toEqual(['  http://nas.local:41080/home/   your private folder', '  http://nas.local:41080/        lists the shares you may use (each at http://nas.local:41080/<share>/)']);
  expect(a.stdout).toContain(
    'The file service has no HTTPS listener: these are its plain HTTP URLs.\nIts allowPlaintextAuth setting takes passwords from other machines over plain HTTP: yours\ncrosses the network readable by anyone on the way.\n',
  );
  expect(a.stdout).toContain('Folder: \\\\nas.local@41080\\DavWWWRoot\\home\n');

  // On loopback only: said so, and --host warned of as for an HTTPS listener.
  const loopback = join(dir, 'plain-loopback.yaml');
  writeFileSync(loopback, 'services:\n  files:\n    service: files\n    listen:\n      http: { address: 127.0.0.1, port: 41080 }\n');
  const l = await hearth(['files', '--user', 'alice', '--host', 'nas.local', '--config', loopback, '--data', data]);
  expect(l.code).toBe(0);
  expect(l.stderr).toBe('hearth files: warning: listener files.http is on 127.0.0.1 only: other machines cannot reach it as nas.local\n');
  expect(l.stdout).toContain(
    'Its plain HTTP listener is on 127.0.0.1 only: programs on this machine reach it, other\n' +
      'devices cannot. To let them, give it an address they reach in the suite config, for\n' +
      'service files, listener http:\n' +
      "  address: 0.0.0.0   (or this machine's own address)\n" +
      'and run hearth reload.\n',
  );
});

it('prints plain HTTP steps that work: the running service on port 0 answers the printed URL, and rclone set up as printed lists the home folder', async () => {
  const { up, port, r } = await filesOfAliceUnderUp('127.0.0.1');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const home = /^ {2}(http:\/\/\S+\/home\/) {3}your private folder$/m.exec(r.stdout)?.[1];
  expect(home).toBe(`http://127.0.0.1:${port}/home/`);
  const propfind = await runProgram('curl', ['-sS', '--max-time', '20', '-u', 'alice:alice-password-1', '-X', 'PROPFIND', '-H', 'Depth: 0', '-o', '/dev/null', '-w', '%{http_code}', home!]);
  expect(propfind.stdout).toBe('207');
  // The printed rclone steps, in a config file of the test's own.
  const create = /rclone config create (.*) pass=\$\(rclone obscure 'YOUR PASSWORD'\)$/m.exec(r.stdout)?.[1];
  expect(create).toBe(`hearth webdav url=http://127.0.0.1:${port}/ vendor=owncloud user=alice`);
  const rcloneConfig = ['--config', join(up.dir.path, 'rclone.conf')];
  const obscured = await runProgram('rclone', ['obscure', 'alice-password-1']);
  const created = await runProgram('rclone', [...rcloneConfig, 'config', 'create', ...create!.split(' '), `pass=${obscured.stdout.trim()}`]);
  expect(created.code).toBe(0);
  const listed = await runProgram('rclone', [...rcloneConfig, 'lsd', 'hearth:']);
  expect(listed.stderr).toBe('');
  expect(listed.stdout).toMatch(/ home\n$/);
});

it('says above the steps that the account is disabled, with its reason (on one line, in order), and that the steps wait for hearth user enable', async () => {
  const accounts = await openSuiteAccounts(data, { passwordParams: { ln: 10, r: 8, p: 1 } });
  await accounts.add('dora', 'dora-password-1');
  accounts.disable('dora', 'lost phone');
  await accounts.add('erin', 'erin-password-1');
  accounts.disable('erin');
  await accounts.close();
  const r = await hearth(['files', '--user', 'dora', '--config', config, '--data', data]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout.split('\n').slice(0, 5)).toEqual([
    'Account dora is disabled (reason: lost phone): every service refuses its logins, so the steps below',
    'will not work until hearth user enable dora.',
    '',
    'Files for dora',
    '  https://localhost:41443/home/   your private folder',
  ]);
  // No reason stored: none said. Over plain HTTP as over HTTPS.
  const plain = join(dir, 'plain-disabled.yaml');
  writeFileSync(plain, 'services:\n  files:\n    service: files\n    listen:\n      http: { address: 127.0.0.1, port: 41080 }\n');
  const e = await hearth(['files', '--user', 'erin', '--config', plain, '--data', data]);
  expect(e.code).toBe(0);
  expect(e.stdout.split('\n').slice(0, 4)).toEqual([
    'Account erin is disabled: every service refuses its logins, so the steps below',
    'will not work until hearth user enable erin.',
    '',
    'Files for erin',
  ]);
  // A reason stored by another program (or before they were refused) with a line break and a right-to-left override: one line, in order.
  const edited = await runProgram('python3', ['-c', `import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE accounts SET disabled_reason = ? WHERE name = 'dora'", ("lost\\nphone \\u202eyaM 1",))
db.commit()`, join(data, 'accounts', 'accounts.sqlite')]);
  expect(edited).toMatchObject({ code: 0, stderr: '' });
  const stored = await hearth(['files', '--user', 'dora', '--config', config, '--data', data]);
  expect(stored.code).toBe(0);
  expect(stored.stdout.split('\n')[0]).toBe('Account dora is disabled (reason: lost?phone ?yaM 1): every service refuses its logins, so the steps below');
  // An account enabled again gets the steps alone.
  const again = await openSuiteAccounts(data);
  again.enable('dora');
  await again.close();
  const enabled = await hearth(['files', '--user', 'dora', '--config', config, '--data', data]);
  expect(enabled.code).toBe(0);
  expect(enabled.stdout).toMatch(/^Files for dora\n/);
});

it('writes an IPv6 address in the Windows folder in its ipv6-literal.net form, and in brackets in the URLs: a listener on ::1, whose printed URL answers', async () => {
  const { up, port, r } = await filesOfAliceUnderUp('"::1"');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout.split('\n').slice(1, 3)).toEqual([
    `  http://[::1]:${port}/home/   your private folder`,
    `  http://[::1]:${port}/        lists the shares you may use (each at http://[::1]:${port}/<share>/)`,
  ]);
  // Windows takes no colon in a UNC path: the address as --1.ipv6-literal.net, which it resolves itself.
  expect(r.stdout).toContain(`Folder: \\\\--1.ipv6-literal.net@${port}\\DavWWWRoot\\home\n     (or http://[::1]:${port}/home/)`);
  expect(r.stdout).toContain(`Other Locations > Connect to Server: dav://[::1]:${port}/home/`);
  const propfind = await runProgram('curl', ['-sS', '--max-time', '20', '-u', 'alice:alice-password-1', '-X', 'PROPFIND', '-H', 'Depth: 0', '-o', '/dev/null', '-w', '%{http_code}', `http://[::1]:${port}/home/`]);
  expect(propfind.stdout).toBe('207');
  // --host ::1 names the same loopback address: no warning that other machines cannot reach it.
  const named = await up.cli('files', '--user', 'alice', '--host', '::1', '--config', up.configFile);
  expect(named.stderr).toBe('');
  expect(named.stdout).toBe(r.stdout);
});

it('takes --host as an IPv6 address, with or without brackets, and writes the HTTPS steps for it', async () => {
  for (const host of ['2001:db8::1', '[2001:db8::1]']) {
    const r = await hearth(['files', '--user', 'alice', '--host', host, '--config', config, '--data', data]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[1]).toBe('  https://[2001:db8::1]:41443/home/   your private folder');
    expect(r.stdout).toContain('Folder: \\\\2001-db8--1.ipv6-literal.net@SSL@41443\\DavWWWRoot\\home\n     (or https://[2001:db8::1]:41443/home/)');
    expect(r.stdout).toContain('rclone config create hearth webdav url=https://[2001:db8::1]:41443/ vendor=owncloud user=alice');
  }
  // A zone index: after %25 in a URL, after an s in the UNC path; given in brackets, as in a URL, or not.
  for (const zone of ['fe80::1%eth0', '[fe80::1%eth0]', '[fe80::1%25eth0]']) {
    const zoned = await hearth(['files', '--user', 'alice', '--host', zone, '--config', config, '--data', data]);
    expect(zoned.code).toBe(0);
    expect(zoned.stdout).toContain('Folder: \\\\fe80--1seth0.ipv6-literal.net@SSL@41443\\DavWWWRoot\\home\n     (or https://[fe80::1%25eth0]:41443/home/)');
  }
  // Nothing else with a colon or brackets: still refused.
  for (const bad of ['nas.local:41443', '[nas.local]', '2001:db8::1]', 'fe80::1%$(id)']) {
    const r = await hearth(['files', '--user', 'alice', '--host', bad, '--config', config, '--data', data]);
    expect(r.code).toBe(64);
    expect(r.stderr).toBe(`hearth files: --host must be a host name or an IP address, not "${bad}"\n`);
  }
});

it('warns above the steps when the certificate the running service presents does not name --host, and not when it does', async () => {
  const up = await startUp(`tls: { names: [files.test] }\nservices:\n  files:\n    service: files\n    listen: { https: { address: 127.0.0.1, port: 0, tls: true } }\n`);
  const accounts = await openSuiteAccounts(up.data, { passwordParams: { ln: 10, r: 8, p: 1 } });
  await accounts.add('alice', 'alice-password-1');
  await accounts.close();
  const port = (await waitState(up, 'files', 'running')).listeners.find((l) => l.name === 'https')!.port;
  // What the service presents counts, not the file: one naming nothing of ours now lies in its place.
  const certFile = join(up.data, 'tls', 'self-signed', 'cert.pem');
  const other = await runProgram('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(up.dir.path, 'other-key.pem'), '-out', certFile, '-days', '1', '-subj', '/CN=other.test', '-addext', 'subjectAltName=DNS:other.test']);
  expect(other.code).toBe(0);

  const named = await up.cli('files', '--user', 'alice', '--host', 'files.test', '--config', up.configFile);
  expect(named.code).toBe(0);
  expect(named.stdout).toMatch(new RegExp(`^Files for alice\\n  https://files\\.test:${port}/home/`));
  expect(named.stdout).not.toContain('Warning');

  for (const host of ['other.test', '127.0.0.3']) {
    const unnamed = await up.cli('files', '--user', 'alice', '--host', host, '--config', up.configFile);
    expect(unnamed.code).toBe(0);
    const lines = unnamed.stdout.split('\n');
    expect(lines[0]).toBe(`Warning: the certificate does not name ${host}, so clients will refuse to connect`);
    expect(lines[1]).toBe(`to it, even once they trust the certificate. To fix it, either add ${host} to tls.names`);
    expect(lines[4]).toMatch(/^ {2}localhost, .*files\.test, 127\.0\.0\.1, ::1$/);
    expect(lines.slice(6, 8)).toEqual(['Files for alice', `  https://${host}:${port}/home/   your private folder`]);
  }
  // No --host: the listener on loopback is told as localhost, which it names.
  const plain = await up.cli('files', '--user', 'alice', '--config', up.configFile);
  expect(plain.stdout).toMatch(/^Files for alice\n/);
}, 60_000);

it('on the embedded default config, the warning says how to write a file for tls.names, and that file makes the host named', async () => {
  const unnamed = await hearth(['files', '--user', 'alice', '--host', '192.168.1.77', '--data', data]);
  expect(unnamed.code).toBe(0);
  const lines = unnamed.stdout.split('\n');
  expect(lines.slice(0, 10)).toEqual([
    'Warning: the certificate does not name 192.168.1.77, so clients will refuse to connect',
    'to it, even once they trust the certificate. To fix it, either add 192.168.1.77 to tls.names',
    'in a config file (the suite runs on its embedded default config, which has none): write',
    'hearth.yaml holding only',
    '  tls:',
    '    names: ["192.168.1.77"]',
    '(a config without services: runs the default services), then run hearth down and',
    'hearth up --config hearth.yaml as you ran hearth up (same directory and --data); the',
    'suite then makes a new certificate, which devices must trust. Or use a name the',
    'certificate has:',
  ]);
  // The file it says to write: the embedded default's services, and a certificate naming the host.
  const file = join(dir, 'embedded-names', 'hearth.yaml');
  mkdirSync(dirname(file));
  writeFileSync(file, `${lines.slice(4, 6).map((l) => l.slice(2)).join('\n')}\n`);
  const checked = await hearth(['check', '--config', file, '--data', data]);
  const embedded = await hearth(['check', '--data', data]);
  expect(checked.code).toBe(0);
  expect(checked.stdout.split('\n').slice(1)).toEqual(embedded.stdout.split('\n').slice(1));
  const named = await hearth(['files', '--user', 'alice', '--host', '192.168.1.77', '--config', file, '--data', data]);
  expect(named.stdout).toMatch(/^Files for alice\n  https:\/\/192\.168\.1\.77:2443\/home\//);
});

it('before the suite made its certificate, checks --host against the names it will be made with (tls.names among them)', async () => {
  const absent = await hearth(['files', '--user', 'alice', '--host', '192.168.1.10', '--config', config, '--data', data]);
  expect(absent.code).toBe(0);
  expect(absent.stdout.split('\n')[0]).toBe('Warning: the certificate does not name 192.168.1.10, so clients will refuse to connect');
  expect(absent.stdout.split('\n')[4]).toMatch(/^ {2}localhost, .*nas\.local, 127\.0\.0\.1, ::1, 2001:db8::1$/);
  for (const host of ['nas.local', '[2001:db8:0::1]', 'localhost']) {
    const present = await hearth(['files', '--user', 'alice', '--host', host, '--config', config, '--data', data]);
    expect(present.stdout, host).toMatch(/^Files for alice\n/);
  }
});
