/** One thing wrong with a config file, located as precisely as the file allows. */
export interface ConfigProblem {
  readonly file: string;
  /** 1-based; 0 when the problem is about the file as a whole (missing, unreadable). */
  readonly line: number;
  readonly column: number;
  /** Dotted key path, e.g. `services.smtp.listen.mx.port`; empty for the document itself. */
  readonly path: string;
  readonly message: string;
}

/** Exit code for a configuration error (sysexits EX_CONFIG). */
export const EX_CONFIG = 78;

export function formatProblem(p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  return p.path === '' ? `${where}: ${p.message}` : `${where}: ${p.path}: ${p.message}`;
}

/** Every problem found in a config file, reported together. `message` has one problem per line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly exitCode = EX_CONFIG;
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.problems = Object.freeze([...problems]);
  }
}
