/**
 * What `hearth files` prints: for one user, the URLs of the file service and the exact steps to
 * connect from macOS, Windows, Linux and rclone, over HTTPS (`connectHelp`) or, for a service
 * with no HTTPS listener, over plain HTTP (`plainHttpConnectHelp`). Pure text from its inputs
 * (no imports), so the CLI can load it without the service.
 */
export interface ConnectHelpInput {
  readonly user: string;
  /**
   * Host name or address clients use (it must be one the certificate names: `hostCheck`), an
   * IPv6 address as it is, with no brackets.
   */
  readonly host: string;
  readonly httpsPort: number;
  /** The plain HTTP listener as programs on this machine reach it (`http://127.0.0.1:2080`); undefined: there is none. */
  readonly httpOrigin: string | undefined;
  /**
   * The certificate the service presents: the suite's self-signed one (clients must be told to
   * trust it), or the one the config names (`tls.cert`: trusted already when a public CA issued it).
   */
  readonly certificate: { readonly kind: 'self-signed' | 'configured'; readonly file: string };
  /**
   * What the certificate names (DNS names, then IP addresses) and whether one of them is `host`,
   * when they were read: if not, a warning above the steps says that clients will refuse the
   * connection, and how to fix it. Undefined: not checked, no warning.
   */
  readonly hostCheck?: { readonly named: boolean; readonly names: readonly string[] } | undefined;
  /**
   * Whether the suite runs on its embedded default config (`hearth up` without `--config`): the
   * warning's fix for the self-signed certificate then says how to write a config file for
   * `tls.names`, since there is none to add it to.
   */
  readonly embeddedConfig?: boolean | undefined;
  /**
   * The HTTPS listener, when it is on loopback only: a note below the URLs says that other devices
   * cannot reach it, and how to let them. Undefined: other machines can reach it.
   */
  readonly loopbackOnly?: LoopbackListener | undefined;
}

/** A listener on loopback only, as the suite config names it. */
export interface LoopbackListener {
  /** The service's name in the suite config (`files`). */
  readonly service: string;
  /** The listener's name in it (`https`). */
  readonly listener: string;
  /** Its address (`127.0.0.1`). */
  readonly address: string;
}

/**
 * A host as a URL takes it: an IPv6 address in brackets, a zone index after `%25` (RFC 6874:
 * `[fe80::1%25eth0]`); a name or an IPv4 address as it is.
 */
export function urlHost(host: string): string {
  return host.includes(':') ? `[${host.replace('%', '%25')}]` : host;
}

/**
 * A host as Windows takes it in a UNC path, which allows no colon: an IPv6 address in its
 * `ipv6-literal.net` form, each `:` as `-` and a zone index's `%` as `s`
 * (`fe80::1%4`: `fe80--1s4.ipv6-literal.net`), which Windows resolves itself, asking no DNS
 * server; a name or an IPv4 address as it is.
 */
export function uncHost(host: string): string {
  return host.includes(':') ? `${host.replaceAll(':', '-').replace('%', 's')}.ipv6-literal.net` : host;
}

/** A listener as the CLI reads it from the config and the admin page from the status rows. */
export interface ListenerShape {
  readonly name: string;
  readonly protocol: string;
  /** Implicit TLS; absent in the status rows of an older supervisor. */
  readonly tls?: boolean;
}

/**
 * The file service's TCP listener with TLS (`tls` true) or without: the one named `https` or
 * `http` if there are several, else the first. One that does not say whether it has TLS counts
 * by that name alone.
 */
export function fileListener<L extends ListenerShape>(listeners: readonly L[], tls: boolean): L | undefined {
  const name = tls ? 'https' : 'http';
  const candidates = listeners.filter((l) => l.protocol === 'tcp' && (l.tls === undefined ? l.name === name : l.tls === tls));
  return candidates.find((l) => l.name === name) ?? candidates[0];
}

/** `::` in any spelling (`0:0:0:0:0:0:0:0`), as the supervisor's config reads it. */
function isIpv6Wildcard(address: string): boolean {
  return address.includes(':') && /^[0:]+$/.test(address);
}

