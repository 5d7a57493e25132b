/**
 * The service graph: `requires` (must be ready first) and `after` (ordering only, ignored when the
 * other service is not configured). Kahn's algorithm; ties keep the config's order.
 */

export interface GraphNode {
  readonly name: string;
  readonly requires: readonly string[];
  readonly after: readonly string[];
}

export class CycleError extends Error {
  override readonly name = 'CycleError';
  constructor(readonly members: readonly string[]) {
    super(`dependency cycle between services: ${members.join(' -> ')} -> ${members[0] ?? ''}`);
  }
}

/** The services each one waits for (requires plus the `after` names that exist). */
export function dependenciesOf(node: GraphNode, names: ReadonlySet<string>): string[] {
  return [...new Set([...node.requires, ...node.after.filter((n) => names.has(n))])];
}

/** Start order: every service after all it depends on. Throws `CycleError` naming a cycle. */
export function startOrder(nodes: readonly GraphNode[]): string[] {
  const names = new Set(nodes.map((n) => n.name));
  const deps = new Map(nodes.map((n) => [n.name, dependenciesOf(n, names).filter((d) => names.has(d))]));
  const order: string[] = [];
  const done = new Set<string>();
  while (order.length < nodes.length) {
    const next = nodes.find((n) => !done.has(n.name) && (deps.get(n.name) ?? []).every((d) => done.has(d)));
    if (!next) throw new CycleError(findCycle(nodes.filter((n) => !done.has(n.name)).map((n) => n.name), deps));
    done.add(next.name);
    order.push(next.name);
  }
  return order;
}

/** A service that requires another one, directly or through others. */
export interface Dependent {
  readonly name: string;
  /** The services it requires on the way, from its own requirement to the one asked about. */
  readonly through: readonly string[];
}

/**
 * Every service of `order` (a start order) that requires `name`, directly or through others, in
 * start order; `after` alone does not count (it orders, it does not require). Where there are
 * several ways, `through` is the one via `name` itself, else via the first requirement found.
 */
export function dependentsOf(name: string, nodes: readonly GraphNode[], order: readonly string[]): Dependent[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const found = new Map<string, Dependent>();
  for (const n of order) {
    const requires = byName.get(n)?.requires ?? [];
    if (requires.includes(name)) found.set(n, { name: n, through: [name] });
    else {
      const via = requires.find((r) => found.has(r));
      if (via !== undefined) found.set(n, { name: n, through: [via, ...found.get(via)!.through] });
    }
  }
  return [...found.values()];
}

/** Stop order: the reverse of the start order. */
export function stopOrder(nodes: readonly GraphNode[]): string[] {
  return startOrder(nodes).reverse();
}

/** One cycle among `left` (every one of which has an unfinished dependency). */
function findCycle(left: readonly string[], deps: ReadonlyMap<string, readonly string[]>): string[] {
  const remaining = new Set(left);
  const path: string[] = [];
  let current = left[0];
  while (current !== undefined && !path.includes(current)) {
    path.push(current);
    current = (deps.get(current) ?? []).find((d) => remaining.has(d));
  }
  return current === undefined ? path : path.slice(path.indexOf(current));
}
