/**
 * Standalone mode (`hearth run NAME`): one service in the foreground without a supervisor. It
 * binds its own listeners; SIGTERM/SIGINT stop it gracefully, SIGHUP reloads (when given a way
 * to re-read the config). Same lifecycle as supervised mode.
 */
import { createLogger, flushLogger, type Logger } from '@hearth/log';
import { LocalBus } from './bus.js';
import { HandlerTable } from './handler-table.js';
import { reloadInstance, startInstance, stopInstance } from './lifecycle.js';
import { ownListener } from './listeners.js';
import type { ListenerSpec, SuiteSettings } from './protocol.js';
import { bindNow, takeIdentity, type RunAsUser } from './run-as.js';
import type { ServiceDefinition, ServiceListener } from './service.js';
import { installFatalHandlers, installSignalHandlers } from './signals.js';

export interface StandaloneOptions {
  /** The service's name in the config. */
  readonly name: string;
  /** Raw settings, validated here against the definition's schema. */
  readonly settings: unknown;
  readonly suite: SuiteSettings;
  readonly listeners: readonly ListenerSpec[];
  readonly logLevel: string;
  /** Re-read the config for SIGHUP; absent: SIGHUP is logged and ignored. */
  readonly reload?: () => Promise<{ settings: unknown; suite: SuiteSettings }>;
  /** Time allowed to drain on SIGTERM/SIGINT (default 10 s). */
  readonly stopTimeoutMs?: number;
  /** Logger to use (default: `createLogger({ svc: name, level: logLevel, pretty: 'auto' })`). */
  readonly log?: Logger;
  /**
   * Run as this user (the caller is root): every listener is bound first, then the process takes
   * the user's groups, gid and uid, before the service starts (`run-as.ts`). If either fails, the
   * service does not start (exit 1).
   */
  readonly user?: RunAsUser;
}

/** Run `definition` alone. Resolves with the exit code (0 after a signal stop, 78 bad settings). */
export function runStandalone<S>(definition: ServiceDefinition<S>, options: StandaloneOptions): Promise<number> {
  const log = options.log ?? createLogger({ svc: options.name, level: options.logLevel, pretty: 'auto', base: { kind: definition.kind } });
  let state: 'starting' | 'running' | 'stopping' | 'done' = 'starting';
  let stopRequested = false;
  let reloading = Promise.resolve();
  const cleanups: Array<() => void> = [];

  return new Promise<number>((resolve) => {
    const finish = async (code: number): Promise<void> => {
      if (state === 'done') return;
      state = 'done';
      for (const c of cleanups.splice(0)) c();
      await flushLogger(log, 1000);
      resolve(code);
    };

    let stop: () => Promise<void> = async () => finish(0);
    const onStop = (signal: NodeJS.Signals): void => {
      if (state === 'stopping') {
        log.warn({ signal }, 'second stop signal: exiting now');
        void finish(1);
        return;
      }
      log.info({ signal }, 'stop signal');
      stopRequested = true;
      if (state === 'running') void stop();
    };
    const onHangup = (): void => {
      if (!options.reload) {
        log.info({ signal: 'SIGHUP' }, 'signal ignored: no config to reload');
        return;
      }
      reloading = reloading.then(async () => {
        if (state !== 'running') return;
        try {
          const next = await options.reload!();
          const result = await reloadInstance(definition, running!, next.settings, next.suite);
          if (result.ok) log.info('settings reloaded');
          else log.warn({ error: result.error }, 'reload refused');
        } catch (err) {
          log.warn({ error: err instanceof Error ? err.message : String(err) }, 'reload refused');
        }
      });
    };
    cleanups.push(
      installSignalHandlers(() => log, { stop: onStop, hangup: onHangup }),
      installFatalHandlers((err, kind) => {
        log.fatal({ err }, kind);
        void finish(1);
      }),
    );

    let listeners = new Map<string, ServiceListener>();
    if (options.user) {
      try {
        listeners = bindNow(options.listeners);
        takeIdentity(options.user);
      } catch (err) {
        log.fatal({ user: options.user.name }, (err as Error).message);
        void finish(1);
        return;
      }
      log.info({ user: options.user.name, uid: options.user.uid, gid: options.user.gid }, 'listeners bound; running as user');
    } else {
      for (const spec of options.listeners) if (!listeners.has(spec.name)) listeners.set(spec.name, ownListener(spec));
    }
    let running: Awaited<ReturnType<typeof definition.start>> | undefined;
    const handlers = new HandlerTable<unknown>({ onCleanupError: (key, err) => log.error({ key, err }, 'handler cleanup failed') });

    void startInstance(definition, {
      name: options.name,
      rawSettings: options.settings,
      suite: options.suite,
      log,
      listeners,
      bus: new LocalBus(options.name, log),
      handlers,
    }).then((started) => {
      if (state === 'done') return;
      if (!started.ok) return finish(started.code);
      running = started.running;
      stop = async () => {
        state = 'stopping';
        const deadline = Date.now() + (options.stopTimeoutMs ?? 10_000);
        log.info({ deadlineMs: deadline - Date.now() }, 'stopping');
        const clean = await stopInstance(started.running, deadline, log, handlers);
        log.info('stopped');
        await finish(clean ? 0 : 1);
      };
      state = 'running';
      // The ports bound (a port 0 is the one it got), as under the supervisor.
      log.info({ listeners: [...listeners.values()].map(({ spec: l }) => `${l.name} ${l.address}:${l.port}/${l.protocol}`) }, 'ready');
      if (stopRequested) return stop();
      return undefined;
    });
  });
}