/** `0.0.0.0` or `::` in any spelling: the listener takes connections on every address. */
export function isWildcardAddress(address: string): boolean {
  return address === '0.0.0.0' || isIpv6Wildcard(address);
}

/** 127.x.y.z, or `::1` in any spelling (`0:0:0:0:0:0:0:1`). */
function isLoopback(address: string): boolean {
  return /^[0:]*:0*1$/.test(address) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address);
}

/**
 * The host name clients use for an HTTPS listener on `address`: `host` when given; else
 * `localhost` for a wildcard or loopback address (the suite's certificate names it); else the
 * address itself (an IPv6 one with no brackets).
 */
export function httpsHost(address: string, host: string | undefined): string {
  if (host !== undefined) return host;
  return isWildcardAddress(address) || isLoopback(address) ? 'localhost' : address;
}

/**
 * `listener` of the service `service` as the steps' note names it (`loopbackOnly`) when it is on
 * loopback only; undefined when other machines can reach it.
 */
export function loopbackListener(service: string, listener: { readonly name: string; readonly address: string }): LoopbackListener | undefined {
  return isLoopback(listener.address) ? { service, listener: listener.name, address: listener.address } : undefined;
}

/** Whether clients on other machines can reach a listener on `address` (false for loopback only). */
export function reachableFromOtherMachines(address: string): boolean {
  return !isLoopback(address);
}

/**
 * The address programs on this machine reach a listener on `address` at: a wildcard address
 * through the loopback address of its family, any other address as itself.
 */
export function localAddress(address: string): string {
  return address === '0.0.0.0' ? '127.0.0.1' : isIpv6Wildcard(address) ? '::1' : address;
}

/** Where programs on this machine reach a plain HTTP listener (`localAddress`). */
export function localHttpOrigin(address: string, port: number): string {
  return `http://${urlHost(localAddress(address))}:${port}`;
}

/**
 * What the steps say of a listener on loopback only: who reaches it, and the change that lets
 * other devices (in a config file; the embedded default has none to change).
 */
function loopbackNote(l: LoopbackListener, kind: string, embeddedConfig: boolean | undefined): string {
  const head = `Its ${kind} listener is on ${l.address} only: programs on this machine reach it, other
devices cannot.`;
  const setting = `  address: 0.0.0.0   (or this machine's own address)`;
  if (embeddedConfig === true) {
    return `${head} To let them, run the suite on a config file that gives it an address
they reach (docker/hearth.yaml lists every service of the default), for service
${l.service}, listener ${l.listener}:
${setting}
then run hearth down and hearth up --config FILE as you ran hearth up.`;
  }
  return `${head} To let them, give it an address they reach in the suite config, for
service ${l.service}, listener ${l.listener}:
${setting}
and run hearth reload.`;
}

function certificateNote(certificate: ConnectHelpInput['certificate']): string {
  if (certificate.kind === 'self-signed') {
    return `The server's certificate is self-signed:
  ${certificate.file}
Copy it to each device and trust it once (steps below), or clients will refuse to connect.`;
  }
  return `The server presents the configured certificate:
  ${certificate.file}
Devices trust it already if a public CA (Let's Encrypt) issued it: skip the certificate steps
below. If it is your own, copy it to each device and trust it once, as they say.`;
}

/** The warning above the steps when the certificate does not name the host clients are told of. */
function unnamedHostWarning(i: ConnectHelpInput): string {
  if (i.hostCheck === undefined || i.hostCheck.named) return '';
  const names = i.hostCheck.names.join(', ');
  if (i.certificate.kind === 'self-signed' && i.embeddedConfig === true) {
    // A file without services: runs the embedded default's services, so tls.names alone is enough.
    return `Warning: the certificate does not name ${i.host}, so clients will refuse to connect
to it, even once they trust the certificate. To fix it, either add ${i.host} to tls.names
in a config file (the suite runs on its embedded default config, which has none): write
hearth.yaml holding only
  tls:
    names: [${JSON.stringify(i.host)}]
(a config without services: runs the default services), then run hearth down and
hearth up --config hearth.yaml as you ran hearth up (same directory and --data); the
suite then makes a new certificate, which devices must trust. Or use a name the
certificate has:
  ${names}

`;
  }
  if (i.certificate.kind === 'self-signed') {
    return `Warning: the certificate does not name ${i.host}, so clients will refuse to connect
to it, even once they trust the certificate. To fix it, either add ${i.host} to tls.names
in the suite config and run hearth reload (the suite then makes a new certificate, which
devices must trust), or use a name the certificate has:
  ${names}

`;
  }
  return `Warning: the certificate does not name ${i.host}, so clients will refuse to connect
to it. To fix it, either configure a certificate that names it (tls.cert and tls.key in the
suite config, then hearth reload), or use a name the certificate has:
  ${names}

`;
}

