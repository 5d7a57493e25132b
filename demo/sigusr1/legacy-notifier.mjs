/**
 * The legacy notifier, kept only to reproduce the historical bug: it listens for comsat datagrams
 * like the old mail server's master process did, and on each one tells "its children" about new
 * mail the old way, `kill(0, SIGUSR1)`: a signal to its whole process group. With every service
 * started in one group, that group is every sibling service. Never use this for anything else.
 *
 *   node legacy-notifier.mjs [PORT]     (UDP on 127.0.0.1; 0 or absent: any free port)
 *
 * It prints the port it listens on, and one line per datagram.
 */
import dgram from 'node:dgram';

// The master knew about its own signal and handled it; its siblings were not so lucky.
process.on('SIGUSR1', () => console.log('notifier: got my own SIGUSR1 (handled)'));
process.on('SIGTERM', () => process.exit(0));

const socket = dgram.createSocket('udp4');
socket.on('message', (data) => {
  const text = data.toString('latin1').split('\0')[0].trim();
  console.log(`notifier: new mail (${text}): telling everyone in my process group with kill(0, SIGUSR1)`);
  process.kill(0, 'SIGUSR1');
});
socket.bind(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  console.log(`notifier: comsat on 127.0.0.1:${socket.address().port}/udp`);
});
