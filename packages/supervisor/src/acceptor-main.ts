/**
 * `node acceptor-main.js`: the process the supervisor runs for a `type: per-connection` service
 * (see acceptor.ts). The only place here that reads the environment and exits.
 */
import { createLogger, flushLogger } from '@hearth/log';
import type { BoundHandle, ServiceMessage, SupervisorMessage } from '@hearth/runtime';
import { Acceptor } from './acceptor.js';

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;
const IGNORED = ['SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGPIPE'] as const;

async function main(): Promise<number> {
  const log = createLogger({ svc: process.env['HEARTH_SERVICE'] ?? 'per-connection', pretty: false, destination: 1 });
  if (typeof process.send !== 'function') {
    process.stderr.write('acceptor: runs only under hearth up (type: per-connection)\n');
    return 64;
  }
  const acceptor = new Acceptor(
    {
      send: (m: ServiceMessage) => {
        if (process.connected) process.send?.(m);
      },
    },
    log,
  );
  process.on('message', (m: SupervisorMessage, h: unknown) => acceptor.onMessage(m, h as BoundHandle | undefined));
  process.on('disconnect', () => void acceptor.stop(Date.now() + 1000));
  for (const s of STOP_SIGNALS) process.on(s, () => void acceptor.stop(Date.now() + 5000));
  for (const s of IGNORED) process.on(s, () => {});
  const code = await acceptor.done;
  await flushLogger(log, 1000);
  return code;
}

process.exit(await main());
