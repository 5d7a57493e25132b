import { describe, expect, it } from 'vitest';
import { CommandDispatcher, parseCommandLine } from '@hearth/line-protocol';

type State = 'AUTH' | 'TRANS';
const dispatcher = new CommandDispatcher<State, null, string>({
  USER: { states: ['AUTH'], args: { min: 1, max: 1 }, run: (_c, a) => `user ${a[0]}` },
  PASS: { states: ['AUTH'], args: { min: 1, max: 1, rest: true }, run: (_c, a) => `pass ${a[0]}` },
  LIST: { states: ['TRANS'], args: { min: 0, max: 1 }, run: () => 'list' },
});

describe('CommandDispatcher', () => {
  it('parses verb and rest', () => {
    expect(parseCommandLine('user Bob')).toEqual({ verb: 'USER', rest: 'Bob' });
    expect(parseCommandLine('NOOP')).toEqual({ verb: 'NOOP', rest: '' });
  });

  it('applies unknown verb, wrong state and argument guards in that order', () => {
    expect(dispatcher.resolve('', 'AUTH').kind).toBe('empty');
    expect(dispatcher.resolve('FOO x', 'AUTH')).toEqual({ kind: 'unknown', verb: 'FOO' });
    expect(dispatcher.resolve('constructor', 'AUTH').kind).toBe('unknown');
    expect(dispatcher.resolve('__proto__', 'AUTH').kind).toBe('unknown');
    expect(dispatcher.resolve('LIST', 'AUTH').kind).toBe('wrong-state');
    expect(dispatcher.resolve('LIST 1 2', 'TRANS').kind).toBe('bad-args');
    expect(dispatcher.resolve('USER', 'AUTH').kind).toBe('bad-args');
    const ok = dispatcher.resolve('list  3', 'TRANS');
    expect(ok.kind === 'ok' && ok.args).toEqual(['3']);
  });

  it('keeps spaces in a rest-of-line argument', () => {
    const ok = dispatcher.resolve('PASS  a secret with spaces ', 'AUTH');
    expect(ok.kind === 'ok' && ok.args).toEqual([' a secret with spaces ']);
  });

  it('refuses a table with a lower-case verb', () => {
    expect(() => new CommandDispatcher({ list: { states: ['A'], args: { min: 0, max: 0 }, run: () => 1 } })).toThrow(/upper case/);
  });
});
