// The same fixture as a Hearth module service: tiny-server.cjs's handler on the held socket.
import net from 'node:net';
import { createRequire } from 'node:module';

const { handle } = createRequire(import.meta.url)('./tiny-server.cjs');
// zod, the copy the suite uses (bench/ does not depend on it directly).
const { z } = createRequire(import.meta.resolve('@hearth/testkit'))('zod');

export const definition = {
  kind: 'tiny',
  settings: z.strictObject({}),
  defaultListeners: [{ name: 'main', protocol: 'tcp', address: '127.0.0.1', port: 0, tls: false }],
  async start(ctx) {
    const servers = [];
    const open = new Set();
    for (const l of ctx.listeners.values()) {
      const server = net.createServer((s) => {
        open.add(s);
        s.on('close', () => open.delete(s));
        handle(s);
      });
      await l.listen(server);
      servers.push(server);
    }
    return {
      async stop(deadline) {
        for (const s of servers) s.close();
        while (open.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      },
    };
  },
};
