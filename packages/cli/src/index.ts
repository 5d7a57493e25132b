export * from './command.js';
export { mainUsage, runCli } from './cli.js';
export { COMMANDS } from './commands/index.js';
export { VERB_LOADERS, commandsFor } from './commands/lazy.js';
export { SUPERVISOR_V8_FLAGS, tuneV8ForSupervisor } from './v8-tuning.js';
export { connectionsOf, fitFrame, formatBytes, formatCount, formatExit, formatUptime, jsonRows, keyCounters, redraw, serviceDetail, statusTable } from './status-view.js';
