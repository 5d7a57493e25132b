/**
 * The fast DATA feed against smtp-server's own: for random messages (dot-stuffed lines, lone
 * dots inside lines, bare LFs, the terminator, commands pipelined after it) cut into random
 * chunks, both give the same message bytes, the same byte count and the same commands after it.
 */
import { describe, expect, it } from 'vitest';
import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';

type Feed = SMTPStream['_feedDataStream'];
const ORIGINAL: Feed = SMTPStream.prototype._feedDataStream;
const { installFastDataFeed } = await import('../../dist/data-feed.js');
installFastDataFeed();
const FAST: Feed = SMTPStream.prototype._feedDataStream;

/** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = ['.', '..', '...', '\r\n', '\n', '\r', 'a', 'xyz', '.x', ' .', '\r\n.', '\n..', '\r\n..\r\n', 'line of text '];

function message(random: () => number): Buffer {
  let body = '';
  const parts = Math.floor(random() * 60);
  for (let i = 0; i < parts; i++) body += PIECES[Math.floor(random() * PIECES.length)];
  if (random() < 0.2) body += 'y'.repeat(70).concat('\r\n').repeat(Math.floor(random() * 1000));
  // Sometimes an empty message (the terminator right away); then pipelined commands.
  if (random() < 0.05) body = '';
  const end = body === '' || body.endsWith('\r\n') ? '.\r\n' : '\r\n.\r\n';
  return Buffer.from(`${body}${end}RSET\r\nNOOP\r\n`, 'latin1');
}

function chunks(data: Buffer, random: () => number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; ) {
    const r = random();
    const size = r < 0.4 ? 1 + Math.floor(random() * 6) : r < 0.8 ? 1 + Math.floor(random() * 200) : 1 + Math.floor(random() * 70_000);
    out.push(Buffer.from(data.subarray(at, at + size)));
    at += size;
  }
  return out;
}

async function run(feed: Feed, pieces: readonly Buffer[]): Promise<{ data: string; bytes: number; commands: string[]; ended: boolean }> {
  const parser = new SMTPStream();
  const errors: string[] = [];
  parser.on('error', (err: Error) => errors.push(err.message));
  parser._feedDataStream = feed;
  const commands: string[] = [];
  parser.oncommand = (command: Buffer, callback?: () => void) => {
    commands.push(command.toString('latin1'));
    callback?.();
  };
  const stream = parser.startDataMode();
  const received: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => received.push(chunk));
  // No timer: a feed that never ends fails the test by its timeout, and a slow one (smtp-server's
  // own feed checks every byte in JavaScript) is never compared half-way on a loaded machine.
  const ended = new Promise<boolean>((resolve) => stream.once('end', () => resolve(true)));
  for (const piece of pieces) parser.write(piece);
  const end = await ended;
  const bytes = parser.dataBytes;
  parser.continue();
  // Wait until the parser has read the input's last command line (not a fixed sleep, which a
  // loaded machine outruns), bounded so a parser that stops early still shows in the diff.
  const last = Buffer.concat(pieces).toString('latin1').trimEnd().split(/\r?\n/).at(-1);
  for (const until = Date.now() + 10_000; commands.at(-1) !== last && errors.length === 0 && Date.now() < until; ) {
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return { data: Buffer.concat(received).toString('latin1'), bytes, commands: [...commands, ...errors], ended: end };
}

describe('fast DATA feed', () => {
  it('is installed over the original', () => {
    expect(FAST).not.toBe(ORIGINAL);
  });

  it('gives exactly what smtp-server gives, for random messages and random chunkings', async () => {
    for (let seed = 1; seed <= 400; seed++) {
      const random = rng(seed);
      const pieces = chunks(message(random), random);
      const [want, got] = await Promise.all([run(ORIGINAL, pieces), run(FAST, pieces)]);
      expect({ seed, ...got }).toEqual({ seed, ...want });
      expect(want.ended).toBe(true);
    }
  }, 120_000);

  it('unstuffs dots and stops at the terminator across chunk seams', async () => {
    const text = Buffer.from(`${'a'.repeat(20)}\r\n..hidden\r\n${'b'.repeat(20)}\r\n.\r\nQUIT\r\n`, 'latin1');
    for (let cut = 1; cut < text.length; cut++) {
      const got = await run(FAST, [text.subarray(0, cut), text.subarray(cut)]);
      expect(got.data).toBe(`${'a'.repeat(20)}\r\n.hidden\r\n${'b'.repeat(20)}\r\n`);
      expect(got.commands).toEqual(['QUIT']);
    }
  });
});
