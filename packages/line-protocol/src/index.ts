export { LineReader, type LineReaderOptions } from './line-reader.js';
export { ConnectionClosedError, drained, writeWithBackpressure } from './writer.js';
export { DotStuffer, dotStuff, writeDotStuffed, type DotStufferOptions } from './dot-stuff.js';
export {
  CommandDispatcher,
  parseCommandLine,
  type ArgSpec,
  type CommandSpec,
  type CommandTable,
  type ParsedLine,
  type Resolution,
} from './commands.js';
export { startTls, TlsHandshakeError, type StartTlsOptions } from './starttls.js';
