// The benchmark fixture: answers every connection with one line `hello PID` and closes.
// Run directly (PM2, supervisord) it listens on 127.0.0.1:$PORT; Hearth runs the same handler
// through tiny-hearth.mjs on the socket it holds.
'use strict';
const net = require('node:net');

function handle(socket) {
  socket.on('error', () => {});
  socket.end(`hello ${process.pid}\n`);
}

function serve() {
  const server = net.createServer(handle);
  server.listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('ready'));
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.on('message', (m) => m === 'shutdown' && stop());
}

module.exports = { handle };
// PM2 loads the file through its own container: require.main is not this module then.
if (require.main === module || process.env.pm_id !== undefined) serve();
