/**
 * A line the session read outside an XSEND message, through the guards in their fixed order: a
 * pending SASL continuation takes it whole; in TRANSACTION, the login's credentials must still be
 * the user's (login.ts's `credentialsChanged`); an XIDLE wait takes only DONE (session-wait.ts);
 * then the command table: empty line, unknown verb, wrong state, bad arguments, the handler. It
 * returns the reply for the session to write (session.ts's `respond`), and changes no state itself.
 */
import { CommandDispatcher } from '@hearth/line-protocol';
import type { Logger } from '@hearth/log';
import { commands } from './commands/index.js';
import type { CommandContext } from './commands/context.js';
import { credentialsChanged } from './login.js';
import type { PushHub } from './push.js';
import { replies, type Reply } from './replies.js';
import type { Mode } from './session-state.js';
import { endWait } from './session-wait.js';
import type { StateName } from './state.js';

const dispatcher = new CommandDispatcher<StateName, CommandContext, Reply>(commands);

/** What a line arrived for: a command, or the line a SASL challenge or an XIDLE wait asked for. */
export type LineInput = Exclude<Mode, { kind: 'data' }>;

/** The reply to a command line (decoded: `decodeCommandLine`), or to the line `input` waited for. */
export async function replyToLine(session: CommandContext, line: string, input: LineInput, hub: PushHub, log: Logger): Promise<Reply | undefined> {
  if (input.kind === 'continuation') {
    log.debug('C: (SASL response)');
    return input.next(line);
  }
  const { state } = session;
  if (state.name === 'TRANSACTION' && credentialsChanged(session.backing, state, log)) return replies.credentialsChanged();
  if (input.kind === 'waiting' && state.name === 'TRANSACTION') return endWait(state, input.wait, hub, line);
  const resolved = dispatcher.resolve(line, state.name);
  log.debug({ verb: resolved.kind === 'empty' ? '' : resolved.verb }, 'C: command');
  switch (resolved.kind) {
    case 'empty':
      return replies.emptyCommand();
    case 'unknown':
      return replies.unknownCommand(resolved.verb);
    case 'wrong-state':
      return replies.wrongState(resolved.verb);
    case 'bad-args':
      return replies.wrongArgs(resolved.verb);
    case 'ok':
      return resolved.spec.run(session, resolved.args);
  }
}

/** A command line as read (latin1: one char per byte), decoded as UTF-8. */
export function decodeCommandLine(raw: string): string {
  return /^[\x00-\x7f]*$/.test(raw) ? raw : Buffer.from(raw, 'latin1').toString('utf8');
}
