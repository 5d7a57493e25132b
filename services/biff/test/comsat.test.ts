/** The comsat datagram as each sender writes it, and what is refused. */
import { describe, expect, it } from 'vitest';
import { hearthUser, maildropOf, parseComsat } from '@hearth/biff';

const dgram = (text: string): Buffer => Buffer.from(text, 'utf8');

describe('parseComsat: what real senders write', () => {
  it('Postfix local(8): user@offset and a NUL', () => {
    expect(parseComsat(dgram('alice@12345\0'))).toEqual({ ok: true, notice: { user: 'alice', offset: 12345, mailbox: undefined } });
  });

  it('mail.local: user@offset, a newline, a NUL', () => {
    expect(parseComsat(dgram('alice@12345\n\0'))).toEqual({ ok: true, notice: { user: 'alice', offset: 12345, mailbox: undefined } });
  });

  it('procmail, mbox folder: user@offset:/abs/folder (no NUL)', () => {
    const parsed = parseComsat(dgram('alice@4096:/home/alice/Mail/lists'));
    expect(parsed).toEqual({ ok: true, notice: { user: 'alice', offset: 4096, mailbox: '/home/alice/Mail/lists' } });
    if (parsed.ok) expect(maildropOf(parsed.notice)).toBe('/home/alice/Mail/lists');
  });

  it('procmail, Maildir: the offset is empty', () => {
    const parsed = parseComsat(dgram('alice@:/home/alice/Maildir/'));
    expect(parsed).toEqual({ ok: true, notice: { user: 'alice', offset: undefined, mailbox: '/home/alice/Maildir/' } });
  });

  it('the text ends at the first NUL: what follows is ignored', () => {
    expect(parseComsat(dgram('bob@7\0garbage:/etc/passwd'))).toEqual({ ok: true, notice: { user: 'bob', offset: 7, mailbox: undefined } });
  });

  it('the system mailbox, named any way BSD accepts, is the INBOX', () => {
    for (const text of ['alice@1', 'alice@1:alice', 'alice@1:/var/mail/alice', 'alice@1:/var/spool/mail/alice']) {
      const parsed = parseComsat(dgram(text));
      expect(parsed.ok && maildropOf(parsed.notice), text).toBe('INBOX');
    }
    const other = parseComsat(dgram('alice@1:/var/mail/bob'));
    expect(other.ok && maildropOf(other.notice)).toBe('/var/mail/bob');
  });

  it('reads at most maxBytes, as BSD recv(255): a NUL within them is enough', () => {
    const long = Buffer.concat([dgram('carol@99\0'), Buffer.alloc(1000, 0x41)]);
    expect(parseComsat(long)).toEqual({ ok: true, notice: { user: 'carol', offset: 99, mailbox: undefined } });
    const exact = dgram(`dave@1:/${'x'.repeat(255 - 8)}`);
    expect(exact.length).toBe(255);
    expect(parseComsat(exact).ok).toBe(true);
  });
});

describe('parseComsat: refused', () => {
  it.each([
    ['no @', 'alice12345'],
    ['empty user', '@12345'],
    ['letters in the offset', 'alice@12ab'],
    ['a signed offset', 'alice@-5'],
    ['an offset past 2^53', 'alice@99999999999999999999'],
    ['an empty mailbox', 'alice@12:'],
    ['a control character', 'ali\x07ce@12'],
    ['a carriage return inside', 'alice@1\r2'],
    ['nothing at all', ''],
    ['only a NUL', '\0'],
  ])('malformed: %s', (_why, text) => {
    expect(parseComsat(dgram(text))).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('malformed: not UTF-8', () => {
    expect(parseComsat(Buffer.from([0x61, 0x40, 0x31, 0x3a, 0xff, 0xfe]))).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('oversized: the text does not end within the bytes read (truncating could name another user)', () => {
    expect(parseComsat(dgram(`alice@1:/${'x'.repeat(300)}`))).toMatchObject({ ok: false, reason: 'oversized' });
    expect(parseComsat(dgram(`alice@1:/${'x'.repeat(300)}`), 512).ok).toBe(true);
  });
});

describe('hearthUser', () => {
  it('lower-cases and accepts what the mail store accepts', () => {
    expect(hearthUser('Alice')).toBe('alice');
    expect(hearthUser('j.doe-2_x')).toBe('j.doe-2_x');
  });
  it.each(['', '.alice', 'alice.', 'a..b', 'al ice', 'alice@x', 'x'.repeat(65), 'élise'])('refuses %j', (name) => {
    expect(hearthUser(name)).toBeUndefined();
  });
});
