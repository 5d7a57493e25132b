/** The `hearth` dispatcher: finds the verb in the table and runs it. No process.exit here. */
import { ControlError, NotRunningError } from '@hearth/supervisor/control';
import { EX_USAGE, UsageError } from './command.js';
import type { CliCommand, CliIo } from './command.js';

export function mainUsage(commands: readonly CliCommand[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: hearth VERB [options]',
    '',
    'Hearth: a home-server daemon suite (mail over SMTP and POP3, biff, WebDAV files, SNMP, a web admin page) under one supervisor.',
    '',
    'Verbs:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run "hearth VERB --help" for the options of a verb.',
  ].join('\n');
}

/** sysexits EX_CONFIG, as `@hearth/config` uses it (not imported: this module stays light). */
const EX_CONFIG = 78;

/** `@hearth/config`'s ConfigError (or the supervisor's CycleError), told by name. */
function isConfigError(err: unknown): err is Error {
  return err instanceof Error && (err.name === 'ConfigError' || err.name === 'CycleError');
}

export async function runCli(argv: readonly string[], io: CliIo, commands: readonly CliCommand[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') {
    const out = verb === undefined ? io.stderr : io.stdout;
    out.write(`${mainUsage(commands)}\n`);
    return verb === undefined ? EX_USAGE : 0;
  }
  const command = commands.find((c) => c.name === verb);
  if (!command) {
    io.stderr.write(`hearth: unknown verb "${verb}" (try "hearth --help")\n`);
    return EX_USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`hearth ${verb}: ${err.message}\n`);
      return EX_USAGE;
    }
    // A config problem (`run`, `files` read the file themselves) is written whole, every problem
    // on its line, with exit 78 as from `up`; so is the supervisor's answer (a refused config).
    // Anything else is one line (no stack trace, no multi-line dump of an unexpected error).
    if (isConfigError(err)) {
      io.stderr.write(`hearth ${verb}: ${err.message}\n`);
      return EX_CONFIG;
    }
    const message = err instanceof NotRunningError || err instanceof ControlError ? err.message : ((err as Error).message ?? String(err)).split('\n')[0];
    io.stderr.write(`hearth ${verb}: ${message}\n`);
    return 1;
  }
}
