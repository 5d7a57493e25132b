/**
 * The suite config's `tls:` key, as `config-build.ts` reads it: a configured certificate and key
 * (`cert`, `key`, both or neither), or `names`, the host names and IP addresses the suite's
 * self-signed certificate names besides its own (`@hearth/tls`'s `suiteNames`). Loaded only with
 * `config-build.ts`, in the config worker.
 */
import { certificateName } from '@hearth/tls/names';
import { z } from 'zod';

/**
 * A `tls.names` entry as a certificate names it (`certificateName` of `@hearth/tls`): a host name
 * in lower case, or an IP address, IPv6 in its short form (`[fd00::10]` taken too); undefined for
 * anything else (a zone index, `*.`, a URL, `192.168.1`).
 */
export function certificateNameEntry(value: string): string | undefined {
  const name = certificateName(value);
  return name === undefined ? undefined : name.kind === 'dns' ? name.name : name.address;
}

export const tlsSchema = z
  .object({
    cert: z.string().min(1).optional(),
    key: z.string().min(1).optional(),
    names: z
      .array(
        z.string().refine((s) => certificateNameEntry(s) !== undefined, {
          error: (issue) => `"${String(issue.input)}" is neither a host name (nas.local) nor an IP address (192.168.1.10, fd00::10)`,
        }),
      )
      .optional(),
  })
  .strict()
  .default({});

/** The checks across `tls:`'s keys, on the map as written (a key that failed its own check may be anything). */
export function checkTls(tls: Readonly<Record<string, unknown>>, rc: z.RefinementCtx): void {
  const files = tls['cert'] !== undefined || tls['key'] !== undefined;
  if ((tls['cert'] === undefined) !== (tls['key'] === undefined)) {
    rc.addIssue({ code: 'custom', path: ['tls'], message: 'needs both cert and key, or neither' });
  }
  if (files && tls['names'] !== undefined) {
    rc.addIssue({
      code: 'custom',
      path: ['tls', 'names'],
      message: 'names are for the certificate the suite generates when no cert and key are configured: the configured certificate names what it names; drop names, or cert and key',
    });
  }
}

/** `names` as the services take them: each once, as `certificateNameEntry` writes it. */
export function tlsNames(names: readonly string[] | undefined): { names: readonly string[] } | Record<string, never> {
  if (names === undefined) return {};
  return { names: [...new Set(names.map((n) => certificateNameEntry(n) ?? n))] };
}
