/**
 * @hearth/files: the WebDAV file service. `createDefinition(users)` is what `runService` runs;
 * `createFilesServer` and `MemoryUsers` are exported for tests and for tools that embed the engine.
 */
import type { ServiceDefinition } from '@hearth/runtime';
import { manifest, type FilesSettings } from './config.js';
import { startFilesService } from './service.js';
import type { FileUsers } from './users.js';

export { manifest, settingsSchema, defaultSettings, type FilesSettings, type ShareSettings } from './config.js';
export { createFilesServer, type FilesServer, type FilesServerDeps } from './server.js';
export { MemoryUsers, isLoopbackAddress, type FileUser, type FileUsers } from './users.js';
export { startFilesService } from './service.js';

/** What `runService` runs, with the users it authenticates against. */
export function createDefinition(users: FileUsers): ServiceDefinition<FilesSettings> {
  return { ...manifest, start: (ctx) => startFilesService(ctx, users) };
}
