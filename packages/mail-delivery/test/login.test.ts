import { describe, expect, it } from 'vitest';
import { loginUser } from '@hearth/mail-delivery';

describe('loginUser', () => {
  const domains = new Set(['example.test', 'localhost']);

  it('takes the name, or the local part of an address in a mail domain, in lower case', () => {
    expect(loginUser('Alice', domains)).toBe('alice');
    expect(loginUser(' alice@Example.TEST ', domains)).toBe('alice');
    expect(loginUser('alice@localhost', domains)).toBe('alice');
  });

  it('gives nothing for another domain or an empty name', () => {
    expect(loginUser('alice@other.example', domains)).toBeUndefined();
    expect(loginUser('alice@', domains)).toBeUndefined();
    expect(loginUser('@example.test', domains)).toBeUndefined();
    expect(loginUser('  ', domains)).toBeUndefined();
  });
});
