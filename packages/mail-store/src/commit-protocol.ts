/** What the store's main thread and its commit and checkpoint threads say to each other. */
import type { Delivery } from './messages.js';

export interface WorkerConfig {
  readonly role: 'commit' | 'checkpoint';
  readonly file: string;
  readonly busyTimeoutMs: number;
}

/** One delivery as it crosses to the thread: a small body's bytes, or a large body's file name. */
export interface CommitItem {
  readonly users: readonly string[];
  readonly file?: string;
  readonly data?: Uint8Array;
  readonly size: number;
  readonly arrivedAt: number;
}

export interface WireError {
  readonly code: string;
  readonly message: string;
}

export type ItemResult = { readonly ok: true; readonly value: Delivery[] } | { readonly ok: false; readonly error: WireError };

export type WorkerRequest =
  | { readonly id: number; readonly type: 'commit'; readonly items: readonly CommitItem[] }
  | { readonly id: number; readonly type: 'checkpoint'; readonly restartAbove: number }
  | { readonly id: number; readonly type: 'autocheckpoint'; readonly pages: number }
  | { readonly id: number; readonly type: 'close' };

export type WorkerReply =
  | { readonly id: number; readonly results: readonly ItemResult[] }
  | { readonly id: number; readonly walFrames: number }
  | { readonly id: number; readonly done: true }
  | { readonly id: number; readonly error: WireError };
