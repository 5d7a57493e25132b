/**
 * The frame every verb with subcommands shares: parse, answer `--help`, run, and turn a failure
 * into one line on stderr and an exit code. A verb only says what its own errors mean.
 */
import { EX_USAGE, UsageError } from './command.js';
import type { CliIo } from './command.js';

/** sysexits EX_TEMPFAIL: try again later (a store or server that is busy or away). */
export const EX_TEMPFAIL = 75;

/** A failure a verb recognises: the line to print (after `hearth VERB: `) and the exit code. */
export interface Failure {
  readonly message: string;
  readonly code: number;
}

export interface Verb<P> {
  readonly name: string;
  readonly usage: string;
  /** Throws UsageError for a usage mistake. */
  parse(): P | 'help';
  execute(parsed: P): Promise<number>;
  /** What an error means, or undefined for one the verb does not know (it is rethrown). */
  explain(error: unknown): Failure | undefined;
}

export async function runVerb<P>(verb: Verb<P>, io: CliIo): Promise<number> {
  try {
    const parsed = verb.parse();
    if (parsed === 'help') {
      io.stdout.write(`${verb.usage}\n`);
      return 0;
    }
    return await verb.execute(parsed);
  } catch (error) {
    const failure = error instanceof UsageError ? { message: error.message, code: EX_USAGE } : verb.explain(error);
    if (failure === undefined) throw error;
    io.stderr.write(`hearth ${verb.name}: ${failure.message}\n`);
    return failure.code;
  }
}
