/**
 * Counter reports under runService: the first at ready, none while nothing changes, at most one
 * per interval when something does, the last increments at stop.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CounterSet, declareCounters } from '@hearth/metrics';
import { runService, type BoundHandle, type ServiceChannel, type ServiceDefinition, type ServiceMessage, type SupervisorMessage } from '@hearth/runtime';

const counters = declareCounters({ hits: { id: 1, type: 'counter', description: 'Hits', unit: 'hits' } });

class Channel implements ServiceChannel {
  connected = true;
  readonly sent: ServiceMessage[] = [];
  #handler: ((m: SupervisorMessage, h: BoundHandle | undefined) => void) | undefined;
  send(message: ServiceMessage, callback?: (err: Error | null) => void): boolean {
    this.sent.push(message);
    setImmediate(() => callback?.(null));
    return true;
  }
  onMessage(handler: (m: SupervisorMessage, h: BoundHandle | undefined) => void): () => void {
    this.#handler = handler;
    return () => (this.#handler = undefined);
  }
  onDisconnect(): () => void {
    return () => undefined;
  }
  deliver(m: SupervisorMessage): void {
    this.#handler?.(m, undefined);
  }
  reports(): unknown[] {
    return this.sent.flatMap((m) => (m.t === 'counters' ? [m.values] : []));
  }
  declarations(): unknown[] {
    return this.sent.flatMap((m) => (m.t === 'counters' ? [m.declaration] : []));
  }
}

async function until(pred: () => boolean): Promise<void> {
  const start = Date.now();
  while (!pred()) {
    if (Date.now() - start > 5000) throw new Error('timeout');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('counter reports', () => {
  it('reports at ready (with the declaration), only on change, at most once per interval, and at stop', async () => {
    const live = new CounterSet(counters);
    const definition: ServiceDefinition<object> = {
      kind: 'counting',
      settings: z.strictObject({}),
      counters,
      defaultListeners: [],
      start: async () => ({ counters: live, stop: async () => live.inc('hits', 5) }),
    };
    const channel = new Channel();
    const sink = new Writable({ write: (_c, _e, cb) => cb() });
    const exit = runService(definition, { channel, processHooks: false, env: { HEARTH_COUNTERS_INTERVAL_MS: '100' }, logDestination: sink });
    channel.deliver({ t: 'init', service: 'c', kind: 'counting', settings: {}, suite: { dataDir: '/nonexistent', mail: { domains: [] }, tls: {} }, logLevel: 'error', listeners: [] });
    channel.deliver({ t: 'start' });
    await until(() => channel.reports().length === 1);
    expect(channel.reports()).toEqual([{ hits: 0 }]);
    // Nothing changes: three intervals pass without a report.
    await new Promise((r) => setTimeout(r, 350));
    expect(channel.reports()).toHaveLength(1);
    // Many changes within one interval: one report with the latest value.
    for (let i = 0; i < 50; i++) live.inc('hits');
    await until(() => channel.reports().length === 2);
    expect(channel.reports()[1]).toEqual({ hits: 50 });
    channel.deliver({ t: 'stop', deadlineMs: 1000 });
    expect(await exit).toBe(0);
    expect(channel.reports().at(-1)).toEqual({ hits: 55 });
    expect(channel.reports()).toHaveLength(3);
    // The first report says what the counters are; the others only their values.
    expect(channel.declarations()).toEqual([counters, undefined, undefined]);
  });
});
