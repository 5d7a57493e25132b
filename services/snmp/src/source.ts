/**
 * Where the agent's figures come from. Under the supervisor: the `hearth.figures` topic on the
 * bus (the supervisor sends a snapshot to every subscriber of it, at least once a second); in
 * tests, any fixture.
 */
import { parseFigures, type FiguresSnapshot } from '@hearth/metrics';
import type { Logger } from '@hearth/log';
import type { MessageBus } from '@hearth/runtime';

export interface FigureSource {
  /** Calls `listener` with every new snapshot; returns the unsubscribe function. */
  subscribe(listener: (figures: FiguresSnapshot) => void): () => void;
}

export const FIGURES_TOPIC = 'hearth.figures';

/** Snapshots published by the supervisor on `hearth.figures`, checked with `parseFigures`. */
export function busFigureSource(bus: MessageBus, log: Logger): FigureSource {
  const listeners = new Set<(figures: FiguresSnapshot) => void>();
  let complained = false;
  bus.on(FIGURES_TOPIC, (payload) => {
    const figures = parseFigures(payload);
    if (typeof figures === 'string') {
      if (!complained) log.error({ problem: figures }, 'figures refused');
      complained = true;
      return;
    }
    for (const l of listeners) l(figures);
  });
  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** A source whose snapshots a test pushes by hand. */
export class FixedFigureSource implements FigureSource {
  readonly #listeners = new Set<(figures: FiguresSnapshot) => void>();
  #last: FiguresSnapshot | undefined;

  subscribe(listener: (figures: FiguresSnapshot) => void): () => void {
    this.#listeners.add(listener);
    if (this.#last) listener(this.#last);
    return () => this.#listeners.delete(listener);
  }

  push(figures: FiguresSnapshot): void {
    this.#last = figures;
    for (const l of this.#listeners) l(figures);
  }
}
