/**
 * What `hearth up` prints on a terminal once everything is ready: each service with its
 * addresses, where the data lives, while there are no users how to add one, and while no
 * administrator can sign in (none, or every one disabled) the admin page's one-time setup link.
 */
import { join } from 'node:path';
import { openSuiteAccounts } from '@hearth/accounts';
import { readSetupToken, setupLink } from '@hearth/admin/setup-link';
import type { ServiceStatus } from '@hearth/supervisor';
import { address } from './listener-address.js';

/** How many users there are, or undefined when that cannot be told (no store yet counts as none). */
async function userCount(dataDir: string): Promise<number | undefined> {
  try {
    const accounts = await openSuiteAccounts(dataDir, { create: false });
    try {
      return accounts.list().length;
    } finally {
      await accounts.close();
    }
  } catch (error) {
    return (error as { code?: unknown }).code === 'ACCOUNTS_MISSING' ? 0 : undefined;
  }
}

export async function readySummary(status: readonly ServiceStatus[], dataDir: string): Promise<string> {
  const width = Math.max(...status.map((s) => s.name.length), 4);
  const down = status.filter((s) => s.state !== 'running');
  const lines = ['', down.length === 0 ? 'Hearth is ready.' : `Hearth is up, but ${down.length} of ${status.length} services ${down.length === 1 ? 'is' : 'are'} not running (\`hearth status\`, \`hearth logs NAME\`):`];
  for (const s of status) {
    const where = s.listeners.length > 0 ? s.listeners.map(address).join(', ') : '(no listeners)';
    const why = s.state !== 'running' && s.reason ? `  ${s.reason}` : '';
    lines.push(`  ${s.name.padEnd(width)}  ${s.state.padEnd(8)}  ${where}${why}`);
  }
  // Users and mail are Hearth's own services' business: a suite of plain commands has neither.
  const hearthServices = status.some((s) => s.kind !== null && s.kind !== undefined);
  lines.push(hearthServices ? `Data: ${dataDir} (mail in ${join(dataDir, 'mail')})` : `Data: ${dataDir}`);
  const users = hearthServices ? await userCount(dataDir) : undefined;
  if (users === 0) lines.push(`No users yet: add one with \`hearth user add NAME --data ${dataDir}\` from another terminal.`);
  const admin = status.find((s) => s.kind === 'admin' && s.listeners.length > 0);
  const token = admin ? readSetupToken(dataDir) : undefined;
  if (admin && token !== undefined) lines.push(`No administrator can sign in: create one at ${setupLink(admin.listeners[0]!, token)} (the link works once).`);
  lines.push('Stop with Ctrl-C (or `hearth down`).', '');
  return lines.join('\n') + '\n';
}
