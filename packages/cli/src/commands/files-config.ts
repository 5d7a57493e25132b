/**
 * For `hearth files`: the suite config it describes, and where that came from. `--config FILE`:
 * that file. Without it, the config of the supervisor running on the data dir (the `config` verb
 * names the file it was started with, read here as it is now, or the embedded default), else the
 * embedded default.
 */
import { join } from 'node:path';
import { KINDS } from '@hearth/suite';
import { loadConfig, resolveDataDir } from '@hearth/supervisor';
import type { SuiteConfig } from '@hearth/supervisor';
import { NotRunningError, SOCKET_NAME, controlRequest } from '@hearth/supervisor/control';
import type { CliIo } from '../command.js';

/** How long the supervisor gets to say which config it runs. */
const CONFIG_ANSWER_TIMEOUT_MS = 10_000;

/** The config described, and the data dir it is described on. */
export type DescribedConfig =
  /** `--config FILE`. */
  | { readonly source: 'given'; readonly config: SuiteConfig; readonly dataDir: string }
  /** What the supervisor running on `dataDir` runs: its file, or the embedded default (`config.file` undefined). */
  | { readonly source: 'running'; readonly config: SuiteConfig; readonly dataDir: string }
  /** No supervisor runs on `dataDir`: the embedded default. */
  | { readonly source: 'not-running'; readonly config: SuiteConfig; readonly dataDir: string }
  /** A supervisor runs on `dataDir` but did not say which config (an older one, or no access): the embedded default. */
  | { readonly source: 'unanswered'; readonly config: SuiteConfig; readonly dataDir: string; readonly reason: string };

/** The file the supervisor's `config` answer names: a path, null for the embedded default, undefined for an answer without one. */
function answeredFile(answer: unknown): string | null | undefined {
  if (answer === null || typeof answer !== 'object') return undefined;
  const file = (answer as Record<string, unknown>)['file'];
  return file === null || (typeof file === 'string' && file !== '') ? file : undefined;
}

/**
 * Reads the config `hearth files` describes. A config with `user:` entries is read as hearth up
 * reads it (as root), so anyone can read it. A file the running supervisor names that cannot be
 * read now is named on stderr before its problem is thrown.
 */
export async function describedConfig(configOption: string | undefined, dataOption: string | undefined, io: CliIo): Promise<DescribedConfig> {
  const dirOptions = { dataDir: dataOption, env: io.env, cwd: io.cwd };
  if (configOption !== undefined) {
    const config = await loadConfig(configOption, io.cwd, KINDS, true);
    return { source: 'given', config, dataDir: resolveDataDir(dirOptions, config) };
  }
  const embedded = (): Promise<SuiteConfig> => loadConfig(undefined, io.cwd, KINDS, true);
  // The embedded default names no data dir: the one of --data, $HEARTH_DATA or ./data.
  const dataDir = resolveDataDir(dirOptions);
  let file: string | null | undefined;
  try {
    file = answeredFile(await controlRequest(join(dataDir, SOCKET_NAME), { verb: 'config' }, { timeoutMs: CONFIG_ANSWER_TIMEOUT_MS }));
  } catch (error) {
    if (error instanceof NotRunningError) return { source: 'not-running', config: await embedded(), dataDir };
    return { source: 'unanswered', config: await embedded(), dataDir, reason: (error as Error).message };
  }
  if (file === undefined) return { source: 'unanswered', config: await embedded(), dataDir, reason: 'its answer names no file' };
  if (file === null) return { source: 'running', config: await embedded(), dataDir };
  try {
    return { source: 'running', config: await loadConfig(file, io.cwd, KINDS, true), dataDir };
  } catch (error) {
    // The file changed or went away since hearth up read it: the problems follow, as for --config.
    io.stderr.write(`hearth files: ${file} is the config file of the suite running on ${dataDir}, read again here (--config FILE describes another)\n`);
    throw error;
  }
}

/** Whether the suite described runs its embedded default config (no file to add tls.names to). */
export function runsEmbeddedDefault(described: DescribedConfig): boolean {
  return described.config.file === undefined && (described.source === 'running' || described.source === 'not-running');
}

/**
 * The line for stderr, once the steps are written, that says which config they describe when
 * --config did not name it (undefined then). The steps themselves stay the same text as the
 * admin page's own page gives.
 */
export function describedFrom(described: DescribedConfig): string | undefined {
  const { config, dataDir } = described;
  switch (described.source) {
    case 'given':
      return undefined;
    case 'running':
      return config.file === undefined
        ? `the steps describe the embedded default config, which the suite running on ${dataDir} runs`
        : `the steps describe ${config.file}, the config file of the suite running on ${dataDir}`;
    case 'not-running':
      return `the steps describe the embedded default config: no suite is running on ${dataDir} (--data DIR names another data dir, --config FILE another config)`;
    case 'unanswered':
      return `note: the supervisor running on ${dataDir} did not say which config it runs (${described.reason}): the steps describe the embedded default config (--config FILE describes another)`;
  }
}
