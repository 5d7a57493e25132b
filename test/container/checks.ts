/**
 * What the container test does through each service's published listeners: one entry per service
 * of docker/hearth.yaml (a service there without an entry here fails the test). `use` runs once a
 * user exists; `kept` runs after `docker compose stop` and `up` again, and checks that what `use`
 * left (mail, files) is still there. Every listener is also checked to be bound, by the test.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { runProgramOk } from '@hearth/testkit';

export interface CheckContext {
  /** The host port of a listener (host networking: the container binds it on 127.0.0.1). */
  port(service: string, listener: string): number;
  readonly user: string;
  readonly password: string;
  /** A scratch folder on the host. */
  readonly work: string;
  /** Subjects of the messages delivered so far (each unique to this run). */
  readonly delivered: string[];
  /** Run a command in the container (`compose exec -T hearth ...`); its stdout. */
  exec(argv: readonly string[]): Promise<string>;
  /** The services of docker/hearth.yaml. */
  readonly services: readonly string[];
}

export interface ServiceCheck {
  readonly use: (ctx: CheckContext) => Promise<void>;
  readonly kept: (ctx: CheckContext) => Promise<void>;
}

const curl = (args: readonly string[]) => runProgramOk('curl', ['-sS', '--max-time', '20', ...args]);

async function deliver(ctx: CheckContext, url: string, auth: readonly string[], via: string): Promise<void> {
  const subject = `container test ${via} ${process.pid}-${Date.now()}`;
  const file = join(ctx.work, `${via}.eml`);
  const rcpt = `${ctx.user}@localhost`;
  await writeFile(file, `From: ${rcpt}\r\nTo: ${rcpt}\r\nSubject: ${subject}\r\n\r\nSent over ${via}.\r\n`);
  await curl([url, ...auth, '--mail-from', rcpt, '--mail-rcpt', rcpt, '-T', file]);
  ctx.delivered.push(subject);
}

/** Every message delivered so far, read back over POP3 (RETR) and listed over POP3S. */
async function readAll(ctx: CheckContext): Promise<void> {
  const pop3 = `pop3://127.0.0.1:${ctx.port('pop3', 'pop3')}`;
  const list = await curl(['-k', `pop3s://127.0.0.1:${ctx.port('pop3', 'pop3s')}/`, '-u', `${ctx.user}:${ctx.password}`]);
  expect(list.split(/\r?\n/).filter(Boolean)).toHaveLength(ctx.delivered.length);
  const subjects: string[] = [];
  for (let n = 1; n <= ctx.delivered.length; n += 1) {
    const message = await curl([`${pop3}/${n}`, '-u', `${ctx.user}:${ctx.password}`]);
    subjects.push(/^Subject: (.*?)\r?$/m.exec(message)?.[1] ?? `(message ${n} has no Subject)`);
  }
  expect(subjects.sort()).toEqual([...ctx.delivered].sort());
}

/** hearthServiceTable's entry (services/snmp/mib/HEARTH-MIB.txt): column 2 names, 4 states. */
const SERVICE_ENTRY = '1.3.6.1.4.1.32473.1.1.1';

/** snmpwalk of the service table with the generated community: every service, each running (2). */
async function walkServices(ctx: CheckContext): Promise<void> {
  const community = (await ctx.exec(['hearth', 'snmp', 'credentials'])).trim();
  const walk = async (column: number) =>
    (await runProgramOk('snmpwalk', ['-v2c', '-c', community, '-On', '-Oqv', '-t', '5', `127.0.0.1:${ctx.port('snmp', 'snmp')}`, `${SERVICE_ENTRY}.${column}`]))
      .split('\n')
      .filter(Boolean)
      .map((v) => v.replace(/^"|"$/g, ''));
  const names = await walk(2);
  expect([...names].sort()).toEqual([...ctx.services].sort());
  expect(await walk(4)).toEqual(names.map(() => '2'));
}

/** The file PUT over WebDAV by `files.use`, in the user's private folder. */
const FILE_PATH = '/home/container-test.txt';
const fileBody = (ctx: CheckContext) => `Hearth container test for ${ctx.user}.\n`;

/**
 * PUT over HTTPS, then GET over HTTP (Basic over plain HTTP is allowed from loopback) and HTTPS,
 * the folder listed by a PROPFIND without a body and an empty file put by a PUT without one;
 * `hearth files` for the user gives the HTTPS listener's URLs.
 */
