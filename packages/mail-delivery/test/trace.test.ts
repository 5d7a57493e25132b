/** Trace headers as an MTA writes them (RFC 5321 section 4.4). */
import { describe, expect, it } from 'vitest';
import { rfc5322Date, traceHeaders } from '@hearth/mail-delivery';

const base = {
  helo: 'client.example',
  remoteAddress: '192.0.2.7',
  by: 'mx.example.test',
  protocol: 'ESMTPS',
  id: 'abc.1',
  sender: 'a@example.org',
  recipients: ['alice@localhost'],
  date: new Date(Date.UTC(2025, 10, 21, 5, 4, 3)),
};

describe('trace headers', () => {
  it('writes Return-Path and a folded Received with for <rcpt> for one recipient', () => {
    expect(traceHeaders(base)).toBe(
      'Return-Path: <a@example.org>\r\n' +
        'Received: from client.example ([192.0.2.7])\r\n' +
        '\tby mx.example.test (Hearth) with ESMTPS id abc.1\r\n' +
        '\tfor <alice@localhost>; Fri, 21 Nov 2025 05:04:03 +0000\r\n',
    );
  });

  it('leaves out `for` with several recipients, the date still after a `;`; writes <> for the null sender and IPv6 literals', () => {
    expect(traceHeaders({ ...base, sender: '', remoteAddress: '::1', recipients: ['a@x', 'b@x'] })).toBe(
      'Return-Path: <>\r\n' +
        'Received: from client.example ([IPv6:::1])\r\n' +
        '\tby mx.example.test (Hearth) with ESMTPS id abc.1;\r\n' +
        '\tFri, 21 Nov 2025 05:04:03 +0000\r\n',
    );
  });

  it('keeps client text from breaking the header', () => {
    const text = traceHeaders({ ...base, helo: 'evil)\r\nX-Injected: 1', sender: 'x>\r\ny@z' });
    expect(text.split('\r\n')).toHaveLength(5);
    expect(text).not.toContain('X-Injected: 1\r\n');
    expect(text).toContain('from evil???X-Injected:?1 ([192.0.2.7])');
  });

  it('keeps a quoted local part as given in Return-Path and for, its space and quoted-pairs included', () => {
    const text = traceHeaders({ ...base, sender: '"john doe"@example.org', recipients: ['"a\\"b (c)"@localhost'] });
    expect(text).toMatch(/^Return-Path: <"john doe"@example\.org>\r\n/);
    expect(text).toContain('\tfor <"a\\"b (c)"@localhost>; ');
  });

  it('cleans a quoted local part that could break the header, and what follows a quoted one', () => {
    const text = traceHeaders({ ...base, sender: '"a\r\nX-Injected: 1"@z', recipients: ['"b"@x>\r\ny'] });
    expect(text.split('\r\n')).toHaveLength(5);
    expect(text).toContain('Return-Path: <"a??X-Injected:?1"@z>\r\n');
    expect(text).toContain('\tfor <"b"@x???y>; ');
  });

  it('formats RFC 5322 dates in UTC', () => {
    expect(rfc5322Date(new Date(Date.UTC(2024, 0, 1, 0, 0, 0)))).toBe('Mon, 1 Jan 2024 00:00:00 +0000');
  });
});
