/** A draining service: sessions already open go on to the end; only the ones left at the goodbye time get 421. */
import { afterEach, describe, expect, it } from 'vitest';
import { connectionRefused } from '@hearth/testkit';
import { message, SmtpScope, type RawClient } from './harness.js';

const scope = new SmtpScope();
afterEach(() => scope.close());

async function greeted(port: number): Promise<RawClient> {
  const client = await scope.open(port);
  expect(await client.reply()).toMatch(/^220 /);
  return client;
}

describe('stop (drain)', () => {
  it('lets a greeted session and one in a transaction deliver and quit; refuses new ones; says 421 to the silent one', async () => {
    const smtp = await scope.start();
    const port = smtp.port('mx');
    const fresh = await greeted(port);
    const midway = await greeted(port);
    const silent = await greeted(port);
    expect(await midway.command('EHLO client.example')).toMatch(/^250/);
    expect(await midway.command('MAIL FROM:<a@example.org>')).toMatch(/^250/);
    expect(await midway.command('RCPT TO:<alice@localhost>')).toMatch(/^250/);
    const before = smtp.store.deliveries.length;

    const stopped = smtp.running.stop(Date.now() + 3000);
    expect(await connectionRefused(port)).toBe(true);
    for (const [client, subject] of [
      [fresh, 'fresh'],
      [midway, 'midway'],
    ] as const) {
      if (client === fresh) {
        expect(await client.command('EHLO client.example')).toMatch(/^250/);
        expect(await client.command('MAIL FROM:<a@example.org>')).toMatch(/^250/);
        expect(await client.command('RCPT TO:<alice@localhost>')).toMatch(/^250/);
      }
      expect(await client.command('DATA')).toMatch(/^354/);
      expect(await client.command(`${message(subject)}.`)).toMatch(/^250 2\.0\.0 Ok/);
      expect(await client.command('QUIT')).toMatch(/^221/);
      await client.closed;
    }
    expect(smtp.store.deliveries.length).toBe(before + 2);
    expect(await silent.reply()).toBe('421 4.4.2 Server shutting down, try again later');
    await silent.closed;
    await stopped;
  });
});
