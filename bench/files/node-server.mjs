/**
 * The Node servers of the file benchmark, with `cluster` workers sharing one listening socket:
 * with one worker the server runs in the process itself.
 * `hearth DATA ROOT PORT WORKERS` serves ROOT as share `bench` with the file service (user
 * bench/bench, access log off), `floor PORT WORKERS [HEADERS]` is a bare node:http server answering
 * 4 KB from memory: the fastest any Node server can answer on this machine. With HEADERS (a JSON
 * list of names and values: those Hearth sends with that file) it sends those instead, and only for
 * the benchmark's credentials (401 otherwise): the floor for that very answer.
 */
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [mode, ...args] = process.argv.slice(2);
const [port, workers] = mode === 'hearth' ? [Number(args[2]), Number(args[3])] : [Number(args[0]), Number(args[1])];
const BODY = Buffer.alloc(4096, 's');

// One worker: the server runs in this process (as the supervisor runs a service: one process).
const notify = (m) => (process.send ? process.send(m) : console.log('READY'));

if (cluster.isPrimary && workers > 1) {
  let ready = 0;
  for (let i = 0; i < workers; i++) {
    cluster.fork().on('message', (m) => {
      if (m === 'listening' && ++ready === workers) console.log('READY');
    });
  }
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGKILL');
    process.exit(0);
  });
} else if (mode === 'floor') {
  const fileHeaders = args[2] === undefined ? undefined : JSON.parse(args[2]);
  const credentials = `Basic ${Buffer.from('bench:bench').toString('base64')}`;
  const answer =
    fileHeaders === undefined
      ? (req, res) => {
          res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': BODY.length });
          res.end(BODY);
        }
      : (req, res) => {
          if (req.headers.authorization !== credentials) {
            res.writeHead(401, { 'Content-Length': 0 });
            return void res.end();
          }
          res.writeHead(200, fileHeaders);
          res.end(BODY);
        };
  createServer(answer).listen(port, '127.0.0.1', () => notify('listening'));
} else {
  // FILES_DIST: another build of the file service (its dist folder), to compare two versions.
  const dist = process.env.FILES_DIST;
  const { createFilesServer, defaultSettings, MemoryUsers } = await import(dist ? pathToFileURL(join(dist, 'index.js')).href : '@hearth/files');
  const { HandlerTable } = await import('@hearth/runtime');
  const { createLogger } = await import('@hearth/log');
  const [dataDir, root] = args;
  const settings = { ...defaultSettings(), home: { enabled: false, quota: 0, refuseAppleFiles: false }, maxRequestsPerClient: 10_000, shares: { bench: { path: root, read: [], write: ['bench'], refuseAppleFiles: false } } };
  const files = createFilesServer({
    settings,
    users: new MemoryUsers().add('bench', 'bench'),
    handlers: new HandlerTable(),
    dataDir,
    log: createLogger({ svc: 'files', level: process.env.FILES_BENCH_LOG ?? 'warn', pretty: false }),
  });
  files.httpServer().listen(port, '127.0.0.1', () => notify('listening'));
}
