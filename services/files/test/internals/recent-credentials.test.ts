/**
 * The credentials a client's next connections take (`users.ts`, `Authenticator`'s `#recent`): a
 * success is taken by a new connection of the same address and kind (HTTP or HTTPS) with the same
 * header, never past the check's second, never after a failed login, never once the account's
 * password was set again or it was disabled, and with the account's groups as they are then;
 * nothing without `FileUsers.current`; at most 4,096 are kept, the oldest dropped first. Connections here are plain objects with
 * an address (the authenticator keeps its memo on them); requests carry a header and a socket.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { CounterSet } from '@hearth/metrics';
import { defaultSettings } from '@hearth/files';
import { counters } from '../../dist/counters.js';
import { Authenticator, MemoryUsers, type FileUsers } from '../../dist/users.js';

const basic = (credentials: string): string => `Basic ${Buffer.from(credentials).toString('base64')}`;
const ALICE = basic('alice:secret');

function harness(users: FileUsers = new MemoryUsers().add('alice', 'secret')) {
  const live = new CounterSet(counters);
  const auth = new Authenticator(users, { ...defaultSettings(), loginFailureDelay: 0, realm: 'test', allowPlaintextAuth: true }, live);
  const connection = (address = '127.0.0.1', encrypted = false): Socket => ({ remoteAddress: address, encrypted }) as unknown as Socket;
  /** A full check of `header` on `socket` (a connection's first request, or one past the memo). */
  const check = (socket: Socket, header = ALICE): Promise<unknown> =>
    auth.check({ headers: { authorization: header }, socket } as unknown as IncomingMessage, (socket as unknown as { encrypted: boolean }).encrypted, socket.remoteAddress!);
  return { auth, live, connection, check };
}

describe("a client's next connections", () => {
  it('take a success of the same address, kind of connection and header, until the end of its second', async () => {
    const { auth, live, connection, check } = harness();
    const started = Date.now();
    await check(connection());
    expect(auth.verified(connection(), ALICE, Date.now())?.name).toBe('alice');
    expect(live.snapshot()['authSuccesses']).toBe(2);
    expect(auth.verified(connection('127.0.0.2'), ALICE, Date.now())).toBeUndefined();
    expect(auth.verified(connection('127.0.0.1', true), ALICE, Date.now())).toBeUndefined();
    expect(auth.verified(connection(), basic('alice:other'), Date.now())).toBeUndefined();
    // Not past the check's second (timed from before it began).
    expect(auth.verified(connection(), ALICE, started + 1001)).toBeUndefined();
  });

  it("take the account as it is then: its groups now, nothing once its password was set again", async () => {
    const users = new MemoryUsers().add('alice', 'secret', ['staff']);
    const { auth, connection, check } = harness(users);
    await check(connection());
    users.add('alice', 'secret', ['photos']);
    expect(auth.verified(connection(), ALICE, Date.now())?.groups).toEqual(['photos']);
    // Set again (to another password, or to the same one: the stamp changes either way here).
    users.add('alice', 'changed', ['photos']);
    expect(auth.verified(connection(), ALICE, Date.now())).toBeUndefined();
  });

  it('take nothing from users that cannot tell how an account is now', async () => {
    const plain = new MemoryUsers().add('alice', 'secret');
    const { auth, connection, check } = harness({ authenticate: (name, password) => plain.authenticate(name, password) });
    await check(connection());
    expect(auth.verified(connection(), ALICE, Date.now())).toBeUndefined();
  });

  it('take nothing once a login failed, whoever failed it', async () => {
    const { auth, connection, check } = harness();
    await check(connection());
    await expect(check(connection('127.0.0.9'), basic('alice:wrong'))).rejects.toMatchObject({ status: 401 });
    expect(auth.verified(connection(), ALICE, Date.now())).toBeUndefined();
  });

  it('keep at most 4,096, dropping the oldest first', async () => {
    const { auth, connection, check } = harness();
    const started = Date.now();
    for (let i = 0; i < 4097; i++) await check(connection(`10.0.${i >> 8}.${i & 255}`));
    const now = Date.now();
    // All made within their second (else the test would say nothing of the bound).
    expect(now - started).toBeLessThan(1000);
    // The 4,097th made room by dropping the oldest half.
    expect(auth.verified(connection('10.0.0.0'), ALICE, now)).toBeUndefined();
    expect(auth.verified(connection('10.0.7.255'), ALICE, now)).toBeUndefined();
    expect(auth.verified(connection('10.0.8.1'), ALICE, now)?.name).toBe('alice');
    expect(auth.verified(connection('10.0.16.0'), ALICE, now)?.name).toBe('alice');
  });
});