/**
 * `reg add` lines for Windows' WebClient settings, then its restart, indented under a step.
 * Without them WebClient refuses a file over 50 MB (FileSizeLimitInBytes 50,000,000) and a folder
 * whose PROPFIND answer is over 1 MB (FileAttributesLimitInBytes 1,000,000: its listings ask
 * allprop, about 700 bytes a file here); 4294967295 is the most a REG_DWORD holds.
 */
function webClientSettings(values: readonly (readonly [name: string, value: number])[]): string {
  const lines = values.map(([name, value]) => `       reg add HKLM\\SYSTEM\\CurrentControlSet\\Services\\WebClient\\Parameters /v ${name} /t REG_DWORD /d ${value} /f\n`);
  return `${lines.join('')}       net stop webclient && net start webclient`;
}

const WEBCLIENT_LIMITS = [
  ['FileSizeLimitInBytes', 4294967295],
  ['FileAttributesLimitInBytes', 100000000],
] as const;

const WEBCLIENT_LIMITS_NOTE = `     (4294967295 is the most Windows takes: a file of 4 GiB or more goes through rclone.)`;

export function connectHelp(i: ConnectHelpInput): string {
  const base = `https://${urlHost(i.host)}:${i.httpsPort}`;
  const home = `${base}/home/`;
  return `${unnamedHostWarning(i)}Files for ${i.user}
  ${home}   your private folder
  ${base}/        lists the shares you may use (each at ${base}/<share>/)
${i.httpOrigin === undefined ? '' : `  ${i.httpOrigin}/ plain HTTP, for programs on this machine only\n`}
${i.loopbackOnly === undefined ? '' : `${loopbackNote(i.loopbackOnly, 'HTTPS', i.embeddedConfig)}\n\n`}Log in as ${i.user} with your Hearth password. ${certificateNote(i.certificate)}

macOS (Finder)
  1. Open the certificate (double-click) to add it to Keychain Access; in its Trust section set
     "When using this certificate" to "Always Trust".
  2. Finder > Go > Connect to Server (Cmd-K), enter ${home} and click Connect.
  3. Choose "Registered User", name ${i.user}, your password.

Windows (File Explorer)
  1. Run certmgr.msc, Trusted Root Certification Authorities > Certificates > All Tasks > Import,
     and import the certificate.
  2. Windows' WebClient refuses a file over 50 MB and a folder of more than about a thousand
     files by default. Raise both limits once, in a Command Prompt run as administrator:
${webClientSettings(WEBCLIENT_LIMITS)}
${WEBCLIENT_LIMITS_NOTE}
  3. This PC > Map network drive, Folder: \\\\${uncHost(i.host)}@SSL@${i.httpsPort}\\DavWWWRoot\\home
     (or ${home}), tick "Connect using different credentials", Finish.
  4. Name ${i.user}, your password.

Linux (GNOME Files)
  1. sudo cp the certificate to /usr/local/share/ca-certificates/hearth.crt && sudo update-ca-certificates
  2. Other Locations > Connect to Server: davs://${urlHost(i.host)}:${i.httpsPort}/home/

Linux (davfs2)
  1. sudo cp the certificate to /etc/davfs2/certs/hearth.pem and set "trust_server_cert hearth.pem"
     in /etc/davfs2/davfs2.conf
  2. sudo mount -t davfs ${home} /mnt/hearth   (name ${i.user}, your password)

rclone
  1. rclone config create hearth webdav url=${base}/ vendor=owncloud user=${i.user} pass=$(rclone obscure 'YOUR PASSWORD')
  2. rclone ${i.certificate.kind === 'self-signed' ? `--ca-cert ${i.certificate.file} ` : ''}lsd hearth:
  3. rclone ${i.certificate.kind === 'self-signed' ? `--ca-cert ${i.certificate.file} ` : ''}sync ~/Pictures hearth:home/Pictures
     (vendor=owncloud keeps modification times)
`;
}

