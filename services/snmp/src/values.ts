/**
 * Values as SNMP can carry them. net-snmp's encoder throws at the next query on a value out of its
 * type's range (TimeTicks below 0, a Counter64 that is not an 8-byte Buffer, ...), and one throw
 * there ends the process; so every value the agent serves goes through one of these first, which
 * never throw and always return something in range.
 */

export type SnmpType = 'integer' | 'string' | 'octets' | 'oid' | 'counter32' | 'gauge32' | 'unsigned32' | 'timeticks' | 'counter64';

/** What net-snmp stores for a type: numbers, strings, or the Counter64 Buffer. */
export type Encoded = number | string | Buffer;

const UINT32_MAX = 2 ** 32 - 1;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
/** Longest DisplayString (SNMPv2-TC). */
export const DISPLAY_STRING_MAX = 255;

const finite = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'bigint' ? Number(v) : 0);

/** An integer clamped into [min, max] (NaN and non-numbers become `min` if 0 is outside, else 0). */
export function clampInt(v: unknown, min: number, max: number): number {
  const n = Math.trunc(finite(v));
  return (n < min ? min : n > max ? max : n) || 0; // never -0
}

/** Milliseconds as TimeTicks: hundredths of a second modulo 2^32, as the SMI defines it (snmpd's sysUpTime wraps after 497 days too). */
export function timeTicks(ms: unknown): number {
  const n = Math.trunc(finite(ms) / 10);
  return n <= 0 ? 0 : n % 2 ** 32;
}

/** Counter32 wraps at 2^32, as the SMI defines it. */
export function counter32(v: unknown): number {
  const n = Math.trunc(finite(v));
  return n <= 0 ? 0 : n % 2 ** 32;
}

/** Gauge32 / Unsigned32 latch at their maximum. */
export function gauge32(v: unknown): number {
  return clampInt(v, 0, UINT32_MAX);
}

/** A Counter64 as the 8-byte big-endian Buffer net-snmp requires (negative becomes 0). */
export function counter64(v: unknown): Buffer {
  const buf = Buffer.alloc(8);
  let n: bigint;
  if (typeof v === 'bigint') n = v;
  else {
    const f = Math.trunc(finite(v));
    n = BigInt(f > Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : f);
  }
  if (n < 0n) n = 0n;
  if (n > 0xffff_ffff_ffff_ffffn) n = 0xffff_ffff_ffff_ffffn;
  buf.writeBigUInt64BE(n);
  return buf;
}

/** A DisplayString: printable ASCII (others become `?`), at most `max` characters. */
export function displayString(v: unknown, max = DISPLAY_STRING_MAX): string {
  const s = typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v);
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, Math.min(max, DISPLAY_STRING_MAX));
}

/** An OBJECT IDENTIFIER value: dotted decimal with at least two arcs, else 0.0. */
export function oidValue(v: unknown): string {
  return typeof v === 'string' && /^\d+(\.\d+)+$/.test(v) ? v : '0.0';
}

/** Any value made safe for `type`. */
export function encode(type: SnmpType, v: unknown): Encoded {
  switch (type) {
    case 'integer':
      return clampInt(v, INT32_MIN, INT32_MAX);
    case 'string':
      return displayString(v);
    case 'octets':
      return Buffer.isBuffer(v) ? v.subarray(0, DISPLAY_STRING_MAX) : Buffer.from(displayString(v), 'latin1');
    case 'oid':
      return oidValue(v);
    case 'counter32':
      return counter32(v);
    case 'gauge32':
    case 'unsigned32':
      return gauge32(v);
    case 'timeticks':
      return timeTicks(v);
    case 'counter64':
      return counter64(v);
  }
}

export function sameEncoded(a: Encoded | undefined, b: Encoded): boolean {
  return Buffer.isBuffer(a) && Buffer.isBuffer(b) ? a.equals(b) : a === b;
}
