/** Parse a YAML config keeping positions, validate it with a strict zod schema, freeze it. */
import { readFileSync, statSync } from 'node:fs';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, visit, type Node, type Pair, type YAMLMap } from 'yaml';
import type { ZodType, core } from 'zod';
import { didYouMean } from './did-you-mean.js';
import { ConfigError, type ConfigProblem } from './errors.js';
import { allowedKeysAt } from './schema-keys.js';

type Segment = PropertyKey;

/** The largest config file read (bytes): a config is a page or two, never megabytes. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** Dotted path as people write it: `services.smtp.listen.mx.port`, `services.web.command[1]`. */
export function formatPath(path: readonly Segment[]): string {
  let out = '';
  for (const s of path) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out === '' ? String(s) : `.${String(s)}`;
  }
  return out;
}

interface Located {
  readonly node: Node | null;
  /** The key node of the last segment that was found in a map. */
  readonly keyNode: Node | null;
  /** How many segments were found. */
  readonly depth: number;
}

/**
 * Each map's pairs by key, built once per map: looking every problem up by scanning its map
 * made a config with many unknown keys take time quadratic in their number.
 */
type KeyIndex = WeakMap<YAMLMap, Map<string, Pair>>;

function pairOf(index: KeyIndex, map: YAMLMap, key: string): Pair | undefined {
  let byKey = index.get(map);
  if (byKey === undefined) {
    byKey = new Map();
    for (const pair of map.items) {
      const k = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (k !== undefined && !byKey.has(k)) byKey.set(k, pair as Pair);
    }
    index.set(map, byKey);
  }
  return byKey.get(key);
}

/** Follow `path` into the YAML tree as far as it exists. */
function locate(root: Node | null, path: readonly Segment[], index: KeyIndex): Located {
  let node: Node | null = root;
  let keyNode: Node | null = null;
  let depth = 0;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = pairOf(index, node as YAMLMap, String(segment));
      if (!pair) break;
      keyNode = isScalar(pair.key) ? pair.key : null;
      node = (pair.value as Node | null) ?? keyNode;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as Node | undefined;
      if (!item) break;
      node = item;
      keyNode = null;
    } else {
      break;
    }
    depth++;
  }
  return { node, keyNode, depth };
}

function position(lc: LineCounter, node: Node | null): { line: number; column: number } {
  const offset = node?.range?.[0] ?? 0;
  const { line, col } = lc.linePos(offset);
  return { line, column: col };
}

/**
 * Where `path` is in the YAML file `file`: the key itself, or as deep as the file spells it out
 * (a listener the file leaves to the defaults is placed at its service). Undefined when the
 * file cannot be read or parsed.
 */
export function positionInFile(file: string, path: readonly Segment[]): { line: number; column: number } | undefined {
  try {
    const text = readFileSync(file, 'utf8');
    if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) return undefined;
    const lc = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
    const found = locate(doc.contents as Node | null, path, new WeakMap());
    if (found.depth === 0) return undefined;
    return position(lc, found.depth === path.length ? found.keyNode : found.keyNode ?? found.node);
  } catch {
    return undefined;
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function issueProblems(
  file: string,
  lc: LineCounter,
  root: Node | null,
  schema: ZodType,
  issue: Issue,
  index: KeyIndex,
): ConfigProblem[] {
  const path = issue.path;
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeysAt(schema, path);
    return issue.keys.map((key) => {
      const keyPath = [...path, key];
      const found = locate(root, keyPath, index);
      const exact = found.depth === keyPath.length;
      const hint = didYouMean(key, allowed);
      return {
        file,
        ...position(lc, exact ? found.keyNode : found.node),
        path: formatPath(keyPath),
        message: `unknown key "${key}"${hint ? ` (did you mean "${hint}"?)` : ''}`,
      };
    });
  }
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const branch = explainUnion(issue);
    if (branch) return branch.flatMap((i) => issueProblems(file, lc, root, schema, i, index));
  }
  const found = locate(root, path, index);
  let message = issue.message.replace(/^Invalid input: /, '');
  if (found.depth < path.length && issue.code === 'invalid_type' && /received undefined/.test(message)) {
    message = `missing required key (expected ${issue.expected})`;
  }
  return [{ file, ...position(lc, found.node), path: formatPath(path), message }];
}

type Issue = core.$ZodIssue;

/**
 * A union failed in every branch. Pick the issues worth showing: branches whose type did not even
 * match are set aside; of the rest, the one with fewest issues; on a tie, the unknown keys every
 * tied branch rejects. Undefined: keep the union's own message (made specific below when no
 * branch's type matched).
 */
