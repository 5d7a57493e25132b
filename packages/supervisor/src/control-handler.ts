/**
 * What each control verb does to a running supervisor (`hearth status`, `start`, `stop`,
 * `restart`, `restart --all`, `logs`, `down`, `reload`; `settings` for the admin page; `config`
 * for `hearth files`): the answer `ControlServer` sends back, or the error it reports as one line.
 */
import type { ControlHandler } from './control-server.js';
import type { ConfigResult, ControlRequest, ServiceResult, SettingsResult } from './control-protocol.js';
import type { LogHub, LogLine } from './log-capture.js';
import type { Supervisor } from './supervisor.js';

export function controlHandler(sup: Supervisor, logs: LogHub): ControlHandler {
  const live = (): void => {
    if (sup.shuttingDown) throw new Error('the supervisor is shutting down');
  };
  const known = (name: string): void => {
    if (!sup.unit(name)) throw new Error(`no service named "${name}"`);
  };
  return {
    async handle(req: ControlRequest): Promise<unknown> {
      switch (req.verb) {
        case 'status':
          return sup.statusWithMemory();
        case 'start':
        case 'stop':
        case 'restart': {
          known(req.name);
          live();
          if (req.verb === 'stop') {
            const stoppedWith = await sup.stopService(req.name);
            return { ...sup.unit(req.name)!.status(), stoppedWith } satisfies ServiceResult;
          }
          const started = await sup.startService(req.name, req.verb);
          return { ...sup.unit(req.name)!.status(), ...started, stillStopped: sup.stillStopped(req.name) } satisfies ServiceResult;
        }
        case 'settings': {
          const cfg = sup.config.services.find((s) => s.name === req.name);
          if (!cfg) throw new Error(`no service named "${req.name}"`);
          const kind = cfg.run.type === 'service' || cfg.run.type === 'module' ? cfg.run.kind : null;
          return { file: sup.config.file ?? null, kind, settings: kind === null ? null : cfg.settings } satisfies SettingsResult;
        }
        case 'restart-all':
          live();
          return sup.restartAll();
        case 'logs':
          if (req.name !== undefined) known(req.name);
          return logs.recent(req.name, req.lines ?? 100);
        case 'down':
          setImmediate(() => void sup.shutdown('hearth down'));
          return { stopping: sup.status().length };
        case 'reload':
          return sup.reload();
        case 'config':
          return { file: sup.config.file ?? null } satisfies ConfigResult;
      }
    },
    follow(name: string | undefined, onLine: (l: LogLine) => void): () => void {
      return logs.follow((l) => {
        if (name === undefined || l.svc === name) onLine(l);
      });
    },
  };
}
