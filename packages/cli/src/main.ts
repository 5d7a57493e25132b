#!/usr/bin/env node
/** The `hearth` command. The only place that reads the process's arguments and calls process.exit. */
import { runCli } from './cli.js';
import { commandsFor } from './commands/lazy.js';

const argv = process.argv.slice(2);
const code = await runCli(argv, {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
}, await commandsFor(argv[0]));
process.exit(code);
