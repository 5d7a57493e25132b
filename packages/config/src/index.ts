export { ConfigError, EX_CONFIG, formatProblem, type ConfigProblem } from './errors.js';
export { didYouMean, editDistance } from './did-you-mean.js';
export { MAX_CONFIG_BYTES, formatPath, loadConfigFile, parseConfigText, positionInFile } from './load.js';
export { byteSize, duration, nonEmptyString, parseByteSize, parseDuration, port } from './types.js';
export { allowedKeysAt } from './schema-keys.js';
