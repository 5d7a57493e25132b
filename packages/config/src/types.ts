/** Reusable schema pieces for config values written by people. */
import { z } from 'zod';

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const SIZE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  tb: 1000 ** 4,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

const AMOUNT = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i;

/** Parse "500ms", "10s", "2m", "1h", "1d" (or a plain number of ms) to ms; undefined if invalid. */
export function parseDuration(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? text : undefined;
  const m = AMOUNT.exec(text);
  if (!m) return undefined;
  const unit = DURATION_UNITS[(m[2] ?? '').toLowerCase() || 'ms'];
  return unit === undefined ? undefined : Math.round(Number(m[1]) * unit);
}

/** Parse "25MB", "512KiB", "1GB", "100" (bytes) to bytes; undefined if invalid. */
export function parseByteSize(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isInteger(text) && text >= 0 ? text : undefined;
  const m = AMOUNT.exec(text);
  if (!m) return undefined;
  const unit = SIZE_UNITS[(m[2] ?? '').toLowerCase() || 'b'];
  return unit === undefined ? undefined : Math.round(Number(m[1]) * unit);
}

/** A duration: "500ms", "10s", "2m", "1h", "1d", or a number of milliseconds. Output: ms. */
export function duration(): z.ZodType<number, number | string> {
  return z.union([z.number(), z.string()], { error: 'expected a duration such as 500ms, 10s, 2m or 1h' }).transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined) {
      ctx.issues.push({
        code: 'custom',
        input: v,
        message: `invalid duration ${JSON.stringify(v)} (expected e.g. 500ms, 10s, 2m, 1h)`,
      });
      return z.NEVER;
    }
    return ms;
  });
}

/** A size: "25MB", "512KiB", "1GB" (SI and binary units), or a number of bytes. Output: bytes. */
export function byteSize(): z.ZodType<number, number | string> {
  return z.union([z.number(), z.string()], { error: 'expected a size such as 512KiB, 25MB or 1GB' }).transform((v, ctx) => {
    const bytes = parseByteSize(v);
    if (bytes === undefined) {
      ctx.issues.push({
        code: 'custom',
        input: v,
        message: `invalid size ${JSON.stringify(v)} (expected e.g. 512KiB, 25MB, 1GB)`,
      });
      return z.NEVER;
    }
    return bytes;
  });
}

/** A TCP/UDP port number, 0..65535 (0 = any free port). */
export function port(): z.ZodNumber {
  return z.number().int('a port must be an integer').min(0, 'a port is 0..65535').max(65535, 'a port is 0..65535');
}

export function nonEmptyString(): z.ZodString {
  return z.string().min(1, 'must not be empty');
}
