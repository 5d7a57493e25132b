/** A TLS file that is missing, unreadable or not what it should be; `file` names it. */
export class TlsMaterialError extends Error {
  override readonly name = 'TlsMaterialError';
  readonly file: string | undefined;

  constructor(message: string, file?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.file = file;
  }
}
