/**
 * Password hashing with scrypt (memory-hard), a random salt per hash, and the parameters stored
 * in a PHC-style string so they can be raised later without invalidating old hashes:
 *
 *   $scrypt$ln=15,r=8,p=1$<salt, base64 without padding>$<hash, base64 without padding>
 *
 * `node:crypto.scrypt` runs on the libuv thread pool, so hashing never blocks the event loop.
 */
import { createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { BinaryLike, ScryptOptions } from 'node:crypto';

export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  readonly ln: number;
  readonly r: number;
  readonly p: number;
}

/** N = 2^15, r = 8: 32 MiB and roughly 50–100 ms per hash on a small machine. */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = Object.freeze({ ln: 15, r: 8, p: 1 });

const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

function scryptAsync(password: BinaryLike, salt: BinaryLike, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.ln;
  const options: ScryptOptions = { N, r: params.r, p: params.p, maxmem: 256 * N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

const b64 = (buffer: Buffer): string => buffer.toString('base64').replace(/=+$/, '');

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await scryptAsync(password.normalize('NFC'), salt, params);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${b64(salt)}$${b64(key)}`;
}

interface ParsedHash {
  readonly params: ScryptParams;
  readonly salt: Buffer;
  readonly key: Buffer;
}

const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

export function parsePasswordHash(phc: string): ParsedHash | undefined {
  const m = PHC.exec(phc);
  if (!m) return undefined;
  const params = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  if (params.ln < 1 || params.ln > 24 || params.r < 1 || params.p < 1) return undefined;
  return { params, salt: Buffer.from(m[4] ?? '', 'base64'), key: Buffer.from(m[5] ?? '', 'base64') };
}

/** Constant-time check of `password` against a stored hash; a malformed hash never matches. */
export async function checkPassword(password: string, phc: string): Promise<boolean> {
  const parsed = parsePasswordHash(phc);
  if (!parsed) return false;
  const key = await scryptAsync(password.normalize('NFC'), parsed.salt, parsed.params);
  return key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
}

/** A hash that matches no password, used so an unknown user costs as much time as a known one. */
let dummyHash: Promise<string> | undefined;
export function dummyPasswordHash(params: ScryptParams): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'), params);
  return dummyHash;
}

/**
 * Successful verifications remembered for a short time, like Dovecot's auth cache. An entry holds
 * an HMAC of the password under a per-process random key (never the password itself) and the
 * stored hash it was checked against: when the hash in the database changes (`passwd` from any
 * process), the entry no longer applies.
 */
export class VerificationCache {
  readonly #key = randomBytes(32);
  readonly #entries = new Map<string, { phc: string; mac: Buffer; expires: number }>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;

  constructor(ttlMs: number, maxEntries = 10_000) {
    this.#ttlMs = ttlMs;
    this.#maxEntries = maxEntries;
  }

  #mac(name: string, password: string): Buffer {
    return createHmac('sha256', this.#key).update(name).update('\0').update(password.normalize('NFC')).digest();
  }

  hit(name: string, password: string, phc: string, now = Date.now()): boolean {
    if (this.#ttlMs <= 0) return false;
    const entry = this.#entries.get(name);
    if (!entry) return false;
    if (entry.expires <= now || entry.phc !== phc) {
      this.#entries.delete(name);
      return false;
    }
    return timingSafeEqual(entry.mac, this.#mac(name, password));
  }

  remember(name: string, password: string, phc: string, now = Date.now()): void {
    if (this.#ttlMs <= 0) return;
    this.#entries.delete(name);
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(name, { phc, mac: this.#mac(name, password), expires: now + this.#ttlMs });
  }

  forget(name: string): void {
    this.#entries.delete(name);
  }

  clear(): void {
    this.#entries.clear();
  }
}
