export * from './command.js';
export { mainUsage, runCli } from './cli.js';
export { COMMANDS } from './commands/index.js';
