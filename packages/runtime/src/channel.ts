/** The IPC channel to the supervisor, as the runtime uses it (a fake one in tests). */
import type { BoundHandle } from './bound-handle.js';
import type { ServiceMessage, SupervisorMessage } from './protocol.js';

export interface ServiceChannel {
  readonly connected: boolean;
  /** Queue a message; `callback` runs once it is written (or failed). Returns false when Node buffers. */
  send(message: ServiceMessage, callback?: (err: Error | null) => void): boolean;
  /** Returns a function that removes the handler. */
  onMessage(handler: (message: SupervisorMessage, handle: BoundHandle | undefined) => void): () => void;
  onDisconnect(handler: () => void): () => void;
}

/** The process's own IPC channel (Node `ipc` stdio), or undefined when there is none. */
export function processChannel(): ServiceChannel | undefined {
  if (typeof process.send !== 'function') return undefined;
  return {
    get connected() {
      return process.connected;
    },
    send(message, callback) {
      if (!process.connected || !process.send) {
        callback?.(new Error('IPC channel closed'));
        return false;
      }
      return process.send(message, undefined, {}, (err: Error | null) => callback?.(err));
    },
    onMessage(handler) {
      const listener = (m: unknown, h: unknown) => {
        if (m !== null && typeof m === 'object' && typeof (m as { t?: unknown }).t === 'string') {
          handler(m as SupervisorMessage, h as BoundHandle | undefined);
        }
      };
      process.on('message', listener);
      return () => process.off('message', listener);
    },
    onDisconnect(handler) {
      process.on('disconnect', handler);
      return () => process.off('disconnect', handler);
    },
  };
}
