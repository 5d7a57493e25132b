/** Options every verb shares, and the parseArgs wrapper that turns mistakes into UsageErrors. */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { SOCKET_NAME } from '@hearth/supervisor/control';
import { UsageError } from './command.js';
import type { CliIo } from './command.js';

export const COMMON_OPTIONS = {
  data: { type: 'string' },
  config: { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

export const COMMON_USAGE = `Options:
  --data DIR         data dir (default: $HEARTH_DATA, else ./data)
  --config FILE      suite config file (default: the embedded default)
  --log-level LEVEL  trace, debug, info, warn, error, fatal or silent
  -h, --help         show this help`;

/** parseArgs, with every mistake reported as a UsageError. */
type Parsed<O extends NonNullable<ParseArgsConfig['options']>> = ReturnType<
  typeof parseArgs<{ args: string[]; options: typeof COMMON_OPTIONS & O; allowPositionals: true; strict: true }>
>;

export function parse<O extends NonNullable<ParseArgsConfig['options']>>(argv: readonly string[], options: O, allowPositionals = true): Parsed<O> {
  try {
    return parseArgs({ args: [...argv], options: { ...COMMON_OPTIONS, ...options }, allowPositionals: allowPositionals as true, strict: true }) as Parsed<O>;
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0] ?? 'bad arguments');
  }
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
