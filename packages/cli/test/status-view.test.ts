/** The status table with counters, one service's detail, and the terminal redraw. */
import { describe, expect, it } from 'vitest';
import { counterFigure, declareCounters } from '@hearth/metrics';
import type { ServiceStatus } from '@hearth/supervisor';
import { connectionsOf, formatCount, jsonRows, keyCounters, redraw, serviceDetail, statusTable } from '@hearth/cli';

const decl = declareCounters({
  connectionsTotal: { id: 1, type: 'counter', description: 'Connections accepted', unit: 'connections', key: true },
  connectionsOpen: { id: 2, type: 'gauge', description: 'Connections open now', unit: 'connections', key: true },
  messagesReceived: { id: 3, type: 'counter', description: 'Messages accepted', unit: 'messages', key: true },
  bytesIn: { id: 4, type: 'counter', description: 'Bytes received', unit: 'bytes', prometheus: { name: 'received_bytes_total' } },
});

const row: ServiceStatus = {
  name: 'smtp',
  type: 'service',
  kind: 'smtp',
  state: 'running',
  pid: 100,
  standbyPid: 101,
  rssBytes: 60 * 1024 * 1024,
  standbyRssBytes: 50 * 1024 * 1024,
  restarts: 1,
  uptimeMs: 125_000,
  lastExit: { code: null, signal: 'SIGKILL', at: '2026-12-03T00:00:00.000Z' },
  reason: null,
  listeners: [{ name: 'mx', protocol: 'tcp', address: '127.0.0.1', port: 2025 }],
  counters: [
    counterFigure('connectionsTotal', decl.connectionsTotal, 12_345),
    counterFigure('connectionsOpen', decl.connectionsOpen, 3),
    counterFigure('messagesReceived', decl.messagesReceived, 42),
    counterFigure('bytesIn', decl.bytesIn, 1_000_000),
  ],
};

describe('hearth status views', () => {
  it('the table shows open connections and the key counters; a row without counters shows -', () => {
    const old: ServiceStatus = { ...row, name: 'web', kind: undefined, type: 'command', counters: undefined } as unknown as ServiceStatus;
    const lines = statusTable([row, old]).split('\n');
    expect(lines[0]).toMatch(/^SERVICE\s+STATE\s+PID\s+STANDBY\s+MEMORY\s+UPTIME\s+RESTARTS\s+LAST EXIT\s+CONNS\s+COUNTERS/);
    expect(lines[1]).toMatch(/^smtp\s+running\s+100\s+101\s+60\.0M \+ 50\.0M\s+2m5s\s+1\s+signal SIGKILL\s+3\s+connectionsTotal=12\.3k messagesReceived=42$/);
    expect(lines[2]).toMatch(/^web\s+running .* -$/);
    expect(connectionsOf([])).toBe('-');
    expect(keyCounters(row.counters!)).not.toContain('bytesIn');
    expect([formatCount(9999), formatCount(2_500_000), formatCount(7e9)]).toEqual(['9999', '2.5M', '7.0G']);
  });

  it('one service lists every counter with its type, unit and description', () => {
    const text = serviceDetail(row);
    expect(text).toContain('smtp (smtp): running');
    expect(text).toContain('listens mx 127.0.0.1:2025/tcp');
    expect(text).toMatch(/bytesIn\s+counter\s+1000000\s+bytes\s+Bytes received/);
    expect(text).toMatch(/connectionsOpen\s+gauge\s+3\s+connections\s+Connections open now/);
  });

  it('a redraw goes home, clears each line to its end and the rest of the screen', () => {
    expect(redraw('a\nbb')).toBe('\x1b[Ha\x1b[K\nbb\x1b[K\n\x1b[J');
  });

  it('--json prints the rows without the counters\' Prometheus exposure, the rest as the supervisor sent it', () => {
    const bytes = row.counters!.find((c) => c.name === 'bytesIn')!;
    expect(bytes.prometheus).toEqual({ name: 'received_bytes_total' });
    const { prometheus: _, ...plain } = bytes;
    const printed = jsonRows(row);
    expect(JSON.stringify(printed)).toBe(JSON.stringify({ ...row, counters: row.counters!.map((c) => (c === bytes ? plain : c)) }));
    expect(jsonRows([row, row])).toEqual([printed, printed]);
    const old = { ...row, counters: undefined } as unknown as ServiceStatus;
    expect(jsonRows(old)).toBe(old);
  });
});
