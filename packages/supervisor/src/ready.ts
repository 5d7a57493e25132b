/** Readiness checks for plain commands: a TCP port accepting, or a delay. */
import { connect } from 'node:net';
import type { ReadyCheck } from './config.js';

/**
 * Resolves once `check` passes; rejects if `signal` aborts first (the instance exited or the
 * deadline passed). Polls a TCP port every 50 ms.
 */
export function waitReady(check: ReadyCheck | undefined, signal: AbortSignal): Promise<void> {
  if (!check) return Promise.resolve();
  if ('delayMs' in check) return sleep(check.delayMs, signal);
  const { host, port } = check.tcp;
  return (async () => {
    while (!signal.aborted) {
      if (await probe(host, port)) return;
      await sleep(50, signal);
    }
    throw signal.reason as Error;
  })();
}

/**
 * Whether a command's TCP ready check would pass already, before its program is started: then
 * another program holds the port, and the check cannot tell it from the service.
 */
export function readyBeforeStart(check: ReadyCheck | undefined): Promise<boolean> {
  return check !== undefined && 'tcp' in check ? probe(check.tcp.host, check.tcp.port) : Promise.resolve(false);
}

function probe(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
