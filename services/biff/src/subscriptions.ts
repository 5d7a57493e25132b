/**
 * Who wants to hear about whom: a count per (service, instance, user). A service is the sender's
 * config name as the supervisor reports it (`from`); an instance is the subscriber's pid, so a
 * restarted instance can `reset` what it held and two instances overlapping in a restart each keep
 * their own. Routing needs only "which services have at least one subscription for this user".
 */

export type SubscribeResult = 'ok' | 'service-limit' | 'services-limit';

export interface SubscriptionLimits {
  /** Distinct (instance, user) entries per service. */
  readonly perService: number;
  /** Services holding subscriptions. */
  readonly maxServices: number;
}

type Entries = Map<number, Map<string, number>>;

export class Subscriptions {
  /** service -> instance -> user -> count */
  readonly #byService = new Map<string, Entries>();
  /** service -> number of (instance, user) entries */
  readonly #sizes = new Map<string, number>();
  /** user -> service -> number of instances of that service subscribed to the user */
  readonly #byUser = new Map<string, Map<string, number>>();

  constructor(private limits: SubscriptionLimits) {}

  /** New limits (a reload): they apply to new subscriptions; none held is dropped. */
  setLimits(limits: SubscriptionLimits): void {
    this.limits = limits;
  }

  subscribe(service: string, instance: number, user: string): SubscribeResult {
    let entries = this.#byService.get(service);
    if (!entries) {
      if (this.#byService.size >= this.limits.maxServices) return 'services-limit';
      entries = new Map();
      this.#byService.set(service, entries);
    }
    let users = entries.get(instance);
    const count = users?.get(user);
    if (count !== undefined) {
      users!.set(user, count + 1);
      return 'ok';
    }
    const size = this.#sizes.get(service) ?? 0;
    if (size >= this.limits.perService) {
      if (entries.size === 0) this.#byService.delete(service);
      return 'service-limit';
    }
    if (!users) {
      users = new Map();
      entries.set(instance, users);
    }
    users.set(user, 1);
    this.#sizes.set(service, size + 1);
    const services = this.#byUser.get(user) ?? new Map<string, number>();
    services.set(service, (services.get(service) ?? 0) + 1);
    this.#byUser.set(user, services);
    return 'ok';
  }

  /** Takes one count off; false when there was none. */
  unsubscribe(service: string, instance: number, user: string): boolean {
    const users = this.#byService.get(service)?.get(instance);
    const count = users?.get(user);
    if (users === undefined || count === undefined) return false;
    if (count > 1) users.set(user, count - 1);
    else this.#remove(service, instance, user);
    return true;
  }

  /** Forgets every subscription of one instance; returns how many entries went. */
  reset(service: string, instance: number): number {
    const users = this.#byService.get(service)?.get(instance);
    if (!users) return 0;
    const names = [...users.keys()];
    for (const user of names) this.#remove(service, instance, user);
    return names.length;
  }

  /** The services with at least one subscription for `user`. */
  servicesFor(user: string): Iterable<string> {
    return this.#byUser.get(user)?.keys() ?? [];
  }

  /** Total (service, instance, user) entries. */
  get size(): number {
    let n = 0;
    for (const s of this.#sizes.values()) n += s;
    return n;
  }

  /** The count for one entry (0 when absent). */
  count(service: string, instance: number, user: string): number {
    return this.#byService.get(service)?.get(instance)?.get(user) ?? 0;
  }

  #remove(service: string, instance: number, user: string): void {
    const entries = this.#byService.get(service)!;
    const users = entries.get(instance)!;
    users.delete(user);
    if (users.size === 0) entries.delete(instance);
    if (entries.size === 0) this.#byService.delete(service);
    const size = (this.#sizes.get(service) ?? 1) - 1;
    if (size > 0) this.#sizes.set(service, size);
    else this.#sizes.delete(service);
    const services = this.#byUser.get(user)!;
    const n = (services.get(service) ?? 1) - 1;
    if (n > 0) services.set(service, n);
    else services.delete(service);
    if (services.size === 0) this.#byUser.delete(user);
  }
}
