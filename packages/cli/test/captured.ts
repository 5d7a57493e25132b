/** A verb's output streams for running it in the test's process, and what it wrote to them so far. */
import { PassThrough } from 'node:stream';

export interface CapturedOutput {
  readonly stdout: PassThrough;
  readonly stderr: PassThrough;
  /** Everything written to stdout so far. */
  out(): string;
  /** Everything written to stderr so far. */
  err(): string;
}

export function capturedOutput(): CapturedOutput {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return { stdout, stderr, out: () => out, err: () => err };
}
