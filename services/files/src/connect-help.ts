/**
 * What `hearth files` prints: for one user, the URLs of the file service and the exact steps to
 * connect from macOS, Windows, Linux and rclone. Pure text from its inputs (no imports), so the
 * CLI can load it without the service.
 */
export interface ConnectHelpInput {
  readonly user: string;
  /** Host name clients use (it must be in the certificate: `localhost` or this machine's name). */
  readonly host: string;
  readonly httpsPort: number;
  /** The plain HTTP listener as programs on this machine reach it (`http://127.0.0.1:2080`); undefined: there is none. */
  readonly httpOrigin: string | undefined;
  /**
   * The certificate the service presents: the suite's self-signed one (clients must be told to
   * trust it), or the one the config names (`tls.cert`: trusted already when a public CA issued it).
   */
  readonly certificate: { readonly kind: 'self-signed' | 'configured'; readonly file: string };
}

/** An address as the host of a URL: an IPv6 address in brackets. */
export function urlHost(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

function isLoopback(address: string): boolean {
  return address === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address);
}

/**
 * The host name clients use for an HTTPS listener on `address`: `host` when given; else
 * `localhost` for a wildcard or loopback address (the suite's certificate names it); else the
 * address itself.
 */
export function httpsHost(address: string, host: string | undefined): string {
  if (host !== undefined) return host;
  return isWildcard(address) || isLoopback(address) ? 'localhost' : urlHost(address);
}

/** Whether clients on other machines can reach a listener on `address` (false for loopback only). */
export function reachableFromOtherMachines(address: string): boolean {
  return !isLoopback(address);
}

/**
 * Where programs on this machine reach a plain HTTP listener: a wildcard address through the
 * loopback address of its family, any other address as itself.
 */
export function localHttpOrigin(address: string, port: number): string {
  const local = address === '0.0.0.0' ? '127.0.0.1' : address === '::' ? '::1' : address;
  return `http://${urlHost(local)}:${port}`;
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

export function connectHelp(i: ConnectHelpInput): string {
  const base = `https://${i.host}:${i.httpsPort}`;
  const home = `${base}/home/`;
  return `Files for ${i.user}
  ${home}   your private folder
  ${base}/        lists the shares you may use (each at ${base}/<share>/)
${i.httpOrigin === undefined ? '' : `  ${i.httpOrigin}/ plain HTTP, for programs on this machine only\n`}
Log in as ${i.user} with your Hearth password. ${certificateNote(i.certificate)}

macOS (Finder)
  1. Open the certificate (double-click) to add it to Keychain Access; in its Trust section set
     "When using this certificate" to "Always Trust".
  2. Finder > Go > Connect to Server (Cmd-K), enter ${home} and click Connect.
  3. Choose "Registered User", name ${i.user}, your password.

Windows (File Explorer)
  1. Run certmgr.msc, Trusted Root Certification Authorities > Certificates > All Tasks > Import,
     and import the certificate.
  2. This PC > Map network drive, Folder: \\\\${i.host}@SSL@${i.httpsPort}\\DavWWWRoot\\home
     (or ${home}), tick "Connect using different credentials", Finish.
  3. Name ${i.user}, your password.

Linux (GNOME Files)
  1. sudo cp the certificate to /usr/local/share/ca-certificates/hearth.crt && sudo update-ca-certificates
  2. Other Locations > Connect to Server: davs://${i.host}:${i.httpsPort}/home/

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
