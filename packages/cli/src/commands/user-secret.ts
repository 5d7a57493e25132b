/**
 * Reading a password or APOP secret for `hearth user`: from one line of stdin, or from a prompt on
 * the terminal without echo (asked twice when it sets a secret).
 */
import type { CliIo } from '../command.js';

export class PromptError extends Error {
  override readonly name = 'PromptError';
}

export interface SecretSource {
  /** Read one line from stdin (`--password-stdin`) instead of prompting. */
  readonly passwordStdin: boolean;
  /** Ask a second time on a terminal and refuse when the two differ. */
  readonly confirm: boolean;
}

export async function readSecret(source: SecretSource, io: CliIo, prompt: string): Promise<string> {
  if (source.passwordStdin) {
    const line = await readLine(io.stdin, false);
    if (line === undefined || line === '') throw new PromptError('no password on stdin (--password-stdin reads one line)');
    return line;
  }
  if (!io.stdin.isTTY) {
    throw new PromptError('stdin is not a terminal: pass the password on stdin with --password-stdin');
  }
  const first = await promptHidden(io, prompt);
  if (source.confirm) {
    const again = await promptHidden(io, 'Retype it: ');
    if (again !== first) throw new PromptError('the two entries differ; nothing was changed');
  }
  if (first === '') throw new PromptError('empty password; nothing was changed');
  return first;
}

async function promptHidden(io: CliIo, prompt: string): Promise<string> {
  const stdin = io.stdin as CliIo['stdin'] & { setRawMode?: (raw: boolean) => unknown };
  // Echo off before the prompt appears, so nothing typed in answer to it is ever echoed.
  stdin.setRawMode?.(true);
  io.stderr.write(prompt);
  try {
    const line = await readLine(stdin, true);
    if (line === undefined) throw new PromptError('cancelled');
    return line;
  } finally {
    stdin.setRawMode?.(false);
    io.stderr.write('\n');
  }
}

/**
 * Reads one line from `input` and stops reading (pauses, removes its listeners) so the process can
 * exit. In raw terminal mode it also handles backspace, Ctrl-C and Ctrl-D; nothing is echoed.
 * Resolves undefined on cancel, or on end of input before any character.
 */
function readLine(input: CliIo['stdin'], raw: boolean): Promise<string | undefined> {
  return new Promise((resolvePromise, reject) => {
    let text = '';
    const stop = (): void => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onError);
      input.pause();
    };
    const finish = (value: string | undefined): void => {
      stop();
      resolvePromise(value);
    };
    const fail = (error: PromptError): void => {
      stop();
      reject(error);
    };
    const onData = (chunk: Buffer | string): void => {
      const data = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      for (let i = 0; i < data.length; i++) {
        const char = data[i];
        const done = char === '\n' || (raw && (char === '\r' || char === '\u0003' || char === '\u0004'));
        if (done) {
          // Keep what follows (typed or pasted ahead) for the next read.
          // Paused first: unshift on a flowing stream would emit the data again at once.
          const rest = data.slice(i + 1).replace(raw && char === '\r' ? /^\n/ : /^$/, '');
          stop();
          if (rest !== '') input.unshift(Buffer.from(rest, 'utf8'));
          return resolvePromise(char === '\u0003' || (char === '\u0004' && text === '') ? undefined : text.replace(/\r$/, ''));
        }
        if (raw && (char === '\u007f' || char === '\b')) {
          text = Array.from(text).slice(0, -1).join('');
          continue;
        }
        text += char;
        if (text.length > 4096) return fail(new PromptError('the password line is too long'));
      }
    };
    const onEnd = (): void => finish(text === '' ? undefined : text.replace(/\r$/, ''));
    const onError = (error: Error): void => fail(new PromptError(`cannot read stdin: ${error.message}`));
    if (input.readableEnded) return resolvePromise(undefined);
    input.on('data', onData);
    input.on('end', onEnd);
    input.on('error', onError);
    input.resume();
  });
}
