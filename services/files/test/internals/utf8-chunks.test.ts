/**
 * White-box tests of `Utf8Chunks`: what is taken out is the UTF-8 of what was appended, whatever
 * the characters, past the first size of its buffer; each piece taken keeps its bytes while the
 * buffer is reused; slices of other buffers go in as they are, in their place.
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

  it('takes slices of other buffers in as they are, in their place among the appends', () => {
    const chunks = new Utf8Chunks(8);
    const source = Buffer.from('<a/><b>Grüße</b><c/><d/>');
    const other = Buffer.from('<x/><y/>');
    const b = source.indexOf('<b>');
    const c = source.indexOf('<c/>');
    const d = source.indexOf('<d/>');
    chunks.append('<before>');
    // Slices that follow each other, then one further on, one of another buffer, one before.
    chunks.appendSlice(source, 0, b);
    chunks.appendSlice(source, b, c);
    chunks.appendSlice(source, d, source.length);
    chunks.appendSlice(other, 4, 8);
    chunks.appendSlice(source, 0, b);
    expect(chunks.length).toBe(Buffer.byteLength('<before>') + c + (source.length - d) + 4 + b);
    chunks.append('<after>');
    chunks.appendSlice(other, 0, 4);
    // Bytes of its buffer after a slice may change before it is copied in.
    other.write('????', 4);
    expect(chunks.take().toString('utf8')).toBe('<before><a/><b>Grüße</b><d/><y/><a/><after><x/>');
    expect(chunks.length).toBe(0);
    // A slice after a take, then a growth past the first size.
    chunks.appendSlice(source, b, c);
    chunks.append('z'.repeat(100));
    expect(chunks.take().toString('utf8')).toBe(`<b>Grüße</b>${'z'.repeat(100)}`);
  });

  it('takes nothing out as an empty buffer', () => {
    expect(new Utf8Chunks().take()).toHaveLength(0);
  });
});
