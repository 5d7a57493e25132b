/**
 * What the agent keeps in `DATA/snmp/` (directory 0700, files 0600, each written whole to a
 * temporary file and renamed):
 *
 * - `engine.json`: the SNMPv3 engine ID, generated once, and snmpEngineBoots, raised at every
 *   start (RFC 3414: boots and time together make replayed messages stale);
 * - `community`: the read-only v2c community generated at first start when the config names
 *   neither communities nor users (printed by `hearth snmp credentials`);
 * - `services.json`: the number given to each service name (`hearthServiceIndex`), so a service
 *   keeps its row number across restarts; a number is never given to another name.
 *
 * On a full disk the agent does not start (a boots value it cannot raise would let replayed v3
 * messages through); a running agent gives a new service its number in memory until the table
 * can be written.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { replaceFileSync } from '@hearth/durable';

export const STATE_DIR = 'snmp';
export const COMMUNITY_FILE = 'community';
const ENGINE_FILE = 'engine.json';
const SERVICES_FILE = 'services.json';
/** snmpEngineBoots stops here (RFC 3414: then the engine must be given a new ID by hand). */
const MAX_BOOTS = 2 ** 31 - 1;
/** Service names remembered; past this new names get no row (and a log line). */
export const MAX_SERVICE_NAMES = 10_000;

/** The folder, created 0700 if missing. */
export function stateDir(dataDir: string): string {
  const dir = join(dataDir, STATE_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** Writes `path` whole (0600), synced, so that a power loss leaves the old state or the new one (`@hearth/durable`). */
function writePrivate(path: string, text: string): void {
  replaceFileSync(path, text, 0o600);
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * A new engine ID (RFC 3411 SnmpEngineID, 17 bytes): 0x80 and the enterprise number 32473 (the
 * placeholder of the MIB), format 5 (administratively assigned octets), 12 random bytes.
 */
export function newEngineId(): Buffer {
  return Buffer.concat([Buffer.from([0x80, 0x00, 0x7e, 0xd9, 0x05]), randomBytes(12)]);
}

export interface EngineState {
  readonly engineId: Buffer;
  readonly boots: number;
}

/** Reads the engine state, raises boots by one and writes it back; generates the ID the first time. */
export function startEngine(dir: string): EngineState {
  const path = join(dir, ENGINE_FILE);
  const text = readOrUndefined(path);
  let engineId: Buffer | undefined;
  let boots = 0;
  if (text !== undefined) {
    let saved: { engineId?: unknown; boots?: unknown };
    try {
      saved = JSON.parse(text) as typeof saved;
    } catch (err) {
      throw new Error(`${path}: not JSON (${(err as Error).message})`, { cause: err });
    }
    if (typeof saved.engineId !== 'string' || !/^([0-9a-f]{2}){5,32}$/.test(saved.engineId)) throw new Error(`${path}: engineId is not 5 to 32 bytes of hex`);
    if (!Number.isInteger(saved.boots) || (saved.boots as number) < 0) throw new Error(`${path}: boots is not a non-negative integer`);
    engineId = Buffer.from(saved.engineId, 'hex');
    boots = saved.boots as number;
  }
  engineId ??= newEngineId();
  boots = Math.min(boots + 1, MAX_BOOTS);
  writePrivate(path, `${JSON.stringify({ engineId: engineId.toString('hex'), boots })}\n`);
  return { engineId, boots };
}

/** The generated community, made (0600) the first time it is asked for. */
export function generatedCommunity(dir: string): string {
  const path = join(dir, COMMUNITY_FILE);
  const saved = readOrUndefined(path)?.trim();
  if (saved) return saved;
  const community = randomBytes(18).toString('base64url');
  writePrivate(path, `${community}\n`);
  return community;
}

/** Service names and their numbers, kept on disk. */
export class ServiceIndex {
  readonly #byName = new Map<string, number>();
  #next = 1;

  /**
   * `onFull`: a name that gets no number (the table is full); `onUnsaved`: a number given but not
   * written (a full disk): it holds in memory, and the whole table is written with the next new
   * name.
   */
  constructor(
    private readonly path: string | undefined,
    private readonly onFull: (name: string) => void = () => {},
    private readonly onUnsaved: (name: string, error: Error) => void = () => {},
  ) {
    const text = path === undefined ? undefined : readOrUndefined(path);
    if (text === undefined) return;
    const saved = JSON.parse(text) as { names?: unknown };
    if (saved.names === null || typeof saved.names !== 'object') throw new Error(`${path}: names is not an object`);
    for (const [name, index] of Object.entries(saved.names as Record<string, unknown>)) {
      if (!Number.isInteger(index) || (index as number) < 1) throw new Error(`${path}: ${name}: ${String(index)} is not a positive integer`);
      this.#byName.set(name, index as number);
      this.#next = Math.max(this.#next, (index as number) + 1);
    }
  }

  static inDir(dir: string, onFull?: (name: string) => void, onUnsaved?: (name: string, error: Error) => void): ServiceIndex {
    return new ServiceIndex(join(dir, SERVICES_FILE), onFull, onUnsaved);
  }

  /** The service's number, given now if it has none (undefined once the table is full). */
  indexOf(name: string): number | undefined {
    const known = this.#byName.get(name);
    if (known !== undefined) return known;
    if (this.#byName.size >= MAX_SERVICE_NAMES || this.#next > 2 ** 31 - 1) {
      this.onFull(name);
      return undefined;
    }
    const index = this.#next++;
    this.#byName.set(name, index);
    if (this.path !== undefined) {
      try {
        writePrivate(this.path, `${JSON.stringify({ names: Object.fromEntries(this.#byName) }, null, 2)}\n`);
      } catch (err) {
        this.onUnsaved(name, err as Error);
      }
    }
    return index;
  }
}
