/**
 * Which keys a zod schema allows at a path: used to suggest a fix for an unknown key. zod's
 * `unrecognized_keys` issue names the bad keys but not the allowed ones, so we walk the schema.
 */
import type { ZodType } from 'zod';

interface Def {
  readonly type: string;
  readonly shape?: Record<string, ZodType>;
  readonly innerType?: ZodType;
  readonly in?: ZodType;
  readonly out?: ZodType;
  readonly valueType?: ZodType;
  readonly element?: ZodType;
  readonly options?: readonly ZodType[];
  readonly left?: ZodType;
  readonly right?: ZodType;
  readonly items?: readonly ZodType[];
  readonly getter?: () => ZodType;
}

function defOf(schema: ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** The object-like schemas reachable from `schema` without consuming a path segment. */
function unwrap(schema: ZodType, depth = 0): ZodType[] {
  if (depth > 20) return [];
  const d = defOf(schema);
  switch (d.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return d.innerType ? unwrap(d.innerType, depth + 1) : [];
    case 'pipe':
      return d.in ? unwrap(d.in, depth + 1) : [];
    case 'lazy':
      return d.getter ? unwrap(d.getter(), depth + 1) : [];
    case 'union':
      return (d.options ?? []).flatMap((o) => unwrap(o, depth + 1));
    case 'intersection':
      return [d.left, d.right].flatMap((o) => (o ? unwrap(o, depth + 1) : []));
    default:
      return [schema];
  }
}

function step(schema: ZodType, segment: PropertyKey): ZodType[] {
  return unwrap(schema).flatMap((s) => {
    const d = defOf(s);
    if (d.type === 'object') {
      const child = d.shape?.[String(segment)];
      return child ? [child] : [];
    }
    if (d.type === 'record' && d.valueType) return [d.valueType];
    if (d.type === 'array' && d.element) return [d.element];
    if (d.type === 'tuple' && typeof segment === 'number') {
      const item = d.items?.[segment];
      return item ? [item] : [];
    }
    return [];
  });
}

export function allowedKeysAt(schema: ZodType, path: readonly PropertyKey[]): string[] {
  let current = [schema];
  for (const segment of path) current = current.flatMap((s) => step(s, segment));
  const keys = new Set<string>();
  for (const s of current.flatMap((c) => unwrap(c))) {
    const d = defOf(s);
    if (d.type === 'object') for (const k of Object.keys(d.shape ?? {})) keys.add(k);
  }
  return [...keys];
}
