/** Parse a YAML config keeping positions, validate it with a strict zod schema, freeze it. */
import { readFileSync } from 'node:fs';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import type { ZodType, core } from 'zod';
import { didYouMean } from './did-you-mean.js';
import { ConfigError, type ConfigProblem } from './errors.js';
import { allowedKeysAt } from './schema-keys.js';

type Segment = PropertyKey;

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

/** Follow `path` into the YAML tree as far as it exists. */
function locate(root: Node | null, path: readonly Segment[]): Located {
  let node: Node | null = root;
  let keyNode: Node | null = null;
  let depth = 0;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
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
): ConfigProblem[] {
  const path = issue.path;
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeysAt(schema, path);
    return issue.keys.map((key) => {
      const keyPath = [...path, key];
      const found = locate(root, keyPath);
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
    if (branch) return branch.flatMap((i) => issueProblems(file, lc, root, schema, i));
  }
  const found = locate(root, path);
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
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const { line, col } = lc.linePos(e.pos[0]);
        const msg = e.message.split('\n')[0] ?? e.message;
        return { file, line, column: col, path: '', message: `YAML: ${msg}` };
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
    const problems = result.error.issues.flatMap((i) => issueProblems(file, lc, root, schema, i));
    problems.sort((a, b) => a.line - b.line || a.column - b.column);
    throw new ConfigError(problems);
  }
  return deepFreeze(result.data);
}

/** Read and parse a config file. A missing or unreadable file is a ConfigError naming it. */
export function loadConfigFile<T>(file: string, schema: ZodType<T>): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
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
