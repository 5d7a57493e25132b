/**
 * The store's background thread (a `worker_threads` Worker with its own SQLite connection). In
 * role `commit` it runs the group-committed delivery transactions, so their WAL fsync blocks this
 * thread and never the caller's event loop; in role `checkpoint` it copies the WAL back into the
 * database when asked, concurrently with the committer (a PASSIVE checkpoint never blocks writers).
 *
 * Protocol: requests `{ id, type, ... }`, each answered with `{ id, ... }` in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { MailStoreError, storageError } from './errors.js';
import { MessageTable } from './messages.js';
import type { CommitItem, ItemResult, WireError, WorkerConfig, WorkerReply, WorkerRequest } from './commit-protocol.js';

function toWire(error: unknown, doing: string): WireError {
  const failure = storageError(error, doing);
  return { code: failure.code, message: failure.message };
}

function open(config: WorkerConfig): Db {
  const db = new Database(config.file, { timeout: config.busyTimeoutMs });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  // Checkpoints are the checkpoint thread's job: the committer only appends to the WAL.
  if (config.role === 'commit') {
    db.pragma('wal_autocheckpoint = 0');
    // When the committer starts the WAL over, it cuts the file back to this size.
    db.pragma('journal_size_limit = 67108864');
  }
  return db;
}

function committer(db: Db): (items: readonly CommitItem[]) => ItemResult[] {
  const messages = new MessageTable(db);
  const one = db.transaction((item: CommitItem) =>
    messages.insertDelivery(
      item.users,
      item.file !== undefined
        ? { file: item.file, size: item.size }
        : { data: Buffer.from((item.data as Uint8Array).buffer, (item.data as Uint8Array).byteOffset, (item.data as Uint8Array).byteLength), size: item.size },
      item.arrivedAt,
    ),
  );
  const all = db.transaction((items: readonly CommitItem[]) =>
    items.map((item): ItemResult => {
      try {
        return { ok: true, value: one(item) };
      } catch (error) {
        // A user deleted meanwhile fails that delivery alone (its savepoint rolled back).
        if (error instanceof MailStoreError) return { ok: false, error: { code: error.code, message: error.message } };
        throw error;
      }
    }),
  );
  return (items) => all.immediate(items);
}

function serve(): void {
  const port = parentPort;
  if (port === null) throw new Error('commit-worker runs only as a worker thread');
  const config = workerData as WorkerConfig;
  let db: Db;
  let commit: (items: readonly CommitItem[]) => ItemResult[];
  try {
    db = open(config);
    commit = committer(db);
  } catch (error) {
    const failure = toWire(error, 'opening the store in its commit thread');
    port.on('message', (request: WorkerRequest) => port.postMessage({ id: request.id, error: failure } satisfies WorkerReply));
    return;
  }
  port.on('message', (request: WorkerRequest) => {
    let reply: WorkerReply;
    try {
      switch (request.type) {
        case 'commit':
          reply = { id: request.id, results: commit(request.items) };
          break;
        case 'checkpoint': {
          const [row] = db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
          let walFrames = row?.log ?? 0;
          // Under sustained load the WAL never drains completely; past the limit, wait for the
          // committer once (RESTART) so the next commit starts the WAL from the beginning again.
          if (walFrames > request.restartAbove) {
            const [restarted] = db.pragma('wal_checkpoint(RESTART)') as { log: number }[];
            walFrames = restarted?.log ?? walFrames;
          }
          reply = { id: request.id, walFrames };
          break;
        }
        case 'autocheckpoint':
          db.pragma(`wal_autocheckpoint = ${Math.max(0, Math.floor(request.pages))}`);
          reply = { id: request.id, done: true };
          break;
        case 'close':
          db.close();
          port.postMessage({ id: request.id, done: true } satisfies WorkerReply);
          port.close();
          return;
      }
    } catch (error) {
      reply = { id: request.id, error: toWire(error, request.type === 'commit' ? 'committing deliveries' : `running ${request.type}`) };
    }
    port.postMessage(reply);
  });
}

serve();
