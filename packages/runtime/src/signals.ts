/**
 * Signal hygiene for service processes: every signal a stray `kill` could send is handled on
 * purpose. SIGTERM/SIGINT stop gracefully; SIGHUP reloads (alone) or is ignored (supervised:
 * reloads come over IPC); SIGUSR1/SIGUSR2 are logged and ignored (a SIGUSR1 handler also keeps
 * Node from opening its inspector on 127.0.0.1:9229); SIGPIPE is ignored.
 */
import type { Logger } from '@hearth/log';

export interface SignalActions {
  stop(signal: NodeJS.Signals): void;
  /** SIGHUP; absent: logged and ignored. */
  hangup?(): void;
}

export function installSignalHandlers(log: () => Logger, actions: SignalActions): () => void {
  const handlers: Array<[NodeJS.Signals, () => void]> = [
    ['SIGTERM', () => actions.stop('SIGTERM')],
    ['SIGINT', () => actions.stop('SIGINT')],
    [
      'SIGHUP',
      () => {
        if (actions.hangup) actions.hangup();
        else log().info({ signal: 'SIGHUP' }, 'signal ignored: reloads come from the supervisor');
      },
    ],
    ['SIGUSR1', () => log().warn({ signal: 'SIGUSR1' }, 'signal ignored')],
    ['SIGUSR2', () => log().warn({ signal: 'SIGUSR2' }, 'signal ignored')],
    ['SIGPIPE', () => {}],
  ];
  for (const [sig, h] of handlers) process.on(sig, h);
  return () => {
    for (const [sig, h] of handlers) process.off(sig, h);
  };
}

/** Log and report an uncaught exception or unhandled rejection; returns the uninstaller. */
export function installFatalHandlers(onFatal: (err: unknown, kind: string) => void): () => void {
  const onException = (err: unknown) => onFatal(err, 'uncaught exception');
  const onRejection = (err: unknown) => onFatal(err, 'unhandled rejection');
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
