/**
 * A file's bytes sent as a response body straight from its open descriptor (opened and checked
 * inside its share by the handler; the body owns it from then on): its byte ranges, with pieces of
 * the response's own between them (the part headers of a multipart/byteranges answer). 2 MiB
 * reads into at most two buffers that are reused once the socket has taken them, so a download of
 * any size, of one range or many, holds 4 MiB at most and allocates nothing per chunk; the buffers
 * go on to later downloads (a few are kept while no download needs them). Reading
 * pauses while the response needs to drain (back-pressure) and stops when the client goes away.
 */
import { read } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { closeQuick } from './quick-calls.js';

/** An inclusive byte range of the file (`end` is `start - 1` for none), or bytes of the response's own. */
export type FilePart = { readonly kind: 'range'; readonly start: number; readonly end: number } | { readonly kind: 'bytes'; readonly bytes: Buffer };

/** The bytes `parts` make up. */
export function lengthOfParts(parts: readonly FilePart[]): number {
  let length = 0;
  for (const part of parts) length += part.kind === 'bytes' ? part.bytes.length : part.end - part.start + 1;
  return length;
}

/** What a handler returns to send a file: its open descriptor and the parts of the body. */
export class FileBody {
  #open = true;
  /** The body's length in bytes. */
  readonly length: number;

  constructor(
    readonly fd: number,
    readonly parts: readonly FilePart[],
  ) {
    this.length = lengthOfParts(parts);
  }

  /** The file's bytes from `start` to `end` inclusive (`start - 1` for none). */
  static range(fd: number, start: number, end: number): FileBody {
    return new FileBody(fd, [{ kind: 'range', start, end }]);
  }

  /** Close the descriptor (once; also when the body is never sent). */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    closeQuick(this.fd);
  }
}

/**
 * 2 MiB: sending 1 GiB over loopback took 460-470 ms of the service's CPU time with 2 MiB reads
 * against 520 with 1 MiB (ten rounds alternating with nginx, twice), and went 1.07 and 1.18 times
 * as fast as the 1 MiB build in the benchmark's two full runs (bench/files README); 256 KiB reads
 * took 800 ms, 4 MiB 440-460, 8 MiB 530. With page-aligned buffers (below), against 2 MiB in
 * alternating GETs, 4 MiB took 1.03 times the CPU time, 1 MiB 1.22, 512 KiB (four buffers) 1.15
 * and 256 KiB (eight) 1.63. Reading waits for the response to drain, so only a second buffer is
 * filled while the first goes out (with four allowed, two were ever used).
 */
const CHUNK = 2 * 1024 * 1024;
const BUFFERS = 2;

/**
 * Full-size buffers no download is using, for the next ones: at most `IDLE_KEPT` (8 MiB). A new
 * aligned buffer costs its mapping and its pages zeroed, more than malloc's, which malloc hands out
 * again: a download smaller than a read (a 100 KiB file) takes a buffer of its size from malloc as
 * before, where an aligned one made its GET take a quarter more CPU time and a full-size aligned
 * one three times as much.
 */
const idle: Buffer[] = [];
const IDLE_KEPT = 4;

/** A buffer for reads of up to `size` bytes: a full-size one is page-aligned, idle or new. */
function takeBuffer(size: number): Buffer {
  if (size < CHUNK) return Buffer.allocUnsafeSlow(size);
  return idle.pop() ?? pageAlignedBuffer(CHUNK);
}

/** `buffer` is no longer read into nor being written: a full-size one is kept for another download while there is room. */
function giveBack(buffer: Buffer): void {
  if (buffer.length === CHUNK && idle.length < IDLE_KEPT) idle.push(buffer);
}

/**
 * A buffer of `size` bytes whose memory starts on a page boundary: V8 reserves a resizable
 * ArrayBuffer's memory as whole pages (to grow it in place), where `Buffer.allocUnsafeSlow` takes
 * it from malloc, 16 bytes past a page while malloc maps a block this large by itself. On this
 * machine's AMD EPYC the kernel copied a file from the page cache into a buffer 16 bytes past a
 * page at less than half the speed it copied it to a page boundary (bench/files alignment.mjs),
 * and a 1 GiB GET took the service 1.3 to 1.5 times the CPU time (README there, "Aligned buffers").
 */
function pageAlignedBuffer(size: number): Buffer {
  return Buffer.from(new ResizableArrayBuffer(size, { maxByteLength: size }));
}

/** `ArrayBuffer` with ES2024's `maxByteLength` (in V8 since Node 20; the project's TypeScript lib is ES2023). */
const ResizableArrayBuffer = ArrayBuffer as unknown as new (length: number, options: { readonly maxByteLength: number }) => ArrayBuffer;

/** Write `body` to `res` and end it; resolves when the last byte was handed to the socket. */
export function sendFile(res: ServerResponse, body: FileBody, count: (bytes: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const { fd, parts } = body;
    let largest = 1;
    for (const part of parts) if (part.kind === 'range') largest = Math.max(largest, part.end - part.start + 1);
    const size = Math.min(CHUNK, largest);
    /** This download's buffers that no read or write uses now. */
    const free: Buffer[] = [];
    let allocated = 0;
    /** The part being sent, its next byte to read and how many of its bytes are left to read. */
    let index = -1;
    let position = 0;
    let left = 0;
    let reading = false;
    let writing = 0;
    let state: 'running' | 'ended' | 'failed' = 'running';

    const finish = (err?: Error): void => {
      if (state !== 'running') return;
      state = err ? 'failed' : 'ended';
      res.off('drain', pump);
      res.off('close', gone);
      // The descriptor is closed once no read is using it.
      const closeFd = (): void => body.close();
      if (reading) pendingClose = closeFd;
      else closeFd();
      for (const buffer of free.splice(0)) giveBack(buffer);
      if (err) reject(err);
      else {
        res.end();
        resolve();
      }
    };
    let pendingClose: (() => void) | undefined;
    const gone = (): void => finish(res.writableFinished ? undefined : new Error('client went away'));

    /** Hand `bytes` to the socket; `buffer` (that `bytes` lies in) is read into again once it has taken them. */
    function send(bytes: Buffer, buffer?: Buffer): void {
      writing++;
      count(bytes.length);
      res.write(bytes, (err) => {
        writing--;
        if (err) return finish(err);
        if (buffer === undefined) return pump();
        if (state !== 'running') return giveBack(buffer);
        free.push(buffer);
        pump();
      });
    }

    function pump(): void {
      while (state === 'running' && !reading) {
        if (left === 0 && index === parts.length - 1) {
          if (writing === 0) finish();
          return;
        }
        if (res.writableNeedDrain) return;
        if (left === 0) {
          const part = parts[++index]!;
          if (part.kind === 'bytes') send(part.bytes);
          else {
            position = part.start;
            left = part.end - part.start + 1;
          }
          continue;
        }
        let buf = free.pop();
        if (buf === undefined) {
          if (allocated >= BUFFERS) return;
          allocated++;
          buf = takeBuffer(size);
        }
        const chunk = buf;
        reading = true;
        read(fd, chunk, 0, Math.min(size, left), position, (err, n) => {
          reading = false;
          if (pendingClose) {
            pendingClose();
            pendingClose = undefined;
          }
          if (state !== 'running') return giveBack(chunk);
          if (err !== null || n === 0) {
            giveBack(chunk);
            return finish(err ?? new Error('the file became shorter while it was sent'));
          }
          position += n;
          left -= n;
          send(n === chunk.length ? chunk : chunk.subarray(0, n), chunk);
          pump();
        });
      }
    }

    res.on('drain', pump);
    res.on('close', gone);
    pump();
  });
}
