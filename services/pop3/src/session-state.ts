/**
 * What a POP3 connection is doing, beside its RFC 1939 state (`state.ts`): one `Phase`, changed
 * only by the functions below (the session calls them; a move they do not allow throws, naming
 * the phase it was in).
 *
 *     ready --lineArrives--> busy --lineDone--> ready
 *     busy --upgrading--> upgrading --upgraded--> busy            (STLS)
 *     busy --nextLineIs(mode)--> busy                                  (the handler says what comes next)
 *     any --close--> closed                                        (final; every other move keeps it)
 *
 * `mode` says what the next line is: a command, the answer to a SASL challenge, the end of an
 * XIDLE wait (which holds the `Wait`), or a line of an XSEND message. A line takes the mode it
 * was read in and leaves `commands` behind it, except a message line, which leaves `data` until
 * the handler sees the final dot. `busy` (a line is being handled) keeps the drain's goodbye and abort from
 * cutting into a reply.
 */
import type { Reply } from './replies.js';
import type { Wait } from './waiting.js';

/** What answers the line after a SASL challenge. */
export type Continuation = (line: string) => Promise<Reply> | Reply;

export type Mode =
  | { readonly kind: 'commands' }
  | { readonly kind: 'continuation'; readonly next: Continuation }
  | { readonly kind: 'waiting'; readonly wait: Wait }
  | { readonly kind: 'data' };

export type Phase =
  /** Waiting for the next line, read in `mode`. */
  | { readonly kind: 'ready'; readonly mode: Mode }
  /** A line is being handled; `mode` is what the next one will be. */
  | { readonly kind: 'busy'; readonly mode: Mode }
  /** STLS said +OK: the TLS handshake is under way, nothing is read. */
  | { readonly kind: 'upgrading' }
  | { readonly kind: 'closed' };

export const COMMANDS: Mode = { kind: 'commands' };
export const START: Phase = { kind: 'ready', mode: COMMANDS };
export const CLOSED: Phase = { kind: 'closed' };

export class IllegalPhaseError extends Error {
  override readonly name = 'IllegalPhaseError';
  constructor(move: string, from: Phase) {
    super(`POP3 session: ${move} is not possible in phase ${from.kind}`);
  }
}

/**
 * A line arrived: the mode it is read in, and the busy phase while it is handled. Undefined when
 * no line is read (upgrading, closed).
 */
export function lineArrives(phase: Phase): { readonly input: Mode; readonly phase: Phase } | undefined {
  switch (phase.kind) {
    case 'ready':
      return { input: phase.mode, phase: { kind: 'busy', mode: phase.mode.kind === 'data' ? phase.mode : COMMANDS } };
    case 'upgrading':
    case 'closed':
      return undefined;
    case 'busy':
      throw new IllegalPhaseError('a line arriving', phase);
  }
}

/** The handler of the current line says what the next line is. */
export function nextLineIs(phase: Phase, mode: Mode): Phase {
  if (phase.kind === 'closed') return phase;
  if (phase.kind !== 'busy') throw new IllegalPhaseError(`expecting ${mode.kind}`, phase);
  return { kind: 'busy', mode };
}

/** The current line is handled: read the next in the mode its handler left. */
export function lineDone(phase: Phase): Phase {
  if (phase.kind === 'closed') return phase;
  if (phase.kind !== 'busy') throw new IllegalPhaseError('finishing a line', phase);
  return { kind: 'ready', mode: phase.mode };
}

/** STLS: the +OK is out, the handshake starts. */
export function upgrading(phase: Phase): Phase {
  if (phase.kind !== 'busy') throw new IllegalPhaseError('starting TLS', phase);
  return { kind: 'upgrading' };
}

/** The handshake succeeded: commands again, once STLS's line is done. */
export function upgraded(phase: Phase): Phase {
  if (phase.kind === 'closed') return phase;
  if (phase.kind !== 'upgrading') throw new IllegalPhaseError('finishing TLS', phase);
  return { kind: 'busy', mode: COMMANDS };
}

/** The XIDLE wait the phase holds, if any (a session closing must cancel it). */
export function waitOf(phase: Phase): Wait | undefined {
  return (phase.kind === 'ready' || phase.kind === 'busy') && phase.mode.kind === 'waiting' ? phase.mode.wait : undefined;
}

/**
 * The draining instance's goodbye time: whether the session may end now. Only between lines,
 * never while a line is handled, a TLS handshake runs or an XSEND message is being read.
 */
export function mayEndAtGoodbye(phase: Phase): boolean {
  return phase.kind === 'ready' && phase.mode.kind !== 'data';
}
