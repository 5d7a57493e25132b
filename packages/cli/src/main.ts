#!/usr/bin/env node
/** The `hearth` command. The only place that reads the process's arguments and calls process.exit. */
import { runCli } from './cli.js';
import { COMMANDS } from './commands/index.js';

const code = await runCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
}, COMMANDS);
process.exit(code);