/** A file service with no HTTPS listener, reached over plain HTTP. */
export interface PlainHttpConnectHelpInput {
  readonly user: string;
  /** The service's name in the suite config (`files`), for the setting to change. */
  readonly service: string;
  /** Host name or address clients use (an IPv6 address as it is, with no brackets). */
  readonly host: string;
  readonly port: number;
  /** The listener, when it is on loopback only (other machines cannot reach it at all); undefined otherwise. */
  readonly loopbackOnly: LoopbackListener | undefined;
  /** Whether the suite runs on its embedded default config (the loopback note's change then needs a config file). */
  readonly embeddedConfig?: boolean | undefined;
  /** The service's `allowPlaintextAuth` setting: Basic over plain HTTP taken from other machines too. */
  readonly allowPlaintextAuth: boolean;
}

function plainHttpNote(i: PlainHttpConnectHelpInput): string {
  const head = 'The file service has no HTTPS listener: these are its plain HTTP URLs.';
  if (i.loopbackOnly !== undefined) return `${head}\n${loopbackNote(i.loopbackOnly, 'plain HTTP', i.embeddedConfig)}`;
  if (!i.allowPlaintextAuth) {
    return `${head}
Over plain HTTP the service refuses a password sent from another machine (403 "Basic
authentication over plain HTTP is refused: use HTTPS"): the steps below work on this machine
only until the config sets, for service ${i.service},
  settings: { allowPlaintextAuth: true }
which lets passwords cross the network readable by anyone on the way; an HTTPS listener
(tls: true) is the safer change.`;
  }
  return `${head}
Its allowPlaintextAuth setting takes passwords from other machines over plain HTTP: yours
crosses the network readable by anyone on the way.`;
}

export function plainHttpConnectHelp(i: PlainHttpConnectHelpInput): string {
  const base = `http://${urlHost(i.host)}:${i.port}`;
  const home = `${base}/home/`;
  const unc = i.port === 80 ? `\\\\${uncHost(i.host)}\\DavWWWRoot\\home` : `\\\\${uncHost(i.host)}@${i.port}\\DavWWWRoot\\home`;
  return `Files for ${i.user}
  ${home}   your private folder
  ${base}/        lists the shares you may use (each at ${base}/<share>/)

Log in as ${i.user} with your Hearth password.

${plainHttpNote(i)}

macOS (Finder)
  1. Finder > Go > Connect to Server (Cmd-K), enter ${home} and click Connect.
  2. Choose "Registered User", name ${i.user}, your password.

Windows (File Explorer)
  1. Windows' WebClient refuses by default Basic authentication over plain HTTP (BasicAuthLevel
     1), a file over 50 MB and a folder of more than about a thousand files. Allow them once,
     in a Command Prompt run as administrator:
${webClientSettings([['BasicAuthLevel', 2], ...WEBCLIENT_LIMITS])}
${WEBCLIENT_LIMITS_NOTE}
  2. This PC > Map network drive, Folder: ${unc}
     (or ${home}), tick "Connect using different credentials", Finish.
  3. Name ${i.user}, your password.

Linux (GNOME Files)
  1. Other Locations > Connect to Server: dav://${urlHost(i.host)}:${i.port}/home/

Linux (davfs2)
  1. sudo mount -t davfs ${home} /mnt/hearth   (name ${i.user}, your password)

rclone
  1. rclone config create hearth webdav url=${base}/ vendor=owncloud user=${i.user} pass=$(rclone obscure 'YOUR PASSWORD')
  2. rclone lsd hearth:
  3. rclone sync ~/Pictures hearth:home/Pictures
     (vendor=owncloud keeps modification times)
`;
}
