/**
 * @hearth/files: the WebDAV file service. `definition` is what `runService` runs (users from the
 * suite's accounts at DATA/accounts); `createDefinition(users)` runs it against any `FileUsers`,
 * and `createFilesServer` and `MemoryUsers` are exported for tests and tools that embed the engine.
 */
import { openSuiteAccounts } from '@hearth/accounts';
import type { ServiceDefinition } from '@hearth/runtime';
import { manifest, type FilesSettings } from './config.js';
import { startFilesService } from './service.js';
import { accountUsers, loginLimits, type FileUsers } from './users.js';

export { manifest, settingsSchema, defaultSettings, type FilesSettings, type ShareSettings } from './config.js';
export { createFilesServer, type FilesServer, type FilesServerDeps } from './server.js';
export { MemoryUsers, accountUsers, isLoopbackAddress, type FileUser, type FileUsers } from './users.js';
export { startFilesService } from './service.js';
export { counters } from './counters.js';

/** The service against the users given (tests, embedding). */
export function createDefinition(users: FileUsers): ServiceDefinition<FilesSettings> {
  return { ...manifest, start: (ctx) => startFilesService(ctx, users) };
}

/** What `runService` runs: the suite's accounts, opened at start and closed at stop. */
export const definition: ServiceDefinition<FilesSettings> = {
  ...manifest,
  async start(ctx) {
    const accounts = await openSuiteAccounts(ctx.suite.dataDir);
    try {
      const running = await startFilesService(ctx, accountUsers(accounts), accounts.loginPolicy(loginLimits(ctx.settings)));
      return {
        ...(running.counters ? { counters: running.counters } : {}),
        reload: running.reload!,
        async stop(deadline) {
          await running.stop(deadline);
          await accounts.close();
        },
      };
    } catch (error) {
      await accounts.close();
      throw error;
    }
  },
};
