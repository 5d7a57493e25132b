/** Connection limits shared by every listener of the service: in total and per client address. */

export type Admission = 'ok' | 'total' | 'per-ip';

export class ConnectionLimiter {
  #total = 0;
  readonly #perIp = new Map<string, number>();

  constructor(
    private maxTotal: number,
    private maxPerIp: number,
  ) {}

  /** Count a new session from `ip`, unless that would pass a limit. */
  admit(ip: string): Admission {
    if (this.#total >= this.maxTotal) return 'total';
    const fromIp = this.#perIp.get(ip) ?? 0;
    if (fromIp >= this.maxPerIp) return 'per-ip';
    this.#total++;
    this.#perIp.set(ip, fromIp + 1);
    return 'ok';
  }

  /** Forget a session admitted from `ip`. */
  release(ip: string): void {
    const fromIp = this.#perIp.get(ip);
    if (fromIp === undefined) return;
    this.#total--;
    if (fromIp <= 1) this.#perIp.delete(ip);
    else this.#perIp.set(ip, fromIp - 1);
  }

  setLimits(maxTotal: number, maxPerIp: number): void {
    this.maxTotal = maxTotal;
    this.maxPerIp = maxPerIp;
  }

  get total(): number {
    return this.#total;
  }
}
