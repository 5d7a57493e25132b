/**
 * The listing thread (`listing-thread.ts`): renders batches of folder members (`listing-batch.ts`)
 * as UTF-8 and hands the bytes back, so that a large PROPFIND's XML is made on the second core
 * while the service's thread makes the stat calls of the next batch.
 *
 * Protocol: `{ id, batch }` in, `{ id, bytes }` out (the bytes' buffer transferred), in order.
 */
import { parentPort } from 'node:worker_threads';
import { renderBatch, type MemberBatch } from './listing-batch.js';

export interface RenderRequest {
  readonly id: number;
  readonly batch: MemberBatch;
}

export interface RenderReply {
  readonly id: number;
  readonly bytes: Uint8Array;
}

const port = parentPort;
if (port === null) throw new Error('listing-worker.js runs as a worker thread');
port.on('message', ({ id, batch }: RenderRequest) => {
  // In a buffer of its own (never a pooled slice): it is moved, not copied, to the service's thread.
  const bytes = renderBatch(batch);
  port.postMessage({ id, bytes } satisfies RenderReply, [bytes.buffer as ArrayBuffer]);
});
