/**
 * GetNext and GetBulk answers as RFC 3416 (4.2.2, 4.2.3) has them: each varbind names an object
 * after the one asked for, or is `endOfMibView` under the name asked for. net-snmp's agent gets
 * both ends wrong: a name past the last object served comes back as `noSuchObject` under that
 * name (snmpbulkwalk prints it once per repetition), and a name it cannot look up (`.2`, `.1.4`)
 * is walked from `1.3.6.1` again, so the answer goes backwards. `toSuccessors` puts those right
 * in a response already built; the values it keeps are net-snmp's.
 */
import type { Varbind } from 'net-snmp';

/** The varbind types net-snmp may wrongly put in a GetNext or GetBulk answer, and the right one. */
const NO_SUCH_OBJECT = 128;
const NO_SUCH_INSTANCE = 129;
export const END_OF_MIB_VIEW = 130;

/** Compares two dotted OIDs arc by arc (a prefix sorts first): <0, 0 or >0. */
export function compareOids(a: string, b: string): number {
  const x = a.split('.').filter((s) => s !== '');
  const y = b.split('.').filter((s) => s !== '');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = Number(x[i]) - Number(y[i]);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** `found` if it is a successor of `asked`, else endOfMibView under `asked`. */
function successor(asked: string, found: Varbind | undefined): Varbind {
  if (found && found.type !== NO_SUCH_OBJECT && found.type !== NO_SUCH_INSTANCE && found.type !== END_OF_MIB_VIEW && compareOids(found.oid, asked) > 0) return found;
  return { oid: asked, type: END_OF_MIB_VIEW, value: null };
}

/**
 * The varbinds of a GetNext (`nonRepeaters` = all of `asked`) or GetBulk response, each a
 * successor of what it follows: the requested name for the non-repeaters and the first
 * repetition, the same column's previous varbind after that. A column at its end stays there,
 * and once a whole repetition is at its end the response stops (as snmpd's does: the rest
 * would repeat it).
 */
export function toSuccessors(asked: readonly string[], nonRepeaters: number, varbinds: readonly Varbind[]): Varbind[] {
  const out: Varbind[] = [];
  const columns = asked.length - nonRepeaters;
  for (const [i, found] of varbinds.entries()) {
    if (i < nonRepeaters) {
      out.push(successor(asked[i]!, found));
      continue;
    }
    if (columns <= 0) break;
    const column = (i - nonRepeaters) % columns;
    if (column === 0 && i - columns >= nonRepeaters && out.slice(i - columns, i).every((v) => v.type === END_OF_MIB_VIEW)) break;
    const before = i - columns >= nonRepeaters ? out[i - columns]! : undefined;
    out.push(before === undefined ? successor(asked[nonRepeaters + column]!, found) : before.type === END_OF_MIB_VIEW ? before : successor(before.oid, found));
  }
  return out;
}
