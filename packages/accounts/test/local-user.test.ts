import { describe, expect, it } from 'vitest';
import { localUser } from '@hearth/accounts';

describe('localUser', () => {
  const domains = new Set(['example.test', 'localhost']);

  it('takes the name, or the local part of an address in a mail domain, in lower case', () => {
    expect(localUser('Alice', domains)).toBe('alice');
    expect(localUser(' alice@Example.TEST ', domains)).toBe('alice');
    expect(localUser('alice@localhost', domains)).toBe('alice');
  });

  it('gives nothing for another domain or an empty name', () => {
    expect(localUser('alice@other.example', domains)).toBeUndefined();
    expect(localUser('alice@', domains)).toBeUndefined();
    expect(localUser('@example.test', domains)).toBeUndefined();
    expect(localUser('  ', domains)).toBeUndefined();
  });
});
