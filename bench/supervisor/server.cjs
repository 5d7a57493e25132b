// The supervised service of bench/supervisor: a trivial TCP server that answers every connection
// with one line, `ok <pid>\n`, then closes. CommonJS so PM2's fork container loads it as it is.
'use strict';
const net = require('node:net');

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('usage: node server.cjs PORT\n');
  process.exit(64);
}
const line = `ok ${process.pid}\n`;
const server = net.createServer((socket) => {
  socket.on('error', () => {});
  socket.end(line);
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
