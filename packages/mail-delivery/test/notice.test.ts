/** The new-mail notice's one check: what passes, what is rejected, and the batch envelope. */
import { describe, expect, it } from 'vitest';
import { batches, MAX_BATCH, newMailOf, readNotices, type HearthNotice } from '@hearth/mail-delivery';

const hearth: HearthNotice = { source: 'hearth', user: 'alice', maildrop: 'INBOX', messageId: 7, uid: 3, uidl: '0000000300000001', size: 42 };
const comsat = { source: 'comsat', user: 'bob', maildrop: '/home/bob/Mail/lists' } as const;

describe('newMailOf', () => {
  it('passes a hearth notice and a comsat notice as the very objects given', () => {
    expect(newMailOf(hearth)).toBe(hearth);
    expect(newMailOf(comsat)).toBe(comsat);
  });

  it('gives the user name back in lower case (a copy, the rest unchanged)', () => {
    const upper = { ...comsat, user: 'Bob' };
    expect(newMailOf(upper)).toEqual(comsat);
    expect(newMailOf({ ...hearth, user: 'ALICE' })).toEqual(hearth);
  });

  it.each([
    ['null', null],
    ['a string', 'alice'],
    ['a list', [hearth]],
    ['no source', { ...hearth, source: undefined }],
    ['an unknown source', { ...hearth, source: 'imap' }],
    ['no user', { ...comsat, user: undefined }],
    ['a user no Hearth account can have', { ...comsat, user: 'bad user' }],
    ['a user ending in a dot', { ...comsat, user: 'alice.' }],
    ['no maildrop', { ...comsat, maildrop: undefined }],
    ['an empty maildrop', { ...comsat, maildrop: '' }],
    ['a hearth notice naming no message', { source: 'hearth', user: 'alice', maildrop: 'INBOX' }],
    ['message id 0', { ...hearth, messageId: 0 }],
    ['uid 0', { ...hearth, uid: 0 }],
    ['a fractional uid', { ...hearth, uid: 1.5 }],
    ['a negative size', { ...hearth, size: -1 }],
    ['a size as text', { ...hearth, size: '42' }],
    ['a UIDL with a space', { ...hearth, uidl: 'a b' }],
    ['a UIDL of 71 characters', { ...hearth, uidl: 'x'.repeat(71) }],
    ['an empty UIDL', { ...hearth, uidl: '' }],
  ])('rejects %s', (_what, value) => {
    expect(newMailOf(value)).toBeUndefined();
  });
});

describe('readNotices', () => {
  it('reads one notice, or a batch of them', () => {
    expect(readNotices(hearth)).toEqual({ notices: [hearth], rejected: 0 });
    expect(readNotices({ batch: [hearth, comsat] })).toEqual({ notices: [hearth, comsat], rejected: 0 });
  });

  it('counts the bad entries of a batch and keeps the good ones', () => {
    const { notices, rejected } = readNotices({ batch: [hearth, { ...hearth, uid: 0 }, 'junk', null, comsat] });
    expect(notices).toEqual([hearth, comsat]);
    expect(rejected).toBe(3);
  });

  it('counts a bad payload once', () => {
    expect(readNotices(undefined)).toEqual({ notices: [], rejected: 1 });
    expect(readNotices({ batch: 'many' })).toEqual({ notices: [], rejected: 1 });
    expect(readNotices({ user: 'alice' })).toEqual({ notices: [], rejected: 1 });
  });
});

describe('batches', () => {
  it('sends a lone notice as it is, more in batches of at most MAX_BATCH', () => {
    expect([...batches([hearth])]).toEqual([hearth]);
    const many = Array.from({ length: 2 * MAX_BATCH + 1 }, (_, i) => ({ ...hearth, messageId: i + 1 }));
    const payloads = [...batches(many)] as Array<{ batch: HearthNotice[] }>;
    expect(payloads.map((p) => p.batch.length)).toEqual([MAX_BATCH, MAX_BATCH, 1]);
    expect(payloads.flatMap((p) => readNotices(p).notices)).toEqual(many);
  });
});
