/** The reader of a quoted local part in MAIL FROM and RCPT TO (its unquoted form: @hearth/mail-delivery's test/address.test.ts). */
import { describe, expect, it } from 'vitest';
import { readQuotedPath } from '../../src/quoted-local-part.js';

describe('readQuotedPath', () => {
  it('leaves commands without a quoted local part to smtp-server', () => {
    for (const command of ['MAIL FROM:<a@b.example>', 'MAIL FROM:<>', 'RCPT TO:<postmaster>', 'MAIL FROM:a@b', 'MAIL FROM', 'RCPT TO:<a"b"@c>']) {
      expect(readQuotedPath(command)).toEqual({ kind: 'unquoted' });
    }
  });

  it('reads the quoted local part as given and puts a stand-in of its length in its place', () => {
    expect(readQuotedPath('MAIL FROM:<"john doe"@example.com> SIZE=10')).toEqual({
      kind: 'quoted',
      localPart: '"john doe"',
      standIn: 'MAIL FROM:<qqqqqqqqqq@example.com> SIZE=10',
    });
    expect(readQuotedPath('RCPT TO: <"a\\"b@c"@x>')).toEqual({ kind: 'quoted', localPart: '"a\\"b@c"', standIn: 'RCPT TO: <qqqqqqqq@x>' });
    expect(readQuotedPath('RCPT TO:<""@x>')).toEqual({ kind: 'quoted', localPart: '""', standIn: 'RCPT TO:<qq@x>' });
    expect(readQuotedPath('MAIL FROM:<"jöhn"@x>')).toMatchObject({ kind: 'quoted', localPart: '"jöhn"' });
  });

  it('reads past a source route, which smtp-server then drops', () => {
    expect(readQuotedPath('RCPT TO:<@relay.example,@b.example:"a b"@x>')).toEqual({
      kind: 'quoted',
      localPart: '"a b"',
      standIn: 'RCPT TO:<@relay.example,@b.example:qqqqq@x>',
    });
  });

  it('names what is wrong with bad quoting', () => {
    const problem = (command: string): string | undefined => {
      const path = readQuotedPath(command);
      return path.kind === 'invalid' ? path.problem : undefined;
    };
    expect(problem('MAIL FROM:<"john@example.com>')).toBe('the quoted local part has no closing quote');
    expect(problem('MAIL FROM:<"john\\')).toBe('the quoted local part has no closing quote');
    expect(problem('MAIL FROM:<"jo\x00hn"@x>')).toBe('a control character in the quoted local part');
    expect(problem('MAIL FROM:<"jo\\\x7fhn"@x>')).toBe('a control character in the quoted local part');
    expect(problem('MAIL FROM:<"jo\u200bhn"@x>')).toBe('an invisible formatting character in the quoted local part');
    expect(problem('MAIL FROM:<"jo\\öhn"@x>')).toBe('a backslash in the quoted local part quotes only a printable ASCII character');
    expect(problem('MAIL FROM:<"john".doe@x>')).toBe('the quoted local part must be followed by @ and the domain');
    expect(problem('MAIL FROM:<"john">')).toBe('the quoted local part must be followed by @ and the domain');
  });
});
