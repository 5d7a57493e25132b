/**
 * The header fields a message submitted by one of the suite's users must have (RFC 5322 3.6:
 * Date and From) or should have (Message-ID), added where the message lacks them, as Postfix's
 * cleanup adds them for its own clients (RFC 6409 8.2 and 8.3 let a submission server do so).
 * Mail from elsewhere (MX) is stored as it came.
 *
 * The header section is held back until its end (the first empty line), then passed on with the
 * missing fields in front of it; the body streams through untouched. A header section longer than
 * `MAX_HEADER_BYTES` is passed on as it is, with nothing added.
 */
import { randomBytes } from 'node:crypto';
import { clean, cleanAddress, rfc5322Date } from './trace.js';

export interface Completion {
  readonly date: Date;
  /** The right-hand side of a new Message-ID: our host name. */
  readonly host: string;
  /** The address a missing From names (the sender's); none: From is not added. */
  readonly from?: string;
}

/** How much of a message is held back to find the end of its header section. */
export const MAX_HEADER_BYTES = 256 * 1024;

/**
 * The most `completeHeaders` adds to a message (a size cap on the whole must allow for it): a
 * 255-octet host in Message-ID and a sender of 253 characters, three octets each in UTF-8, in From.
 */
export const MAX_COMPLETION_BYTES = 2048;

/** `body` with the header fields it lacks added (see above). */
export async function* completeHeaders(body: AsyncIterable<Uint8Array>, completion: Completion): AsyncGenerator<Buffer> {
  const iterator = body[Symbol.asyncIterator]();
  try {
    yield* completed(iterator, completion);
  } finally {
    // Ended early (the store gave up): the source is let go of as a for-await would.
    await iterator.return?.();
  }
}

async function* completed(iterator: AsyncIterator<Uint8Array>, completion: Completion): AsyncGenerator<Buffer> {
  const held: Buffer[] = [];
  let size = 0;
  for (;;) {
    const next = await iterator.next();
    const done = next.done === true;
    if (!done) {
      const chunk = asBuffer(next.value);
      held.push(chunk);
      size += chunk.length;
    }
    const head = held.length === 1 ? held[0]! : Buffer.concat(held, size);
    const section = headerSection(head, done);
    const tooLong = (section?.end ?? size) > MAX_HEADER_BYTES;
    if (section !== undefined || tooLong) {
      const added = section === undefined || tooLong ? '' : missingFields(head.subarray(0, section.end), completion) + (section.bodyOnly ? '\r\n' : '');
      // UTF-8: a sender beyond ASCII (SMTPUTF8, RFC 6532) is written as the client sent it.
      if (added !== '') yield Buffer.from(added, 'utf8');
      if (head.length > 0) yield head;
      if (done) return;
      for (let rest = await iterator.next(); rest.done !== true; rest = await iterator.next()) yield asBuffer(rest.value);
      return;
    }
  }
}

/** The same bytes as a Buffer (no copy). */
const asBuffer = (bytes: Uint8Array): Buffer => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));

/** A header field's first line: a field name (printable, no colon) and a colon. */
const FIELD_START = /^[\x21-\x39\x3b-\x7e]+:/;

/**
 * The header section of what has arrived of a message, once it can be told: its end (the offset
 * of the empty line after it, or of the end of the message), and whether the message has none
 * at all (its first line is not a header field: the fields added need an empty line after them).
 * Undefined while more is needed; `ended`: nothing more comes.
 */
function headerSection(head: Buffer, ended: boolean): { end: number; bodyOnly: boolean } | undefined {
  const firstEnd = head.indexOf(0x0a);
  if (firstEnd === -1 && !ended) return undefined;
  const first = head.subarray(0, firstEnd === -1 ? head.length : firstEnd).toString('latin1').replace(/\r$/, '');
  if (first === '') return { end: 0, bodyOnly: false };
  if (!FIELD_START.test(first)) return { end: 0, bodyOnly: head.length > 0 };
  for (let i = firstEnd; i !== -1; i = head.indexOf(0x0a, i + 1)) {
    if (head[i + 1] === 0x0a) return { end: i + 1, bodyOnly: false };
    if (head[i + 1] === 0x0d && head[i + 2] === 0x0a) return { end: i + 1, bodyOnly: false };
  }
  return ended ? { end: head.length, bodyOnly: false } : undefined;
}

/** The lines to add for the fields `header` (the header section) lacks, CRLF-terminated. */
function missingFields(header: Buffer, completion: Completion): string {
  const names = new Set<string>();
  for (const line of header.toString('latin1').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && line[0] !== ' ' && line[0] !== '\t') names.add(line.slice(0, colon).trim().toLowerCase());
  }
  // What the config and the envelope give is checked already; still, nothing in them can end a line.
  let added = '';
  if (!names.has('date')) added += `Date: ${rfc5322Date(completion.date)}\r\n`;
  if (!names.has('message-id')) added += `Message-ID: <${completion.date.getTime().toString(36)}.${randomBytes(8).toString('hex')}@${clean(completion.host)}>\r\n`;
  if (completion.from !== undefined && completion.from !== '' && !names.has('from')) added += `From: <${cleanAddress(completion.from)}>\r\n`;
  return added;
}
