/**
 * The supervisor, as the page sees it: the control socket (DATA/hearth.sock) through the client
 * of `@hearth/supervisor/control`. A refused reload comes back as its problems, one per line
 * (file:line:column, key, message), as the supervisor reports them.
 */
import { join } from 'node:path';
import { ControlError, SOCKET_NAME, controlRequest } from '@hearth/supervisor/control';
import type { ReloadResult, ServiceResult, ServiceStatus, SettingsResult } from '@hearth/supervisor/control';

export type ServiceAction = 'start' | 'stop' | 'restart';
export const SERVICE_ACTIONS: readonly ServiceAction[] = ['start', 'stop', 'restart'];

export type ReloadOutcome =
  | { readonly kind: 'applied'; readonly result: ReloadResult }
  | { readonly kind: 'refused'; readonly problems: readonly string[] };

/** One line of a service's log ring, as the supervisor keeps it (a JSON line). */
export interface RawLogLine {
  readonly svc: string;
  readonly line: string;
}

/** What the page needs from the supervisor (a fake one in tests of the page alone). */
export interface SupervisorPort {
  status(): Promise<readonly ServiceStatus[]>;
  /** The service's status after it, with what `stop` stopped first and what `start`/`restart` left stopped. */
  act(action: ServiceAction, name: string): Promise<ServiceResult>;
  reload(): Promise<ReloadOutcome>;
  /** A service's validated settings and the config file they came from. */
  settings(name: string): Promise<SettingsResult>;
  logs(name: string | undefined, lines: number): Promise<readonly RawLogLine[]>;
  /** Recent lines, then every new one until `signal` aborts. */
  follow(name: string | undefined, lines: number, onLine: (l: RawLogLine) => void, signal: AbortSignal): Promise<void>;
}

const TIMEOUT_MS = 60_000;

export function controlSocket(dataDir: string): SupervisorPort {
  const socket = join(dataDir, SOCKET_NAME);
  return {
    status: async () => (await controlRequest(socket, { verb: 'status' }, { timeoutMs: 10_000 })) as ServiceStatus[],
    act: async (action, name) => (await controlRequest(socket, { verb: action, name }, { timeoutMs: TIMEOUT_MS })) as ServiceResult,
    async reload() {
      try {
        return { kind: 'applied', result: (await controlRequest(socket, { verb: 'reload' }, { timeoutMs: TIMEOUT_MS })) as ReloadResult };
      } catch (error) {
        if (error instanceof ControlError) return { kind: 'refused', problems: error.message.split('\n').filter((l) => l !== '') };
        throw error;
      }
    },
    settings: async (name) => (await controlRequest(socket, { verb: 'settings', name }, { timeoutMs: 10_000 })) as SettingsResult,
    async logs(name, lines) {
      const out: RawLogLine[] = [];
      await controlRequest(socket, { verb: 'logs', lines, ...(name !== undefined ? { name } : {}) }, { timeoutMs: 10_000, onLog: (svc, line) => out.push({ svc, line }) });
      return out;
    },
    async follow(name, lines, onLine, signal) {
      await controlRequest(socket, { verb: 'logs', lines, follow: true, ...(name !== undefined ? { name } : {}) }, { signal, onLog: (svc, line) => onLine({ svc, line }) });
    },
  };
}
