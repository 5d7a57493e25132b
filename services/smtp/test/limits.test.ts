/** Limits: idle timeout, clients in total and per IP, command line length, error count. */
import { afterEach, describe, expect, it } from 'vitest';
import { SmtpScope, type RawClient } from './harness.js';

const scope = new SmtpScope();
afterEach(() => scope.close());
const open = (port: number) => scope.open(port);

describe('limits', () => {
  it('drops an idle client with 421', async () => {
    const smtp = await scope.start({ settings: { idleTimeout: '300ms' } });
    const client = await open(smtp.port('mx'));
    expect(await client.reply()).toMatch(/^220 /);
    expect(await client.command('EHLO c.example')).toMatch(/^250-/);
    expect(await client.reply()).toMatch(/^421 4\.4\.2 .*Timeout/);
    await client.closed;
  });

  it('refuses clients past maxClientsPerIp with 421 at connect, counting all listeners', async () => {
    const smtp = await scope.start({ settings: { maxClientsPerIp: 2, maxClients: 3 } });
    const a = await open(smtp.port('mx'));
    const b = await open(smtp.port('submission'));
    expect(await a.reply()).toMatch(/^220 /);
    expect(await b.reply()).toMatch(/^220 /);
    const c = await open(smtp.port('mx'));
    expect(await c.reply()).toMatch(/^421 4\.7\.0 Too many connections from your address/);
    await c.closed;
    // A slot frees up when a session ends.
    a.destroy();
    await a.closed;
    let d: RawClient;
    let greeting: string | undefined;
    for (let i = 0; ; i++) {
      d = await open(smtp.port('mx'));
      greeting = await d.reply();
      if (greeting?.startsWith('220') || i > 50) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(greeting).toMatch(/^220 /);
  });

  it('closes the connection on a command line over maxLineLength', async () => {
    const smtp = await scope.start({ settings: { maxLineLength: 512 } });
    const client = await open(smtp.port('mx'));
    await client.reply();
    expect(await client.command(`EHLO ${'a'.repeat(100)}.example`)).toMatch(/^250-/);
    expect(await client.command(`MAIL FROM:<${'x'.repeat(600)}@example.org>`)).toMatch(/^421 .*too long/i);
    await client.closed;
  });

  it('drops a client after maxBadCommands error replies (unknown commands, unknown users)', async () => {
    const smtp = await scope.start({ settings: { maxBadCommands: 3 } });
    const client = await open(smtp.port('mx'));
    await client.reply();
    await client.command('EHLO c.example');
    expect(await client.command('FOO')).toMatch(/^500 /);
    await client.command('MAIL FROM:<x@example.org>');
    expect(await client.command('RCPT TO:<nobody@localhost>')).toMatch(/^550 5\.1\.1 /);
    expect(await client.command('RCPT TO:<guess@localhost>')).toMatch(/^550 5\.1\.1 /);
    expect(await client.reply()).toMatch(/^421 4\.7\.0 Too many errors/);
    await client.closed;
  });

  it('waits greetingDelay and refuses a client talking before the greeting', async () => {
    const smtp = await scope.start({ settings: { greetingDelay: '200ms' } });
    const client = await open(smtp.port('mx'));
    client.write('EHLO early.example\r\n');
    expect(await client.reply()).toMatch(/^421 .*talk too soon/);
    await client.closed;
  });
});
