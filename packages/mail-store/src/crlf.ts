/**
 * Canonical line ends: every LF not preceded by CR becomes CRLF, across chunk boundaries. Bodies
 * are stored in this form so POP3 sizes (counted with CRLF) are the file sizes and RETR can send
 * the file as it is.
 */
const LF = 0x0a;
const CR = 0x0d;

export class CrlfNormalizer {
  #lastWasCr = false;

  push(chunk: Uint8Array): Buffer {
    const input = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (input.length === 0) return input;
    let bare = 0;
    for (let i = input.indexOf(LF); i !== -1; i = input.indexOf(LF, i + 1)) {
      const before = i === 0 ? this.#lastWasCr : input[i - 1] === CR;
      if (!before) bare++;
    }
    const lastWasCr = this.#lastWasCr;
    this.#lastWasCr = input[input.length - 1] === CR;
    if (bare === 0) return input;
    const out = Buffer.allocUnsafe(input.length + bare);
    let from = 0;
    let to = 0;
    for (let i = input.indexOf(LF); i !== -1; i = input.indexOf(LF, i + 1)) {
      const before = i === 0 ? lastWasCr : input[i - 1] === CR;
      if (before) continue;
      to += input.copy(out, to, from, i);
      out[to++] = CR;
      from = i;
    }
    input.copy(out, to, from);
    return out;
  }
}
