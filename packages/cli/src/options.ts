/** Options every verb shares, and the parseArgs wrapper that turns mistakes into UsageErrors. */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { LOG_LEVELS, SOCKET_NAME } from '@hearth/supervisor/control';
import { UsageError } from './command.js';
import type { CliIo } from './command.js';

export const COMMON_OPTIONS = {
  data: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

export const COMMON_USAGE = `Options:
  --data DIR         data dir (default: $HEARTH_DATA, else ./data)
  -h, --help         show this help`;

/**
 * The options of the verbs that read the config file themselves (`up`, `run`, `files`; `files`
 * without `--config` describes the config of the suite running on the data dir). The
 * verbs that talk to a running supervisor take neither: it runs the config it was started with
 * (`hearth reload` reads that same file again), and accepting them silently would let
 * `hearth reload --config new.yaml` look as if it loaded new.yaml.
 */
export const CONFIG_OPTIONS = {
  config: { type: 'string' },
  'log-level': { type: 'string' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

export const CONFIG_USAGE = `  --config FILE      suite config file (default: the embedded default)
  --log-level LEVEL  ${LOG_LEVELS.join(', ')}`;

/** `--log-level` checked against the levels there are (a UsageError otherwise). */
export function logLevelOf(value: string | undefined): string | undefined {
  if (value === undefined || (LOG_LEVELS as readonly string[]).includes(value)) return value;
  throw new UsageError(`--log-level: unknown level ${JSON.stringify(value)} (one of ${LOG_LEVELS.join(', ')})`);
}

/** parseArgs, with every mistake reported as a UsageError. */
type Parsed<O extends NonNullable<ParseArgsConfig['options']>> = ReturnType<
  typeof parseArgs<{ args: string[]; options: typeof COMMON_OPTIONS & O; allowPositionals: true; strict: true }>
>;

export function parse<O extends NonNullable<ParseArgsConfig['options']>>(argv: readonly string[], options: O, allowPositionals = true): Parsed<O> {
  try {
    return parseArgs({ args: [...argv], options: { ...COMMON_OPTIONS, ...options }, allowPositionals: allowPositionals as true, strict: true }) as Parsed<O>;
  } catch (err) {
    throw usageError(err, !('config' in options));
  }
}

/**
 * A parseArgs error as one short line (every verb's parser, `user` and `mail` too).
 * `configHint`: the verb takes no --config because it talks to the running supervisor.
 */
export function usageError(err: unknown, configHint = false): UsageError {
  const first = (err as Error).message.split('\n')[0] ?? 'bad arguments';
  // Node goes on about positionals that start with '-': no verb here takes such a name.
  const unknown = /^Unknown option '([^']+)'/.exec(first)?.[1];
  const message = unknown !== undefined ? `unknown option ${unknown}` : first;
  const hint = configHint && unknown === '--config' ? ': the supervisor runs the config file hearth up --config named (a reload reads it again)' : '';
  return new UsageError(`${message}${hint}`);
}

/** The data dir a verb talks about: --data, else $HEARTH_DATA, else ./data. */
export function dataDirOf(data: string | undefined, io: CliIo): string {
  return resolve(io.cwd, data ?? io.env['HEARTH_DATA'] ?? './data');
}

export function socketPathOf(data: string | undefined, io: CliIo): string {
  return join(dataDirOf(data, io), SOCKET_NAME);
}

/** Exactly one positional NAME. */
export function oneName(positionals: readonly string[]): string {
  if (positionals.length !== 1 || !positionals[0]) throw new UsageError('expected exactly one service NAME');
  return positionals[0];
}
