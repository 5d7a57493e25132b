/**
 * A value kept on each socket under a symbol of its own: what a WeakMap keyed by socket would
 * hold, read without a table's lookup. The socket is in the CPU's cache already when its request
 * is answered, a table is often not: the 4 KB GET answered at once (`cached-get.ts`) reads two of
 * these per request, and its lookups made this way cost it less CPU time (bench/files, "Where the
 * 4 KB time goes").
 */
export class SocketSlot<T> {
  readonly #key: symbol;

  /** `name`: the symbol's description, seen only when debugging. */
  constructor(name: string) {
    this.#key = Symbol(name);
  }

  get(socket: object): T | undefined {
    return (socket as Record<symbol, T | undefined>)[this.#key];
  }

  set(socket: object, value: T): void {
    (socket as Record<symbol, T | undefined>)[this.#key] = value;
  }

  /** Give `socket` this slot, empty, unless it has it already. */
  reserve(socket: object): void {
    if (!(this.#key in socket)) (socket as Record<symbol, T | undefined>)[this.#key] = undefined;
  }

  /** Forget the socket's value (the property stays, undefined: the socket keeps its shape). */
  delete(socket: object): void {
    if (this.get(socket) !== undefined) (socket as Record<symbol, T | undefined>)[this.#key] = undefined;
  }
}