function explainUnion(issue: Extract<Issue, { code: 'invalid_union' }>): Issue[] | undefined {
  const prefix = (i: Issue): Issue => ({ ...i, path: [...issue.path, ...i.path] }) as Issue;
  const typeMismatch = (b: readonly Issue[]) => b.some((i) => i.code === 'invalid_type' && i.path.length === 0);
  const candidates = issue.errors.filter((b) => !typeMismatch(b));
  if (candidates.length === 0) {
    if (issue.message !== 'Invalid input') return undefined;
    const expected = issue.errors.flatMap((b) => b.flatMap((i) => (i.code === 'invalid_type' ? [i.expected] : [])));
    return [{ ...issue, message: `expected ${[...new Set(expected)].join(' or ')}`, errors: [] } as Issue];
  }
  const fewest = Math.min(...candidates.map((b) => b.length));
  const best = candidates.filter((b) => b.length === fewest);
  if (best.length === 1) return best[0]!.map(prefix);
  const unknownIn = (b: readonly Issue[]) =>
    new Set(b.flatMap((i) => (i.code === 'unrecognized_keys' && i.path.length === 0 ? i.keys : [])));
  const sets = best.map(unknownIn);
  const common = [...(sets[0] ?? [])].filter((k) => sets.every((s) => s.has(k)));
  if (common.length > 0) return [{ code: 'unrecognized_keys', keys: common, path: issue.path, message: '' } as Issue];
  return best[0]!.map(prefix);
}

/**
 * Parse `text` (the contents of `file`, used in messages) and validate it against `schema`.
 * Throws a ConfigError listing every problem (syntax, duplicate keys, unknown keys with a
 * suggestion, wrong types), each with file, line and column. An empty document is `{}`.
 * The result is deeply frozen.
 */
export function parseConfigText<T>(text: string, file: string, schema: ZodType<T>): T {
  const size = Buffer.byteLength(text);
  if (size > MAX_CONFIG_BYTES) throw new ConfigError([{ file, line: 0, column: 0, path: '', message: tooBig(size) }]);
  const lc = new LineCounter();
  // yaml's own uniqueKeys check compares each key with every earlier one (quadratic): ours is a Set per map.
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: false });
  const errors = doc.errors.map((e) => ({ pos: e.pos[0], message: e.message.split('\n')[0] ?? e.message }));
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const k = String(pair.key.value);
        if (seen.has(k)) errors.push({ pos: pair.key.range?.[0] ?? 0, message: 'Map keys must be unique' });
        seen.add(k);
      }
    },
  });
  if (errors.length > 0) {
    errors.sort((a, b) => a.pos - b.pos);
    throw new ConfigError(
      errors.map((e) => {
        const { line, col } = lc.linePos(e.pos);
        return { file, line, column: col, path: '', message: `YAML: ${e.message}` };
      }),
    );
  }
  const root = doc.contents as Node | null;
  let data: unknown;
  try {
    data = root === null ? {} : doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError([{ file, line: 1, column: 1, path: '', message: `YAML: ${(err as Error).message}` }]);
  }
  if (data === null || data === undefined) data = {};
  const result = schema.safeParse(data);
  if (!result.success) {
    const index: KeyIndex = new WeakMap();
    const problems = result.error.issues.flatMap((i) => issueProblems(file, lc, root, schema, i, index));
    problems.sort((a, b) => a.line - b.line || a.column - b.column);
    throw new ConfigError(problems);
  }
  return deepFreeze(result.data);
}

function tooBig(size: number): string {
  return `file is too big (${size} bytes; a config may have at most ${MAX_CONFIG_BYTES} bytes, 1 MiB)`;
}

/** Read and parse a config file. A missing, unreadable or oversized file is a ConfigError naming it. */
export function loadConfigFile<T>(file: string, schema: ZodType<T>): T {
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > MAX_CONFIG_BYTES) throw new ConfigError([{ file, line: 0, column: 0, path: '', message: tooBig(size) }]);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'ENOENT'
        ? 'no such file'
        : e.code === 'EACCES'
          ? 'permission denied'
          : e.code === 'EISDIR'
            ? 'is a directory'
            : `cannot read (${e.code ?? e.message})`;
    throw new ConfigError([{ file, line: 0, column: 0, path: '', message: why }]);
  }
  return parseConfigText(text, file, schema);
}
