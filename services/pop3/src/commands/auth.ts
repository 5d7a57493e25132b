/**
 * AUTH (RFC 5034) with PLAIN (RFC 4616) and LOGIN. An initial response may follow the mechanism
 * (`=` means empty); `*` on a continuation line cancels. Bare AUTH lists the mechanisms.
 */
import { replies, type Reply } from '../replies.js';
import type { CommandContext } from './context.js';

export const MECHANISMS = ['PLAIN', 'LOGIN'] as const;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

type Decoded = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly reply: Reply };

function decode(line: string): Decoded {
  if (line === '*') return { ok: false, reply: replies.authCancelled() };
  if (line === '=' || line === '') return { ok: true, text: '' };
  if (!BASE64.test(line)) return { ok: false, reply: replies.badBase64() };
  return { ok: true, text: Buffer.from(line, 'base64').toString('utf8') };
}

function challenge(prompt: string, next: (line: string) => Promise<Reply> | Reply): Reply {
  return { kind: 'challenge', text: `+ ${Buffer.from(prompt).toString('base64')}`, next };
}

export async function auth(ctx: CommandContext, args: readonly string[]): Promise<Reply> {
  ctx.setPendingUser(undefined);
  if (args.length === 0) {
    const lines = ctx.plaintextAllowed ? [...MECHANISMS] : [];
    return { kind: 'lines', text: `+OK ${replies.authMechanisms()}`, lines };
  }
  const mechanism = (args[0] ?? '').toUpperCase();
  const initial = args[1];
  if (mechanism !== 'PLAIN' && mechanism !== 'LOGIN') return replies.unknownMechanism(mechanism);
  if (!ctx.plaintextAllowed) return replies.plaintextRefused();
  return mechanism === 'PLAIN' ? plain(ctx, initial) : login(ctx, initial);
}

function plain(ctx: CommandContext, initial: string | undefined): Reply | Promise<Reply> {
  const finish = (line: string): Reply | Promise<Reply> => {
    const decoded = decode(line);
    if (!decoded.ok) return decoded.reply;
    const [authzid = '', authcid = '', password = '', ...extra] = decoded.text.split('\0');
    if (extra.length > 0 || authcid === '' || (authzid !== '' && authzid !== authcid)) {
      return ctx.login({ user: authcid, mechanism: 'PLAIN', verify: async () => ({ kind: 'rejected' }) });
    }
    return ctx.login({ user: authcid, mechanism: 'PLAIN', verify: (user) => ctx.backing.authenticate(user, password), password });
  };
  return initial === undefined ? challenge('', finish) : finish(initial);
}

function login(ctx: CommandContext, initial: string | undefined): Reply | Promise<Reply> {
  const askPassword = (name: string): Reply =>
    challenge('Password:', (line) => {
      const decoded = decode(line);
      if (!decoded.ok) return decoded.reply;
      const password = decoded.text;
      return ctx.login({ user: name, mechanism: 'LOGIN', verify: (user) => ctx.backing.authenticate(user, password), password });
    });
  const withName = (line: string): Reply => {
    const decoded = decode(line);
    return decoded.ok ? askPassword(decoded.text) : decoded.reply;
  };
  return initial === undefined ? challenge('Username:', withName) : withName(initial);
}
