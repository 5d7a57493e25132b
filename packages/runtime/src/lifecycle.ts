/** The parts of an instance's life shared by supervised and standalone mode. */
import type { Logger } from '@hearth/log';
import type { ZodType } from 'zod';
import type { HandlerTable } from './handler-table.js';
import { EX_CONFIG, type SuiteSettings } from './protocol.js';
import type { MessageBus, RunningService, ServiceDefinition, ServiceListener } from './service.js';

export type Parsed<S> = { readonly ok: true; readonly value: S } | { readonly ok: false; readonly error: string };

/** Validate settings; the error lists every issue as `path: message`. */
export function parseSettings<S>(schema: ZodType<S>, raw: unknown): Parsed<S> {
  const result = schema.safeParse(raw ?? {});
  if (result.success) return { ok: true, value: result.data };
  const error = result.error.issues
    .map((i) => `${i.path.length > 0 ? i.path.map(String).join('.') : 'settings'}: ${i.message}`)
    .join('; ');
  return { ok: false, error: `invalid settings: ${error}` };
}

export type Started<S> =
  | { readonly ok: true; readonly running: RunningService<S> }
  | { readonly ok: false; readonly code: number; readonly permanent: boolean; readonly error: string };

export interface StartInput {
  readonly name: string;
  readonly rawSettings: unknown;
  readonly suite: SuiteSettings;
  readonly log: Logger;
  readonly listeners: ReadonlyMap<string, ServiceListener>;
  readonly bus: MessageBus;
  /** The instance's handler table, drained at stop. */
  readonly handlers?: HandlerTable<unknown>;
}

function isConfigError(err: unknown): boolean {
  return err instanceof Error && err.name === 'ServiceConfigError';
}

/** Parse settings and call `definition.start`. Settings problems are permanent (exit 78). */
export async function startInstance<S>(definition: ServiceDefinition<S>, input: StartInput): Promise<Started<S>> {
  const parsed = parseSettings(definition.settings, input.rawSettings);
  if (!parsed.ok) {
    input.log.error({ error: parsed.error }, 'invalid settings');
    return { ok: false, code: EX_CONFIG, permanent: true, error: parsed.error };
  }
  try {
    const running = await definition.start({
      name: input.name,
      settings: Object.freeze(parsed.value),
      suite: input.suite,
      log: input.log,
      listeners: input.listeners,
      bus: input.bus,
      ...(input.handlers ? { handlers: input.handlers } : {}),
    });
    return { ok: true, running };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (isConfigError(err)) {
      input.log.error({ error: message }, 'configuration error');
      return { ok: false, code: EX_CONFIG, permanent: true, error: message };
    }
    input.log.error({ err }, 'start failed');
    return { ok: false, code: 1, permanent: false, error: message };
  }
}

/** Extra time past the deadline before giving up on a `stop` that never resolves. */
export const STOP_GRACE_MS = 1000;

/**
 * Stop, bounded: resolves true when `running.stop` finished in time without error and the
 * handler table (if any) drained to zero before the deadline.
 */
export async function stopInstance<S>(running: RunningService<S>, deadline: number, log: Logger, handlers?: HandlerTable<unknown>): Promise<boolean> {
  const [stopped, drained] = await Promise.all([stopService(running, deadline, log), drainTable(handlers, deadline, log)]);
  return stopped && drained;
}

async function drainTable(handlers: HandlerTable<unknown> | undefined, deadline: number, log: Logger): Promise<boolean> {
  if (!handlers) return true;
  const result = await handlers.drain(deadline);
  if (!result.drained) log.warn({ left: result.left }, 'handlers still in use at the deadline');
  return result.drained;
}

async function stopService<S>(running: RunningService<S>, deadline: number, log: Logger): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), Math.max(0, deadline - Date.now()) + STOP_GRACE_MS);
  });
  try {
    const outcome = await Promise.race([running.stop(deadline).then(() => 'stopped' as const), timeout]);
    if (outcome === 'timeout') {
      log.warn('stop overran its deadline: exiting anyway');
      return false;
    }
    return true;
  } catch (err) {
    log.error({ err }, 'stop failed');
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Apply new settings in place. */
export async function reloadInstance<S>(
  definition: ServiceDefinition<S>,
  running: RunningService<S>,
  rawSettings: unknown,
  suite: SuiteSettings,
): Promise<{ ok: true } | { ok: false; error: string }> {
  const parsed = parseSettings(definition.settings, rawSettings);
  if (!parsed.ok) return parsed;
  if (!running.reload) return { ok: false, error: 'this service cannot apply settings in place: restart it' };
  try {
    await running.reload(Object.freeze(parsed.value), suite);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}
