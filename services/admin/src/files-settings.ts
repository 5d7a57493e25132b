/**
 * The file services of the suite as the supervisor runs them: every service of kind `files`,
 * its settings (validated by the supervisor, defaults applied) and the config file they came
 * from. The settings pass through the file service's own schema once more here: the page reads
 * them typed, and a supervisor of another version cannot hand it a shape it misreads.
 */
import { settingsSchema, type FilesSettings } from '@hearth/files/config';
import type { ServiceStatus } from '@hearth/supervisor/control';
import type { SupervisorPort } from './control.js';

export interface FilesService {
  readonly name: string;
  readonly status: ServiceStatus;
  readonly settings: FilesSettings;
  /** The config file `hearth up` runs; undefined for the embedded default. */
  readonly file: string | undefined;
}

export async function filesServices(supervisor: SupervisorPort, status?: readonly ServiceStatus[]): Promise<FilesService[]> {
  const all = status ?? (await supervisor.status());
  const out: FilesService[] = [];
  for (const s of all.filter((x) => x.kind === 'files')) {
    const got = await supervisor.settings(s.name);
    out.push({ name: s.name, status: s, settings: settingsSchema.parse(got.settings ?? {}), file: got.file ?? undefined });
  }
  return out;
}

/** The home-folder quota in bytes of the first file service (0: no limit; undefined: no file service, or homes off). */
export function homeQuota(services: readonly FilesService[]): number | undefined {
  const first = services.find((s) => s.settings.home.enabled);
  return first?.settings.home.quota;
}
