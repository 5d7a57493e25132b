/**
 * A typed command table and the lookup that applies its static guards (unknown verb, wrong
 * state, argument count) in that order. Verbs are looked up in a Map built from the table:
 * never a property name built from client input.
 */

export interface ArgSpec {
  readonly min: number;
  readonly max: number;
  /**
   * Everything after the verb and one space is a single argument, spaces included (POP3 PASS).
   * With `rest`, `max` is at most 1.
   */
  readonly rest?: boolean;
}

export interface CommandSpec<State extends string, Ctx, Result> {
  /** The states in which the command is valid. */
  readonly states: readonly State[];
  readonly args: ArgSpec;
  run(ctx: Ctx, args: readonly string[]): Result | Promise<Result>;
}

export type CommandTable<State extends string, Ctx, Result> = Readonly<
  Record<string, CommandSpec<State, Ctx, Result>>
>;

export interface ParsedLine {
  /** The verb, upper-cased. */
  readonly verb: string;
  /** The text after the verb and its separating space (may be empty). */
  readonly rest: string;
}

/** Split a command line into verb and the rest. */
export function parseCommandLine(line: string): ParsedLine {
  const space = line.indexOf(' ');
  const verb = (space < 0 ? line : line.slice(0, space)).toUpperCase();
  const rest = space < 0 ? '' : line.slice(space + 1);
  return { verb, rest };
}

export type Resolution<State extends string, Ctx, Result> =
  | { readonly kind: 'empty' }
  | { readonly kind: 'unknown'; readonly verb: string }
  | { readonly kind: 'wrong-state'; readonly verb: string; readonly spec: CommandSpec<State, Ctx, Result> }
  | { readonly kind: 'bad-args'; readonly verb: string; readonly spec: CommandSpec<State, Ctx, Result> }
  | {
      readonly kind: 'ok';
      readonly verb: string;
      readonly spec: CommandSpec<State, Ctx, Result>;
      readonly args: readonly string[];
    };

export class CommandDispatcher<State extends string, Ctx, Result> {
  private readonly commands: ReadonlyMap<string, CommandSpec<State, Ctx, Result>>;

  constructor(table: CommandTable<State, Ctx, Result>) {
    const commands = new Map<string, CommandSpec<State, Ctx, Result>>();
    for (const [verb, spec] of Object.entries(table)) {
      if (verb !== verb.toUpperCase()) throw new Error(`command table: verb ${verb} must be upper case`);
      if (spec.args.rest === true && spec.args.max > 1) {
        throw new Error(`command table: ${verb} takes the rest of the line, so max must be at most 1`);
      }
      commands.set(verb, spec);
    }
    this.commands = commands;
  }

  /** The verbs in the table, in table order. */
  get verbs(): readonly string[] {
    return [...this.commands.keys()];
  }

  has(verb: string): boolean {
    return this.commands.has(verb.toUpperCase());
  }

  /** Apply the static guards to `line` in state `state`. */
  resolve(line: string, state: State): Resolution<State, Ctx, Result> {
    const { verb, rest } = parseCommandLine(line);
    if (verb === '') return { kind: 'empty' };
    const spec = this.commands.get(verb);
    if (spec === undefined) return { kind: 'unknown', verb };
    if (!spec.states.includes(state)) return { kind: 'wrong-state', verb, spec };
    const args = spec.args.rest === true ? (rest === '' ? [] : [rest]) : splitArgs(rest);
    if (args.length < spec.args.min || args.length > spec.args.max) return { kind: 'bad-args', verb, spec };
    return { kind: 'ok', verb, spec, args };
  }
}

function splitArgs(rest: string): string[] {
  return rest.split(' ').filter((arg) => arg !== '');
}
