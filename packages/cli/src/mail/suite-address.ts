/**
 * Where `hearth mail` connects without --host and --port: the POP3 service of the suite running
 * on the data dir, as its supervisor's `status` answer lists it (the service of kind pop3 and
 * the listeners it holds, each with the port it is bound to): its plain TCP listener (STLS when
 * offered), else its implicit-TLS one. A wildcard address is reached on loopback. With no
 * supervisor there, one that does not answer (no access to its control socket, say), one older
 * than the listeners' `tls` field, or no pop3 service in its suite: the default 127.0.0.1:2110,
 * with the reason kept to be said if the connection fails.
 */
import { join } from 'node:path';
import { localAddress } from '@hearth/files/connect-help';
import { NotRunningError, SOCKET_NAME, controlRequest } from '@hearth/supervisor/control';
import type { ServiceStatus } from '@hearth/supervisor/control';
import { UsageError } from '../command.js';
import type { Pop3Address } from './connect.js';

/** The suite's plain POP3 port, tried when no running suite says where its POP3 service listens. */
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 2110;

/** How long the supervisor gets to answer `status`. */
const STATUS_ANSWER_TIMEOUT_MS = 10_000;

function defaultAddress(because: string): Pop3Address {
  return { host: DEFAULT_HOST, port: DEFAULT_PORT, tls: 'stls', defaultBecause: because };
}

/**
 * The address of the pop3 service of the suite running on `dataDir`. Throws a UsageError when
 * that suite has several pop3 services: which one is meant is for --port to say.
 */
export async function suitePop3Address(dataDir: string): Promise<Pop3Address> {
  let rows: ServiceStatus[];
  try {
    rows = (await controlRequest(join(dataDir, SOCKET_NAME), { verb: 'status' }, { timeoutMs: STATUS_ANSWER_TIMEOUT_MS })) as ServiceStatus[];
  } catch (error) {
    if (error instanceof NotRunningError) return defaultAddress(`no suite is running on ${dataDir}`);
    return defaultAddress(`the supervisor on ${dataDir} did not say where its POP3 service listens (${(error as Error).message})`);
  }
  if (!Array.isArray(rows)) return defaultAddress(`the supervisor on ${dataDir} did not say where its POP3 service listens (its status answer is not a list)`);
  const pop3 = rows.filter((row) => row.kind === 'pop3');
  if (pop3.length === 0) return defaultAddress(`the suite running on ${dataDir} has no pop3 service`);
  if (pop3.length > 1) {
    throw new UsageError(`the suite running on ${dataDir} has ${pop3.length} pop3 services (${pop3.map((s) => s.name).join(', ')}): pass --port PORT (and --host HOST) to choose one`);
  }
  const service = pop3[0]!;
  const bound = (service.listeners ?? []).filter((l) => l.protocol === 'tcp' && l.port !== 0);
  if (bound.some((l) => typeof l.tls !== 'boolean')) {
    return defaultAddress(`the supervisor on ${dataDir} is older than this hearth: its status does not say which listeners are TLS`);
  }
  const plain = bound.find((l) => !l.tls);
  if (plain !== undefined) return { host: localAddress(plain.address), port: plain.port, tls: 'stls', defaultBecause: undefined };
  const implicit = bound.find((l) => l.tls);
  if (implicit !== undefined) return { host: localAddress(implicit.address), port: implicit.port, tls: 'implicit', defaultBecause: undefined };
  return defaultAddress(`pop3 service ${service.name} of the suite running on ${dataDir} holds no TCP listener`);
}
