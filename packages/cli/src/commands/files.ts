/** `hearth files`: the URLs of the file service and how to connect to it, for one user. */
import { isIPv6 } from 'node:net';
import { join } from 'node:path';
import { disableReasonText, localUser, mailDomainSet, normalizeUserName, openSuiteAccounts } from '@hearth/accounts';
import type { Disabled } from '@hearth/accounts';
import type { FilesSettings } from '@hearth/files/config';
import { connectHelp, type ConnectHelpInput, fileListener, httpsHost, localAddress, localHttpOrigin, loopbackListener, plainHttpConnectHelp, reachableFromOtherMachines } from '@hearth/files/connect-help';
import type { ListenerSpec } from '@hearth/runtime';
import type { ServiceConfig, SuiteConfig } from '@hearth/supervisor';
import { NotRunningError, SOCKET_NAME, controlRequest } from '@hearth/supervisor/control';
import type { ServiceStatus } from '@hearth/supervisor/control';
import { UsageError, type CliCommand, type CliIo } from '../command.js';
import { COMMON_USAGE, CONFIG_OPTIONS, parse } from '../options.js';
import { certificateHostCheck } from './files-certificate.js';
import { describedConfig, describedFrom, runsEmbeddedDefault } from './files-config.js';

const usage = `Usage: hearth files [--user NAME] [--host HOST] [--config FILE] [--data DIR]

Prints the file service's URLs for a user and the exact steps to connect from macOS Finder,
Windows Explorer, GNOME Files, davfs2 and rclone. The addresses and ports are those of the
files service's listeners in the suite config, as hearth up reads it: its HTTPS listener
(tls: true) and its plain HTTP one; a port 0 there is asked of the supervisor running on the
data dir. Without --config, the config is the one the supervisor running on the data dir
runs: the file hearth up --config was given, read as it is now (as hearth reload reads it),
or the embedded default; with no supervisor running there, the embedded default. A line on
stderr after the steps says which of these they describe. A service with plain HTTP
listeners only gets the steps over plain HTTP, with what holds there (its
allowPlaintextAuth setting, Windows' BasicAuthLevel). For a listener on loopback only, a
note below the URLs says that other devices cannot reach it, and which setting lets them.
The config must have exactly one files service. Exit code 1 if the user has no account in
DIR/accounts or is an address in another domain than the suite's mail domains; when the
accounts cannot be opened, a warning says so and the steps are printed. A disabled account
is said so above the steps.

  --user NAME       the user: alice, or alice@ one of the suite's mail domains (mail.domains),
                    as the file service takes a login; the steps name the account, alice
                    (default: $HEARTH_USER, else $USER)
  --host HOST       the name or IP address clients use for this machine (over HTTPS, one the
                    certificate names: a warning above the steps says when the certificate
                    the service presents does not, and how to fix it; an IPv6 address as
                    2001:db8::1 or [2001:db8::1])
                    (default: localhost for an HTTPS listener on 0.0.0.0, :: or loopback,
                    127.0.0.1 or ::1 for a plain HTTP one on 0.0.0.0 or ::, else the
                    listener's address)

${COMMON_USAGE}
  --config FILE      suite config file (default: the running suite's config file, else the
                     embedded default)`;

/**
 * `--host` as the steps take it: a host name, an IPv4 address, or an IPv6 address (brackets
 * dropped; a zone index of letters, digits, `_`, `.` and `-`, after `%`, or in brackets after
 * `%25` as a URL writes it). Anything else is a usage error.
 */
function hostOption(value: string): string {
  if (/^[A-Za-z0-9.-]{1,253}$/.test(value)) return value;
  const inBrackets = /^\[(.*)\]$/.exec(value)?.[1];
  const bare = inBrackets?.replace('%25', '%') ?? value;
  if (/^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$/.test(bare) && isIPv6(bare)) return bare;
  throw new UsageError(`--host must be a host name or an IP address, not "${value}"`);
}

/** Where the config came from, for messages. */
function configName(config: SuiteConfig): string {
  return config.file ?? 'the embedded default config';
}

function theFilesService(config: SuiteConfig): ServiceConfig {
  const files = config.services.filter((s) => (s.run.type === 'service' || s.run.type === 'module') && s.run.kind === 'files');
  if (files.length === 0) throw new Error(`${configName(config)} has no files service (a service with "service: files")`);
  if (files.length > 1) {
    throw new Error(`${configName(config)} has ${files.length} files services (${files.map((s) => s.name).join(', ')}): hearth files describes only one`);
  }
  return files[0]!;
}

/**
 * The port each listener is bound to: the configured one, or for port 0 (a free port chosen
 * when hearth up starts) the one the supervisor running on `dataDir` holds.
 */
async function boundPorts(service: ServiceConfig, listeners: readonly ListenerSpec[], config: SuiteConfig, dataDir: string): Promise<Map<ListenerSpec, number>> {
  const ports = new Map<ListenerSpec, number>();
  const unbound = listeners.filter((l) => l.port === 0);
  for (const l of listeners) if (l.port !== 0) ports.set(l, l.port);
  if (unbound.length === 0) return ports;
  const where = `listener ${service.name}.${unbound[0]!.name} has port 0 in ${configName(config)} (a free port chosen when hearth up starts)`;
  let status: ServiceStatus[];
  try {
    status = (await controlRequest(join(dataDir, SOCKET_NAME), { verb: 'status' })) as ServiceStatus[];
  } catch (error) {
    if (error instanceof NotRunningError) throw new Error(`${where}, and no supervisor is running on ${dataDir} to tell which`);
    throw error;
  }
  for (const l of unbound) {
    const held = status.find((s) => s.name === service.name)?.listeners.find((h) => h.name === l.name);
    if (held === undefined || held.port === 0) throw new Error(`${where}, and the supervisor running on ${dataDir} holds no such listener`);
    ports.set(l, held.port);
  }
  return ports;
}

