/** `hearth files`: the URLs of the file service and how to connect to it, for one user. */
import { join } from 'node:path';
import { connectHelp } from '@hearth/files/connect-help';
import { UsageError, type CliCommand } from '../command.js';
import { COMMON_USAGE, dataDirOf, parse } from '../options.js';

const usage = `Usage: hearth files [--user NAME] [--host HOST] [--port PORT] [--http-port PORT] [--data DIR]

Prints the file service's URLs for a user and the exact steps to connect from macOS Finder,
Windows Explorer, GNOME Files, davfs2 and rclone.

  --user NAME       the user (default: $HEARTH_USER, else $USER)
  --host HOST       the name clients use for this machine; it must be in the certificate
                    (default: localhost)
  --port PORT       the HTTPS listener (default 2443)
  --http-port PORT  the plain HTTP listener, loopback only (default 2080)

${COMMON_USAGE}`;

function portOf(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`${flag} must be a port number, not "${value}"`);
  return n;
}

export const filesCommand: CliCommand = {
  name: 'files',
  summary: 'how to connect to the file service (URLs, macOS, Windows, Linux, rclone) for a user',
  usage,
  async run(argv, io) {
    const { values, positionals } = parse(argv, {
      user: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'http-port': { type: 'string' },
    });
    if (values.help === true) {
      io.stdout.write(`${usage}\n`);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const user = values.user ?? io.env['HEARTH_USER'] ?? io.env['USER'];
    if (user === undefined || user === '') throw new UsageError('no user: pass --user NAME');
    const host = values.host ?? 'localhost';
    if (!/^[A-Za-z0-9.-]{1,253}$/.test(host)) throw new UsageError(`--host must be a host name, not "${host}"`);
    io.stdout.write(
      connectHelp({
        user,
        host,
        httpsPort: portOf(values.port, 2443, '--port'),
        httpPort: portOf(values['http-port'], 2080, '--http-port'),
        certFile: join(dataDirOf(values.data, io), 'tls', 'self-signed', 'cert.pem'),
      }),
    );
    return 0;
  },
};
