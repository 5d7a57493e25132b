/**
 * The password for `hearth mail`: $HEARTH_PASSWORD, else a prompt on the terminal without echo.
 * Never from the command line, where every user of the machine could read it.
 */
import type { CliIo } from '../command.js';
import { MailClientError } from './pop3-client.js';

export async function password(io: CliIo, user: string, stdinInUse: boolean): Promise<string> {
  const fromEnv = io.env['HEARTH_PASSWORD'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (stdinInUse || io.stdin.isTTY !== true) {
    throw new MailClientError(
      stdinInUse
        ? 'no password: stdin holds the message, so set HEARTH_PASSWORD'
        : 'no password: stdin is not a terminal, so set HEARTH_PASSWORD',
    );
  }
  const stdin = io.stdin as CliIo['stdin'] & { setRawMode?: (raw: boolean) => unknown };
  // Echo off before the prompt appears, so nothing typed in answer to it is ever echoed.
  stdin.setRawMode?.(true);
  io.stderr.write(`Password for ${user}: `);
  try {
    const line = await readHidden(stdin);
    if (line === undefined) throw new MailClientError('cancelled');
    return line;
  } finally {
    stdin.setRawMode?.(false);
    io.stderr.write('\n');
  }
}

/** One line typed in raw mode (backspace, Ctrl-C, Ctrl-D handled); undefined when cancelled. */
function readHidden(input: CliIo['stdin']): Promise<string | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const stop = (value: string | undefined): void => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.pause();
      resolve(value);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const char of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return stop(text);
        if (char === '\u0003' || (char === '\u0004' && text === '')) return stop(undefined);
        if (char === '\u007f' || char === '\b') text = Array.from(text).slice(0, -1).join('');
        else if (text.length < 4096) text += char;
      }
    };
    const onEnd = (): void => stop(text === '' ? undefined : text);
    input.on('data', onData);
    input.on('end', onEnd);
    input.resume();
  });
}
