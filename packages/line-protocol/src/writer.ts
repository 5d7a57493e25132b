/** Writing replies with back-pressure: a write that fills the socket's buffer waits for 'drain'. */
import type { Writable } from 'node:stream';

/** The connection closed while we were writing or waiting to write. */
export class ConnectionClosedError extends Error {
  override readonly name = 'ConnectionClosedError';
  constructor() {
    super('connection closed');
  }
}

/** Resolves once `stream` can take more data; rejects if it closes or fails first. */
export function drained(stream: Writable): Promise<void> {
  if (stream.destroyed || stream.writableEnded) return Promise.reject(new ConnectionClosedError());
  if (!stream.writableNeedDrain) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (error?: unknown): void => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      stream.off('error', onClose);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onDrain = (): void => done();
    const onClose = (): void => done(new ConnectionClosedError());
    stream.on('drain', onDrain);
    stream.on('close', onClose);
    stream.on('error', onClose);
  });
}

/** Write `data`; if the stream's buffer is full afterwards, wait until it drains. */
export async function writeWithBackpressure(stream: Writable, data: string | Buffer): Promise<void> {
  if (stream.destroyed || stream.writableEnded) throw new ConnectionClosedError();
  if (!stream.write(data)) await drained(stream);
}
