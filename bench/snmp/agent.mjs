/**
 * The Hearth SNMP agent alone in this process, serving N fixture services with 12 counters each
 * (the shape of a real service's rows), for bench/snmp/run.mjs. Prints `port PORT` when ready.
 *
 *   node bench/snmp/agent.mjs SERVICES COMMUNITY DATA_DIR
 */
import { createLogger } from '@hearth/log';
import { counterFigure } from '@hearth/metrics';
import { LocalBus, ownListener } from '@hearth/runtime';
import { FixedFigureSource, manifest, startSnmp } from '@hearth/snmp';

const [services = '4', community = 'bench-community', dataDir = '/tmp'] = process.argv.slice(2);
const log = createLogger({ svc: 'snmp', level: 'warn', pretty: false, destination: 2 });
const settings = manifest.settings.parse({ communities: [community] });
const spec = { name: 'snmp', protocol: 'udp', address: '127.0.0.1', port: 0, tls: false };
const ctx = {
  name: 'snmp',
  settings,
  suite: { dataDir, mail: { domains: ['localhost'] }, tls: {} },
  log,
  listeners: new Map([['snmp', ownListener(spec)]]),
  bus: new LocalBus('snmp', log),
};

const counters = Array.from({ length: 12 }, (_, i) => ({
  name: `counter${i + 1}`,
  spec: { id: i + 1, type: i % 4 === 0 ? 'gauge' : 'counter', description: `Fixture counter number ${i + 1}`, unit: 'events', key: i < 3 },
}));
const source = new FixedFigureSource();
const figures = (tick) => ({
  at: Date.now(),
  services: Array.from({ length: Number(services) }, (_, s) => ({
    name: `service${s + 1}`,
    kind: 'fixture',
    state: 'running',
    pid: 1000 + s,
    uptimeMs: 60_000 + tick * 1000,
    restarts: 0,
    lastExit: null,
    rssBytes: 60 * 1024 * 1024,
    counters: counters.map((c) => counterFigure(c.name, c.spec, tick * (s + 1))),
  })),
});
let tick = 0;
const running = await startSnmp(ctx, source);
source.push(figures(tick));
// Figures change once a second, as under the supervisor.
setInterval(() => source.push(figures(++tick)), 1000).unref();
process.stdout.write(`port ${running.sockets.get('snmp').address().port}\n`);
process.on('SIGTERM', async () => {
  await running.stop(Date.now() + 1000);
  process.exit(0);
});
setInterval(() => {}, 1 << 30);
