import { describe, expect, it } from 'vitest';
import { completeHeaders, MAX_COMPLETION_BYTES, MAX_HEADER_BYTES, type Completion } from '@hearth/mail-delivery';

const completion: Completion = { date: new Date(Date.UTC(2026, 11, 6, 7, 30, 0)), host: 'mx.example.test', from: 'alice@example.test' };

/** The message completed, given in `chunks` (split anywhere). */
async function completed(chunks: readonly string[], c: Completion = completion): Promise<string> {
  async function* source(): AsyncGenerator<Uint8Array> {
    for (const chunk of chunks) yield Buffer.from(chunk, 'latin1');
  }
  const out: Buffer[] = [];
  for await (const part of completeHeaders(source(), c)) out.push(Buffer.from(part));
  return Buffer.concat(out).toString('latin1');
}

const ADDED = /^Date: Sun, 6 Dec 2026 07:30:00 \+0000\r\nMessage-ID: <[0-9a-z]+\.[0-9a-f]{16}@mx\.example\.test>\r\nFrom: <alice@example\.test>\r\n/;

describe('completeHeaders', () => {
  it('adds Date, Message-ID and From in front of a header section that lacks them, whatever the chunks', async () => {
    const message = 'Subject: hi\r\nTo: bob@example.test\r\n\r\nbody\r\n';
    for (const chunks of [[message], [...message], ['Subj', 'ect: hi\r\nTo: bob@example.test\r', '\n', '\r\nbody\r\n']]) {
      const out = await completed(chunks);
      expect(out).toMatch(ADDED);
      expect(out.replace(ADDED, '')).toBe(message);
    }
  });

  it('adds nothing the message has, in any case, and leaves its bytes as they are', async () => {
    const message = 'date: Fri, 4 Dec 2026 10:00:00 +0100\r\nMESSAGE-ID: <x@y>\r\nFrom: Alice <alice@example.test>\r\n\r\nDate: not a header\r\n';
    expect(await completed([message])).toBe(message);
    // Folded lines are not field names; a body line that looks like one is not read.
    const folded = 'Subject: a\r\n Date: folded\r\n\r\nDate: in the body\r\nMessage-ID: <z@z>\r\n';
    expect(await completed([folded])).toMatch(/^Date: .*\r\nMessage-ID: .*\r\nFrom: .*\r\nSubject: a\r\n Date: folded\r\n\r\n/);
  });

  it('writes a sender with a quoted local part in From as given', async () => {
    const out = await completed(['Subject: x\r\n\r\nbody\r\n'], { ...completion, from: '"alice smith"@example.test' });
    expect(out).toMatch(/\r\nFrom: <"alice smith"@example\.test>\r\nSubject: x\r\n/);
  });

  it('writes a sender beyond ASCII (SMTPUTF8) in UTF-8, within MAX_COMPLETION_BYTES at the longest', async () => {
    const utf8 = Buffer.from(await completed(['\r\nbody\r\n'], { ...completion, from: '"jöhn €"@bücher.example' }), 'latin1').toString('utf8');
    expect(utf8).toMatch(/\r\nFrom: <"jöhn €"@bücher\.example>\r\n\r\nbody\r\n$/);
    const longest = await completed(['\r\n'], { date: completion.date, host: 'h'.repeat(255), from: `"${'€'.repeat(62)}"@${'€'.repeat(188)}` });
    // The longest path smtp-server takes (253 characters), each three octets in UTF-8.
    expect(longest.length - 2).toBeGreaterThan(1024);
    expect(longest.length - 2).toBeLessThanOrEqual(MAX_COMPLETION_BYTES);
  });

  it('adds no From without a sender, and takes bare LF line ends', async () => {
    const out = await completed(['Subject: x\n\nbody\n'], { date: completion.date, host: completion.host });
    expect(out).toMatch(/^Date: .*\r\nMessage-ID: .*\r\nSubject: x\n\nbody\n$/);
  });

  it('puts an empty line after the fields when the message has no header section', async () => {
    expect(await completed(['just a body line\r\nand another\r\n'])).toMatch(/\r\nFrom: <alice@example\.test>\r\n\r\njust a body line\r\nand another\r\n$/);
    expect(await completed(['\r\nbody after an empty line\r\n'])).toMatch(/\r\nFrom: <alice@example\.test>\r\n\r\nbody after an empty line\r\n$/);
    expect(await completed([])).toMatch(new RegExp(`${ADDED.source}$`));
  });

  it('passes a header section longer than its limit as it is', async () => {
    const long = `X-Long: ${'a'.repeat(MAX_HEADER_BYTES)}\r\n\r\nbody\r\n`;
    expect(await completed([long.slice(0, 100_000), long.slice(100_000)])).toBe(long);
  });

  it('keeps what it adds within MAX_COMPLETION_BYTES, and no control character of the host or sender gets in', async () => {
    const out = await completed(['\r\n'], { date: completion.date, host: 'h'.repeat(255), from: `${'a'.repeat(64)}@${'d'.repeat(255)}` });
    expect(out.length - 2).toBeLessThanOrEqual(MAX_COMPLETION_BYTES);
    const hostile = await completed(['\r\n'], { ...completion, host: 'evil\r\nX-Injected: 1', from: 'x>\r\nBcc: y' });
    expect(hostile.split('\r\n')).toHaveLength(5);
    expect(hostile).not.toContain('\r\nX-Injected');
    expect(hostile).not.toContain('\r\nBcc');
  });
});
