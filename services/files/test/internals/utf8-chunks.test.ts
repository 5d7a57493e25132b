/**
 * White-box tests of `Utf8Chunks`: what is taken out is the UTF-8 of what was appended, whatever
 * the characters, past the first size of its buffer; each piece taken keeps its bytes while the
 * buffer is reused; bytes kept from an append are that append's own and go in again as they are.
 */
import { describe, expect, it } from 'vitest';
import { Utf8Chunks } from '../../dist/utf8-chunks.js';

describe('Utf8Chunks', () => {
  it('gives the UTF-8 of every kind of character, growing past its first size', () => {
    const chunks = new Utf8Chunks(8);
    const parts = ['<D:href>/a</D:href>', 'Grüße', '日本語のファイル', '🎵 music', 'x'.repeat(5000), '&amp;'];
    for (const p of parts) chunks.append(p);
    expect(chunks.length).toBe(Buffer.byteLength(parts.join('')));
    expect(chunks.take().toString('utf8')).toBe(parts.join(''));
    expect(chunks.length).toBe(0);
  });

  it('keeps each piece taken while the buffer is reused', () => {
    const chunks = new Utf8Chunks(16);
    chunks.append('first piece, ünïcödé');
    const first = chunks.take();
    chunks.append('second');
    const second = chunks.take();
    chunks.append('z'.repeat(100));
    expect(first.toString('utf8')).toBe('first piece, ünïcödé');
    expect(second.toString('utf8')).toBe('second');
    expect(chunks.take().toString('utf8')).toBe('z'.repeat(100));
  });

  it('gives the bytes of an append to keep, and takes kept bytes in again as they are', () => {
    const chunks = new Utf8Chunks(8);
    chunks.append('<before>');
    const kept = chunks.appendKept('<D:response>Grüße 🎵</D:response>');
    chunks.append('<after>');
    expect(kept.toString('utf8')).toBe('<D:response>Grüße 🎵</D:response>');
    expect(chunks.take().toString('utf8')).toBe('<before><D:response>Grüße 🎵</D:response><after>');
    // The buffer reused does not touch them.
    chunks.append('y'.repeat(200));
    expect(kept.toString('utf8')).toBe('<D:response>Grüße 🎵</D:response>');
    chunks.take();
    chunks.appendBytes(kept);
    chunks.appendBytes(Buffer.from('x'.repeat(100)));
    chunks.appendBytes(kept);
    expect(chunks.take().toString('utf8')).toBe(`<D:response>Grüße 🎵</D:response>${'x'.repeat(100)}<D:response>Grüße 🎵</D:response>`);
  });

  it('takes nothing out as an empty buffer', () => {
    expect(new Utf8Chunks().take()).toHaveLength(0);
  });
});