async function putAndGet(ctx: CheckContext): Promise<void> {
  const auth = ['-u', `${ctx.user}:${ctx.password}`];
  const https = `https://127.0.0.1:${ctx.port('files', 'https')}${FILE_PATH}`;
  const file = join(ctx.work, 'put.txt');
  await writeFile(file, fileBody(ctx));
  const status = await curl(['-k', ...auth, '-o', '/dev/null', '-w', '%{http_code}', '-T', file, https]);
  expect(['201', '204']).toContain(status.trim());
  await readBack(ctx);
  // A PROPFIND without a body (curl sends no body header): the image's Node hands the service such
  // a request already ended (`optimizeEmptyRequests`), and it is answered as an allprop.
  const listing = await curl(['-k', '--fail', ...auth, '-X', 'PROPFIND', '-H', 'Depth: 1', `https://127.0.0.1:${ctx.port('files', 'https')}/home/`]);
  expect(listing).toContain(`<D:href>${FILE_PATH}</D:href>`);
  // A PUT without a body, the same way: an empty file.
  const empty = await curl(['-k', ...auth, '-o', '/dev/null', '-w', '%{http_code}', '-X', 'PUT', `https://127.0.0.1:${ctx.port('files', 'https')}/home/container-empty.txt`]);
  expect(empty.trim()).toBe('201');
  expect(await curl(['-k', '--fail', ...auth, '-w', '%{size_download}', `https://127.0.0.1:${ctx.port('files', 'https')}/home/container-empty.txt`])).toBe('0');
  // `hearth files` in the container reads the container's config: its URLs name this listener.
  expect(await ctx.exec(['hearth', 'files', '--user', ctx.user])).toContain(`https://localhost:${ctx.port('files', 'https')}/home/`);
}

async function readBack(ctx: CheckContext): Promise<void> {
  const auth = ['-u', `${ctx.user}:${ctx.password}`];
  expect(await curl(['--fail', ...auth, `http://127.0.0.1:${ctx.port('files', 'http')}${FILE_PATH}`])).toBe(fileBody(ctx));
  expect(await curl(['--fail', '-k', ...auth, `https://127.0.0.1:${ctx.port('files', 'https')}${FILE_PATH}`])).toBe(fileBody(ctx));
}

/**
 * The admin page: the test's user made an administrator (`hearth user admin`) signs in through
 * the form (CSRF token and session cookie, as a browser), and the dashboard lists every service.
 */
async function signInToAdmin(ctx: CheckContext): Promise<void> {
  await ctx.exec(['hearth', 'user', 'admin', ctx.user]);
  const base = `https://127.0.0.1:${ctx.port('admin', 'https')}`;
  const jar = join(ctx.work, 'admin-cookies.txt');
  const form = await curl(['-k', '--fail', '-c', jar, `${base}/sign-in`]);
  const csrf = /name="csrf" value="([^"]+)"/.exec(form)?.[1];
  expect(csrf, 'the sign-in form carries a CSRF token').toBeDefined();
  const fields = [`csrf=${csrf ?? ''}`, `name=${ctx.user}`, `password=${ctx.password}`].flatMap((f) => ['--data-urlencode', f]);
  const answer = await curl(['-k', '-b', jar, '-c', jar, '-o', '/dev/null', '-w', '%{http_code} %{redirect_url}', ...fields, `${base}/sign-in`]);
  expect(answer.trim()).toBe(`303 ${base}/`);
  const dashboard = await curl(['-k', '--fail', '-b', jar, `${base}/`]);
  for (const name of ctx.services) expect(dashboard).toContain(`<th scope="row">${name}</th>`);
}

/** `/metrics` with the bearer token kept in the data volume: every service up. */
async function scrapeMetrics(ctx: CheckContext): Promise<void> {
  const token = (await ctx.exec(['hearth', 'admin', 'metrics-token'])).trim();
  const url = `https://127.0.0.1:${ctx.port('admin', 'https')}/metrics`;
  const refused = await curl(['-k', '-o', '/dev/null', '-w', '%{http_code}', url]);
  expect(refused.trim()).toBe('401');
  const text = await curl(['-k', '--fail', '-H', `Authorization: Bearer ${token}`, url]);
  for (const name of ctx.services) expect(text).toContain(`hearth_service_up{service="${name}"} 1`);
}

export const serviceChecks: Readonly<Record<string, ServiceCheck>> = {
  // comsat takes datagrams from local mailers and answers none: the test checks it is bound.
  biff: { use: async () => {}, kept: async () => {} },
  smtp: {
    // MX without AUTH; submission with STARTTLS and AUTH; SMTPS with AUTH (self-signed pair: -k).
    use: async (ctx) => {
      const auth = ['-u', `${ctx.user}:${ctx.password}`, '--ssl-reqd', '-k'];
      await deliver(ctx, `smtp://127.0.0.1:${ctx.port('smtp', 'mx')}`, [], 'mx');
      await deliver(ctx, `smtp://127.0.0.1:${ctx.port('smtp', 'submission')}`, auth, 'submission');
      await deliver(ctx, `smtps://127.0.0.1:${ctx.port('smtp', 'smtps')}`, auth, 'smtps');
    },
    kept: async () => {},
  },
  pop3: { use: readAll, kept: readAll },
  snmp: { use: walkServices, kept: walkServices },
  // WebDAV: a file PUT in the user's /home/ is read back, and is still there after stop and up.
  files: { use: putAndGet, kept: readBack },
  admin: {
    use: async (ctx) => {
      await signInToAdmin(ctx);
      await scrapeMetrics(ctx);
    },
    kept: async (ctx) => {
      await signInToAdmin(ctx);
      await scrapeMetrics(ctx);
    },
  },
};
