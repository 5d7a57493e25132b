/** The POP3 connection's phase machine (session-state.ts): every move, and the ones it refuses. */
import { describe, expect, it } from 'vitest';
import {
  CLOSED,
  COMMANDS,
  IllegalPhaseError,
  START,
  lineArrives,
  lineDone,
  mayEndAtGoodbye,
  nextLineIs,
  upgraded,
  upgrading,
  waitOf,
  type Mode,
  type Phase,
} from '../../dist/session-state.js';
import type { Wait } from '../../dist/waiting.js';

const wait = { marker: 'wait' } as unknown as Wait;
const waiting: Mode = { kind: 'waiting', wait };
const continuation: Mode = { kind: 'continuation', next: () => ({ kind: 'line', text: '+OK' }) };
const data: Mode = { kind: 'data' };
const ready = (mode: Mode): Phase => ({ kind: 'ready', mode });
const busy = (mode: Mode): Phase => ({ kind: 'busy', mode });

describe('POP3 session phase', () => {
  it('a line is read in the mode the previous handler left, and leaves commands behind it', () => {
    for (const mode of [COMMANDS, continuation, waiting]) {
      expect(lineArrives(ready(mode))).toEqual({ input: mode, phase: busy(COMMANDS) });
    }
  });

  it('a message line keeps the data mode until the handler sees the final dot', () => {
    expect(lineArrives(ready(data))).toEqual({ input: data, phase: busy(data) });
    expect(lineDone(busy(data))).toEqual(ready(data));
    expect(lineDone(nextLineIs(busy(data), COMMANDS))).toEqual(START);
  });

  it('the handler sets what the next line is; the line done, that mode is read', () => {
    expect(lineDone(nextLineIs(busy(COMMANDS), continuation))).toEqual(ready(continuation));
    expect(lineDone(nextLineIs(busy(COMMANDS), waiting))).toEqual(ready(waiting));
  });

  it('no line is read while upgrading or closed; a second line while one is handled is refused', () => {
    expect(lineArrives({ kind: 'upgrading' })).toBeUndefined();
    expect(lineArrives(CLOSED)).toBeUndefined();
    expect(() => lineArrives(busy(COMMANDS))).toThrow(new IllegalPhaseError('a line arriving', busy(COMMANDS)));
    expect(() => lineArrives(busy(COMMANDS))).toThrow('not possible in phase busy');
  });

  it('STLS: busy -> upgrading -> busy (commands) -> ready; only from a line being handled', () => {
    const up = upgrading(busy(COMMANDS));
    expect(up).toEqual({ kind: 'upgrading' });
    expect(lineDone(upgraded(up))).toEqual(START);
    expect(() => upgrading(START)).toThrow(/starting TLS is not possible in phase ready/);
    expect(() => upgraded(busy(COMMANDS))).toThrow(/finishing TLS is not possible in phase busy/);
    expect(() => lineDone(up)).toThrow(/finishing a line is not possible in phase upgrading/);
  });

  it('closed is final: every later move keeps it', () => {
    expect(nextLineIs(CLOSED, waiting)).toBe(CLOSED);
    expect(lineDone(CLOSED)).toBe(CLOSED);
    expect(upgraded(CLOSED)).toBe(CLOSED);
    expect(() => upgrading(CLOSED)).toThrow(/phase closed/);
    expect(() => nextLineIs(START, COMMANDS)).toThrow(/expecting commands is not possible in phase ready/);
  });

  it('the wait is found while waiting or while the line that started it is handled', () => {
    expect(waitOf(ready(waiting))).toBe(wait);
    expect(waitOf(busy(waiting))).toBe(wait);
    expect(waitOf(START)).toBeUndefined();
    expect(waitOf(CLOSED)).toBeUndefined();
  });

  it('the drain goodbye ends a session only between lines, in any RFC state, never during a message or a handshake', () => {
    expect(mayEndAtGoodbye(START)).toBe(true);
    expect(mayEndAtGoodbye(ready(continuation))).toBe(true);
    expect(mayEndAtGoodbye(ready(waiting))).toBe(true);
    expect(mayEndAtGoodbye(ready(data))).toBe(false);
    expect(mayEndAtGoodbye(busy(COMMANDS))).toBe(false);
    expect(mayEndAtGoodbye({ kind: 'upgrading' })).toBe(false);
    expect(mayEndAtGoodbye(CLOSED)).toBe(false);
  });
});