/**
 * The local user a name means, by the rule of every login (`localUser`): `alice`, or `alice@` one
 * of the suite's mail domains, in lower case. Throws for an address in another domain.
 */
function userOf(name: string, config: SuiteConfig): string {
  const domains = mailDomainSet(config.mail.domains);
  const at = name.lastIndexOf('@');
  // No domain after the @ (`alice@`): no address, refused as an invalid name as `@localhost` is.
  if (at === name.length - 1) return normalizeUserName(name);
  if (at >= 0 && !domains.has(name.slice(at + 1).toLowerCase())) {
    throw new Error(`no such user: ${name} (${name.slice(at + 1)} is not one of the suite's mail domains: ${config.mail.domains.join(', ')})`);
  }
  // An empty local part (`@localhost`) is refused as an invalid name.
  return normalizeUserName(localUser(name, domains) ?? name);
}

/**
 * Whether the user's account is disabled (undefined: it may log in, or the accounts cannot be
 * opened, which a warning says); throws if the accounts have no such user.
 */
async function accountDisabled(user: string, dataDir: string, io: CliIo): Promise<Disabled | undefined> {
  let accounts;
  try {
    accounts = await openSuiteAccounts(dataDir, { create: false });
  } catch (error) {
    io.stderr.write(`hearth files: warning: cannot tell whether user ${user} exists: ${(error as Error).message.split('\n')[0]}\n`);
    return undefined;
  }
  try {
    const account = accounts.find(user);
    if (account === undefined) throw new Error(`no such user: ${user} (not in the accounts at ${accounts.dir})`);
    return account.disabled;
  } finally {
    await accounts.close();
  }
}

/** The lines above the steps for a disabled account: every service refuses its logins. */
function disabledNote(user: string, disabled: Disabled): string {
  const why = disabled.reason === undefined ? '' : ` (reason: ${disableReasonText(disabled.reason, 'utf-8')})`;
  return `Account ${user} is disabled${why}: every service refuses its logins, so the steps below
will not work until hearth user enable ${user}.

`;
}

export const filesCommand: CliCommand = {
  name: 'files',
  summary: 'how to connect to the file service (URLs, macOS, Windows, Linux, rclone) for a user',
  usage,
  async run(argv, io) {
    const { values, positionals } = parse(argv, {
      config: CONFIG_OPTIONS.config,
      user: { type: 'string' },
      host: { type: 'string' },
    });
    if (values.help === true) {
      io.stdout.write(`${usage}\n`);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const name = values.user ?? io.env['HEARTH_USER'] ?? io.env['USER'];
    if (name === undefined || name === '') throw new UsageError('no user: pass --user NAME');
    const host = values.host === undefined ? undefined : hostOption(values.host);

    const described = await describedConfig(values.config, values.data, io);
    const { config, dataDir } = described;
    const service = theFilesService(config);
    const https = fileListener(service.listen, true);
    const http = fileListener(service.listen, false);
    // The listener clients are told of: the HTTPS one, else the plain HTTP one.
    const told = https ?? http;
    if (told === undefined) throw new Error(`files service ${service.name} in ${configName(config)} has no TCP listener`);
    const ports = await boundPorts(service, https !== undefined && http !== undefined ? [https, http] : [told], config, dataDir);
    const user = userOf(name, config);
    const disabled = await accountDisabled(user, dataDir, io);

    // A loopback listener named as localhost or a loopback address is reached as it is named.
    if (host !== undefined && !reachableFromOtherMachines(told.address) && host !== 'localhost' && reachableFromOtherMachines(host)) {
      io.stderr.write(`hearth files: warning: listener ${service.name}.${told.name} is on ${told.address} only: other machines cannot reach it as ${host}\n`);
    }
    let steps: string;
    if (https === undefined) {
      steps = plainHttpConnectHelp({
        user,
        service: service.name,
        host: host ?? localAddress(told.address),
        port: ports.get(told)!,
        loopbackOnly: loopbackListener(service.name, told),
        allowPlaintextAuth: (service.settings as FilesSettings).allowPlaintextAuth,
        embeddedConfig: runsEmbeddedDefault(described),
      });
    } else {
      const certificate: ConnectHelpInput['certificate'] =
        config.tls.cert !== undefined ? { kind: 'configured', file: config.tls.cert } : { kind: 'self-signed', file: join(dataDir, 'tls', 'self-signed', 'cert.pem') };
      const clientsHost = httpsHost(https.address, host);
      const local = { address: localAddress(https.address), port: ports.get(https)! };
      steps = connectHelp({
        user,
        host: clientsHost,
        httpsPort: ports.get(https)!,
        httpOrigin: http === undefined ? undefined : localHttpOrigin(http.address, ports.get(http)!),
        certificate,
        hostCheck: await certificateHostCheck(clientsHost, local, certificate, config),
        embeddedConfig: runsEmbeddedDefault(described),
        loopbackOnly: loopbackListener(service.name, https),
      });
    }
    io.stdout.write(disabled === undefined ? steps : `${disabledNote(user, disabled)}${steps}`);
    const from = describedFrom(described);
    if (from !== undefined) io.stderr.write(`hearth files: ${from}\n`);
    return 0;
  },
};
