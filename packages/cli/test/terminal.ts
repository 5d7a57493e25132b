/** Runs a `hearth` verb on a terminal: a pseudo-terminal of a given size from Python's pty module. */
import { spawn, type ChildProcess } from 'node:child_process';
import { MAIN } from '@hearth/testkit/hearth-up';

/** Runs ARGV under a pty of COLUMNS x ROWS, writing out what it shows as it comes, until it exits. */
const RUNNER = `
import fcntl, os, pty, struct, sys, termios
columns, rows = int(sys.argv[1]), int(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    # The size is set before the program starts, so it reads it at once.
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', rows, columns, 0, 0))
    os.execvp(sys.argv[3], sys.argv[3:])
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    sys.stdout.buffer.write(chunk)
    sys.stdout.flush()
os.waitpid(pid, 0)
`;

export interface TerminalSize {
  readonly columns: number;
  readonly rows: number;
}

export interface OnTerminal {
  readonly child: ChildProcess;
  /** What the terminal has shown so far. */
  output(): string;
  /** Everything it showed, once the program has exited. */
  readonly exited: Promise<string>;
}

/** Starts `hearth ARGS --data DATA` on a terminal of `size`. */
export function startOnTerminal(data: string, args: readonly string[], size: TerminalSize = { columns: 80, rows: 24 }): OnTerminal {
  const child = spawn('python3', ['-c', RUNNER, String(size.columns), String(size.rows), process.execPath, MAIN, ...args, '--data', data]);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<string>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', () => resolve(out));
  });
  return { child, output: () => out, exited };
}

/** `hearth ARGS --data DATA` on a terminal of `size`: everything it showed, once it exits. */
export function onTerminal(data: string, args: readonly string[], size?: TerminalSize): Promise<string> {
  return startOnTerminal(data, args, size).exited;
}
