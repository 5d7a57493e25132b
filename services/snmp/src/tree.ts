/**
 * The served objects, typed: scalars and tables declared with our value types, set through
 * `values.ts` (so nothing out of range reaches the encoder) and never throwing (net-snmp's
 * setters throw on a value they dislike; a failure here is logged and the old value stays).
 *
 * Tables are synchronised as a whole: `syncTable` takes the rows that should exist, adds the new
 * ones, updates the cells that changed and deletes the rows that are gone.
 */
import * as snmp from 'net-snmp';
import type { Logger } from '@hearth/log';
import { encode, sameEncoded, type Encoded, type SnmpType } from './values.js';

const NET_SNMP_TYPE: Record<SnmpType, number> = {
  integer: snmp.ObjectType.Integer,
  string: snmp.ObjectType.OctetString,
  octets: snmp.ObjectType.OctetString,
  oid: snmp.ObjectType.OID,
  counter32: snmp.ObjectType.Counter,
  gauge32: snmp.ObjectType.Gauge,
  unsigned32: snmp.ObjectType.Gauge,
  timeticks: snmp.ObjectType.TimeTicks,
  counter64: snmp.ObjectType.Counter64,
};

export interface ColumnDef {
  readonly number: number;
  readonly name: string;
  readonly type: SnmpType;
}

export interface TableDef {
  readonly name: string;
  /** The table's OID (the `...Table` object; its entry is `.1`). */
  readonly oid: string;
  /**
   * Index parts: a column of this table (not-accessible, not served), or a column of another
   * table registered first (`foreign`), as `INDEX { hearthServiceIndex, hearthCounterIndex }`.
   */
  readonly index: readonly { readonly column: string; readonly foreign?: string }[];
  /** The table's own columns, index columns included, by column number. */
  readonly columns: readonly ColumnDef[];
}

/** A row: its index values (unsigned integers) and a value for each served column, by name. */
export interface Row {
  readonly index: readonly number[];
  readonly values: Readonly<Record<string, unknown>>;
}

interface TableState {
  readonly def: TableDef;
  /** Served columns (not index columns of this table). */
  readonly served: readonly ColumnDef[];
  readonly localIndex: ReadonlySet<string>;
  /** Encoded cells by row key (index joined by '.'), in `served` order. */
  readonly rows: Map<string, Encoded[]>;
}

export class ObjectTree {
  readonly #scalars = new Map<string, { type: SnmpType; value: Encoded | undefined }>();
  readonly #tables = new Map<string, TableState>();

  constructor(
    private readonly mib: snmp.Mib,
    private readonly log: Logger,
  ) {}

  scalar(name: string, oid: string, type: SnmpType, value: unknown): void {
    this.mib.registerProviders([{ name, type: snmp.MibProviderType.Scalar, oid, scalarType: NET_SNMP_TYPE[type], maxAccess: snmp.MaxAccess['read-only'] }]);
    this.#scalars.set(name, { type, value: undefined });
    this.set(name, value);
  }

  /** Sets a registered scalar (a no-op when the value is unchanged). */
  set(name: string, value: unknown): void {
    const s = this.#scalars.get(name);
    if (!s) return;
    const v = encode(s.type, value);
    if (s.value !== undefined && sameEncoded(s.value, v)) return;
    try {
      this.mib.setScalarValue(name, v);
      s.value = v;
    } catch (err) {
      this.log.error({ err, object: name }, 'snmp value refused');
    }
  }

  table(def: TableDef): void {
    const localIndex = new Set(def.index.filter((i) => i.foreign === undefined).map((i) => i.column));
    this.mib.registerProviders([
      {
        name: def.name,
        type: snmp.MibProviderType.Table,
        // net-snmp wants the entry's OID: columns are entry.column.index.
        oid: `${def.oid}.1`,
        maxAccess: snmp.MaxAccess['not-accessible'],
        tableColumns: def.columns.map((c) => ({
          number: c.number,
          name: c.name,
          type: NET_SNMP_TYPE[c.type],
          maxAccess: localIndex.has(c.name) ? snmp.MaxAccess['not-accessible'] : snmp.MaxAccess['read-only'],
        })),
        tableIndex: def.index.map((i) => (i.foreign === undefined ? { columnName: i.column } : { columnName: i.column, foreign: i.foreign })),
      },
    ]);
    this.#tables.set(def.name, { def, served: def.columns.filter((c) => !localIndex.has(c.name)), localIndex, rows: new Map() });
  }

  /** Makes the table hold exactly `rows`. */
  syncTable(name: string, rows: readonly Row[]): void {
    const t = this.#tables.get(name);
    if (!t) return;
    const wanted = new Set<string>();
    for (const row of rows) {
      const index = row.index.map((i) => encode('unsigned32', i) as number);
      const key = index.join('.');
      if (wanted.has(key)) continue;
      wanted.add(key);
      const cells = t.served.map((c) => encode(c.type, row.values[c.name]));
      const old = t.rows.get(key);
      try {
        if (!old) {
          this.mib.addTableRow(name, this.#fullRow(t, index, cells));
          t.rows.set(key, cells);
          continue;
        }
        for (const [i, c] of t.served.entries()) {
          if (sameEncoded(old[i], cells[i]!)) continue;
          this.mib.setTableSingleCell(name, c.number, index, cells[i]);
          old[i] = cells[i]!;
        }
      } catch (err) {
        this.log.error({ err, table: name, row: key }, 'snmp row refused');
      }
    }
    for (const key of [...t.rows.keys()]) {
      if (wanted.has(key)) continue;
      try {
        this.mib.deleteTableRow(name, key.split('.').map(Number));
      } catch (err) {
        this.log.error({ err, table: name, row: key }, 'snmp row delete failed');
      }
      t.rows.delete(key);
    }
  }

  /** Row keys of a table (for tests). */
  rowKeys(name: string): readonly string[] {
    return [...(this.#tables.get(name)?.rows.keys() ?? [])];
  }

  /**
   * net-snmp's row layout: the foreign index values first, then one value per column of the
   * table in declaration order (the local index columns hold their index value).
   */
  #fullRow(t: TableState, index: readonly number[], cells: readonly Encoded[]): unknown[] {
    const foreign = t.def.index.flatMap((part, i) => (part.foreign === undefined ? [] : [index[i]]));
    let served = 0;
    const own = t.def.columns.map((c) => {
      if (t.localIndex.has(c.name)) return index[t.def.index.findIndex((p) => p.column === c.name)];
      return cells[served++];
    });
    return [...foreign, ...own];
  }
}
