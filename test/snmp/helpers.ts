/** Debian's snmp tools against the agent of a `hearth up`: a run, and the Hearth MIB walked into rows by service name. */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SNMP_DIST = fileURLToPath(import.meta.resolve('@hearth/snmp'));
const NET_SNMP_MIBS = join(dirname(createRequire(SNMP_DIST).resolve('net-snmp')), 'lib', 'mibs');
/** net-snmp's bundled IETF MIBs (Debian's snmp tools ship none) and ours. */
export const MIBS = ['-M', `${NET_SNMP_MIBS}:${join(dirname(SNMP_DIST), '..', 'mib')}`, '-m', 'SNMPv2-MIB:HEARTH-MIB'];

export interface Agent {
  readonly port: number;
  readonly community: string;
}

/** `TOOL -v2c -c COMMUNITY TIMING 127.0.0.1:PORT ARGS`; rejects with the tool's stderr. */
export function snmpWith(agent: Agent, timing: readonly string[], tool: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(tool, [...MIBS, '-v2c', '-c', agent.community, ...timing, `127.0.0.1:${agent.port}`, ...args], (err, stdout, stderr) =>
      err ? reject(new Error(`${tool}: ${stderr || err.message}`)) : resolve(stdout),
    ),
  );
}

export interface ServedService {
  readonly state: string;
  /** Counters and gauges by name. */
  readonly counters: Record<string, number>;
}

/** The service table and counters as the SNMP agent serves them, by service name. */
/** Counter and gauge ids are one numbering per service (`@hearth/metrics`), so an id names one of either. */
export async function walk(agent: Agent): Promise<Map<string, ServedService>> {
  const out = await snmpWith(agent, ['-t', '2', '-r', '1'], 'snmpwalk', '-OQs', 'HEARTH-MIB::hearthMIB');
  const byIndex = new Map<string, { name: string; state: string; names: Map<string, string>; counters: Record<string, number> }>();
  const row = (i: string) => byIndex.get(i) ?? byIndex.set(i, { name: '', state: '', names: new Map(), counters: {} }).get(i)!;
  const lines = out.split('\n').map((l) => /^(\w+)\.([\d.]+) = (.*)$/.exec(l)).filter((m) => m !== null);
  for (const [, column, index, value] of lines as string[][]) {
    const [svc, id] = index!.split('.');
    if (column === 'hearthServiceName') row(svc!).name = value!;
    if (column === 'hearthServiceState') row(svc!).state = value!;
    if (column === 'hearthCounterName' || column === 'hearthGaugeName') row(svc!).names.set(id!, value!);
  }
  for (const [, column, index, value] of lines as string[][]) {
    const [svc, id] = index!.split('.');
    if (column === 'hearthCounterValue' || column === 'hearthGaugeValue') row(svc!).counters[row(svc!).names.get(id!)!] = Number(value);
  }
  return new Map([...byIndex.values()].map((r) => [r.name, { state: r.state, counters: r.counters }]));
}
