/** The file service's process entry: run under the supervisor and exit with the code it gives. */
import { join } from 'node:path';
import { openMailStore } from '@hearth/mail-store';
import { runService } from '@hearth/runtime';
import { createDefinition } from './index.js';
import type { FileUsers } from './users.js';

/** The suite's users as the mail store holds them (user names and scrypt passwords; no groups). */
function storeUsers(dataDir: () => string): FileUsers {
  let store: Awaited<ReturnType<typeof openMailStore>> | undefined;
  return {
    async authenticate(name, password) {
      store ??= await openMailStore({ dir: join(dataDir(), 'mail') });
      return (await store.verifyPassword(name, password)) ? { name, groups: [] } : undefined;
    },
  };
}

let dataDir = '';
const definition = createDefinition(storeUsers(() => dataDir));
process.exit(
  await runService({ ...definition, start: (ctx) => ((dataDir = ctx.suite.dataDir), definition.start(ctx)) }, { env: process.env }),
);
