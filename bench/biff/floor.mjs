#!/usr/bin/env node
/**
 * The floor under the fan-out figure, measured on the same machine in the same run: a bare Node
 * process with N loopback TCP connections open writes one push-sized line to each when told to
 * (over its IPC channel), and this process, reading all N the way the benchmark's POP3 client
 * does, times the first and the last line. No protocol, no store, no bus: what one process's N
 * socket writes and one client's N reads cost here. `--writers 2` splits the connections over two
 * writer processes accepting on one listening socket.
 *
 *   node bench/biff/floor.mjs [--sessions 10000] [--writers 1] [--rounds 5]
 */
import { fork } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const SELF = fileURLToPath(import.meta.url);
const LINE = '* NEW 12 0123456789abcdef0123456789abcdef 1234\r\n';

/** The writer: takes the listening socket it is sent, accepts, writes one line to each on 'go'. */
function writer() {
  const sockets = [];
  process.on('message', (message, handle) => {
    if (message === 'listen') {
      net.createServer({ noDelay: true }, (s) => sockets.push(s.on('error', () => {}))).listen(handle, () => process.send('listening'));
    } else if (message === 'count') {
      process.send(sockets.length);
    } else if (message === 'go') {
      for (const s of sockets) s.write(LINE);
    }
  });
}

const ask = (child, message) => new Promise((resolve) => (child.once('message', resolve), child.send(message)));

/**
 * Median { first, last } ms (from telling the writers to the first and the last line read) over
 * `rounds` rounds with `sessions` connections over `writers` writer processes.
 */
export async function floorFanout(sessions, { writers = 1, rounds = 5 } = {}) {
  const server = net.createServer();
  await new Promise((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve));
  const children = [];
  const clients = [];
  try {
    for (let i = 0; i < writers; i++) {
      const child = fork(SELF, ['--writer'], { stdio: 'inherit' });
      children.push(child);
      await new Promise((resolve) => (child.once('message', resolve), child.send('listen', server)));
    }
    const { port } = server.address();
    server.close(); // the writers hold the listening socket now
    let got = 0;
    let last = 0;
    let first = 0;
    let round;
    for (let i = 0; i < sessions; i++) {
      const socket = net.connect({ port, host: '127.0.0.1' });
      socket.setEncoding('utf8');
      let text = '';
      socket.on('data', (d) => {
        const at = performance.now();
        text += d;
        for (let end = text.indexOf('\r\n'); end !== -1; end = text.indexOf('\r\n')) {
          text = text.slice(end + 2);
          if (got++ === 0) first = at;
          last = at;
          if (got === sessions) round?.();
        }
      });
      socket.on('error', () => {});
      clients.push(socket);
      if (i % 200 === 199) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    for (const end = performance.now() + 30_000; ; ) {
      let accepted = 0;
      for (const child of children) accepted += await ask(child, 'count');
      if (accepted === sessions) break;
      if (performance.now() > end) throw new Error(`floor: ${accepted} of ${sessions} connections accepted`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const results = [];
    for (let r = 0; r < rounds; r++) {
      got = 0;
      const done = new Promise((resolve) => (round = resolve));
      const timeout = setTimeout(() => round(), 10_000);
      const at = performance.now();
      for (const child of children) child.send('go');
      await done;
      clearTimeout(timeout);
      if (got < sessions) throw new Error(`floor: ${got} of ${sessions} lines read within 10 s`);
      results.push({ first: first - at, last: last - at });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const median = (key) => results.map((x) => x[key]).sort((a, b) => a - b)[Math.floor(results.length / 2)];
    return { first: median('first'), last: median('last') };
  } finally {
    for (const socket of clients) socket.destroy();
    for (const child of children) child.kill();
    server.close();
  }
}

if (process.argv.includes('--writer')) {
  writer();
} else if (process.argv[1] === SELF) {
  const { values } = parseArgs({
    options: { sessions: { type: 'string', default: '10000' }, writers: { type: 'string', default: '1' }, rounds: { type: 'string', default: '5' } },
  });
  const r = await floorFanout(Number(values.sessions), { writers: Number(values.writers), rounds: Number(values.rounds) });
  console.log(`bare Node fan-out floor, ${values.sessions} sessions, ${values.writers} writer(s): first line ${r.first.toFixed(1)} ms, last ${r.last.toFixed(1)} ms (median of ${values.rounds})`);
}
