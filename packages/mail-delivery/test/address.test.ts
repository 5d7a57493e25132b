/** Quoted local parts as smtp and pop3's XSEND read them, and the mailbox an address names. */
import { describe, expect, it } from 'vitest';
import { readQuotedString, unquotedAddress } from '@hearth/mail-delivery';

describe('readQuotedString', () => {
  it('finds the closing quote past spaces, quoted-pairs, @ and UTF-8 beyond ASCII', () => {
    expect(readQuotedString('"john doe"@example.com', 0)).toEqual({ kind: 'quoted', close: 9 });
    expect(readQuotedString('<"a\\"b@c"@x>', 1)).toEqual({ kind: 'quoted', close: 8 });
    expect(readQuotedString('""', 0)).toEqual({ kind: 'quoted', close: 1 });
    expect(readQuotedString('"jöhn" rest', 0)).toEqual({ kind: 'quoted', close: 5 });
    expect(readQuotedString('"a\\ b"', 0)).toEqual({ kind: 'quoted', close: 5 });
  });

  it('names what is wrong with bad quoting', () => {
    const problem = (text: string): string | undefined => {
      const read = readQuotedString(text, 0);
      return read.kind === 'invalid' ? read.problem : undefined;
    };
    expect(problem('"john@example.com')).toBe('the quoted local part has no closing quote');
    expect(problem('"john\\')).toBe('the quoted local part has no closing quote');
    expect(problem('"john\\"')).toBe('the quoted local part has no closing quote');
    expect(problem('"jo\x00hn"@x')).toBe('a control character in the quoted local part');
    expect(problem('"jo\thn"@x')).toBe('a control character in the quoted local part');
    expect(problem('"jo\\\x7fhn"@x')).toBe('a control character in the quoted local part');
    expect(problem('"jo\u0085hn"@x')).toBe('a control character in the quoted local part');
    expect(problem('"jo\u200bhn"@x')).toBe('an invisible formatting character in the quoted local part');
    expect(problem('"jo\ufeffhn"@x')).toBe('an invisible formatting character in the quoted local part');
    expect(problem('"jo\\öhn"@x')).toBe('a backslash in the quoted local part quotes only a printable ASCII character');
  });
});

describe('unquotedAddress', () => {
  it('takes the quotes and quoted-pairs off a quoted local part, and leaves any other address as it is', () => {
    expect(unquotedAddress('"Al\\ice"@Example.Test')).toBe('Alice@Example.Test');
    expect(unquotedAddress('"a\\"b\\\\c"@x')).toBe('a"b\\c@x');
    expect(unquotedAddress('"a@b"@x')).toBe('a@b@x');
    expect(unquotedAddress('"john doe"@x')).toBe('john doe@x');
    expect(unquotedAddress('""@x')).toBe('@x');
    expect(unquotedAddress('alice@x')).toBe('alice@x');
    expect(unquotedAddress('postmaster')).toBe('postmaster');
  });

  it('unquotes a quoted local part without a domain', () => {
    expect(unquotedAddress('"bob"')).toBe('bob');
    expect(unquotedAddress('"b\\ob"')).toBe('bob');
    expect(unquotedAddress('"a@b"')).toBe('a@b');
  });

  it('leaves an address whose quoting is bad, or with more after the quotes than a domain, as it is', () => {
    expect(unquotedAddress('"alice@x')).toBe('"alice@x');
    expect(unquotedAddress('"al\x00ice"@x')).toBe('"al\x00ice"@x');
    expect(unquotedAddress('"john".doe@x')).toBe('"john".doe@x');
    expect(unquotedAddress('a"b"@x')).toBe('a"b"@x');
  });
});
