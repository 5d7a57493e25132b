/**
 * One verb of the `hearth` command. The CLI's table (`src/commands/index.ts`) lists them; each
 * lives in `src/commands/<verb>.ts`. A verb parses its own arguments (`node:util` parseArgs),
 * answers `--help` with its usage, reports an error as one clear line on stderr and returns the
 * exit code; it never calls `process.exit` (only `src/main.ts` does).
 */
import type { Readable, Writable } from 'node:stream';

export interface CliIo {
  readonly stdin: Readable & { isTTY?: boolean };
  readonly stdout: Writable & { isTTY?: boolean };
  readonly stderr: Writable;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The working directory relative paths are resolved against. */
  readonly cwd: string;
}

export interface CliCommand {
  /** The verb (`up`, `status`, `user`, ...). */
  readonly name: string;
  /** One line for `hearth --help`. */
  readonly summary: string;
  /** The full usage text printed by `hearth VERB --help`. */
  readonly usage: string;
  /** Runs the verb with the arguments after it; resolves to the exit code. */
  run(argv: readonly string[], io: CliIo): Promise<number>;
}

/** A usage mistake: printed as `hearth VERB: message` with exit code 64 (EX_USAGE). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const EX_USAGE = 64;
