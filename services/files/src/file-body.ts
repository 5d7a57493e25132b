/**
 * A file (or one byte range of it) sent as a response body straight from its open descriptor
 * (opened and checked inside its share by the handler; the body owns it from then on):
 * 2 MiB reads into at most two buffers that are reused once the socket has taken them, so a
 * download of any size holds 4 MiB at most and allocates nothing per chunk. Reading pauses while
 * the response needs to drain (back-pressure) and stops when the client goes away.
 */
import { close, read } from 'node:fs';
import type { ServerResponse } from 'node:http';

/** What a handler returns to send a file: its open descriptor and the inclusive byte range. */
export class FileBody {
  #open = true;

  constructor(
    readonly fd: number,
    readonly start: number,
    /** Inclusive; `start - 1` for an empty body. */
    readonly end: number,
  ) {}

  /** Close the descriptor (once; also when the body is never sent). */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    close(this.fd, () => {});
  }
}

/**
 * 2 MiB: sending 1 GiB over loopback took 460-470 ms of the service's CPU time with 2 MiB reads
 * against 520 with 1 MiB (ten rounds alternating with nginx, twice), and went 1.07 and 1.18 times
 * as fast as the 1 MiB build in the benchmark's two full runs (bench/files README); 256 KiB reads
 * took 800 ms, 4 MiB 440-460, 8 MiB 530. Reading waits for the response to drain, so only a
 * second buffer is filled while the first goes out (with four allowed, two were ever used).
 */
const CHUNK = 2 * 1024 * 1024;
const BUFFERS = 2;

/** Write `body` to `res` and end it; resolves when the last byte was handed to the socket. */
export function sendFile(res: ServerResponse, body: FileBody, count: (bytes: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const fd = body.fd;
    const total = body.end - body.start + 1;
    const size = Math.min(CHUNK, Math.max(1, total));
    const free: Buffer[] = [];
    let allocated = 0;
    let position = body.start;
    let left = total;
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
      if (err) reject(err);
      else {
        res.end();
        resolve();
      }
    };
    let pendingClose: (() => void) | undefined;
    const gone = (): void => finish(res.writableFinished ? undefined : new Error('client went away'));

    function pump(): void {
      while (state === 'running' && !reading && left > 0 && !res.writableNeedDrain) {
        let buf = free.pop();
        if (buf === undefined) {
          if (allocated >= BUFFERS) return;
          allocated++;
          buf = Buffer.allocUnsafeSlow(size);
        }
        const chunk = buf;
        reading = true;
        read(fd, chunk, 0, Math.min(size, left), position, (err, n) => {
          reading = false;
          if (pendingClose) {
            pendingClose();
            pendingClose = undefined;
            return;
          }
          if (state !== 'running') return;
          if (err) return finish(err);
          if (n === 0) return finish(new Error('the file became shorter while it was sent'));
          position += n;
          left -= n;
          writing++;
          count(n);
          res.write(n === chunk.length ? chunk : chunk.subarray(0, n), (writeErr) => {
            writing--;
            if (writeErr) return finish(writeErr);
            free.push(chunk);
            if (left === 0 && writing === 0) finish();
            else pump();
          });
          pump();
        });
      }
    }

    res.on('drain', pump);
    res.on('close', gone);
    if (total <= 0) finish();
    else pump();
  });
}
