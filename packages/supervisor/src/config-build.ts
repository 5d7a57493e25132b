/**
 * Building the suite config: the strict schemas, loading and the embedded default. Imported only
 * through `config.ts`'s async entry points (in `hearth up`, inside the config worker): zod, yaml
 * and every manifest it loads stay out of the supervisor's own memory.
 *
 * Loading is two passes over the same text: a loose pass finds the services and which manifests
 * they need (kinds from the registry the caller passes, `module:` files), then a strict schema
 * built with those manifests validates everything at once, settings included, so every problem
 * carries file, line and key. What the `listen:` entries are checked and filled in with is in
 * `config-listen.ts`.
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { ConfigError, byteSize, didYouMean, duration, loadConfigFile, parseConfigText } from '@hearth/config';
import { findExecutable, isDirectory, resolveGroup, resolveUser } from '@hearth/process';
import type { Limits } from '@hearth/process';
import type { ListenerSpec, ServiceManifest } from '@hearth/runtime';
import { checkListenerRule, isRecord, listenEntry, listenerSpec, portClashes, withIpv6Only } from './config-listen.js';
import { DEFAULT_MAX_INSTANCES, LOG_LEVELS, pickDefinition } from './config.js';
import type { DefaultOptions, LoadOptions, ServiceConfig, ServiceRun, SuiteConfig } from './config.js';
import { checkTls, tlsNames, tlsSchema } from './config-tls.js';
import { CycleError, startOrder } from './graph.js';
import { kindManifest } from './registry.js';
import type { Registry } from './registry.js';

const HOST_PORT = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/;

const readySchema = z.union([
  z
    .object({
      tcp: z.string().refine((s) => HOST_PORT.test(s), 'expected "host:port", e.g. "127.0.0.1:8000"'),
    })
    .strict(),
  z.object({ delay: duration() }).strict(),
]);

const limitsSchema = z
  .object({
    nofile: z.number().int().min(0).optional(),
    nproc: z.number().int().min(0).optional(),
    core: byteSize().optional(),
    fsize: byteSize().optional(),
    cpu: z.number().int().min(0).optional(),
    memory: byteSize().optional(),
  })
  .strict();

const envValue = z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v));

interface ServiceContext {
  readonly manifests: ReadonlyMap<string, ServiceManifest<unknown> | Error>;
  readonly registry: Registry;
  readonly baseDir: string;
  readonly isRoot: boolean;
  readonly path: string | undefined;
}

/** The schema of one service; `manifest` validates its settings when known. */
function serviceSchema(manifest: ServiceManifest<unknown> | Error | undefined, ctx: ServiceContext) {
  const kinds = Object.keys(ctx.registry);
  const settings = manifest && !(manifest instanceof Error) ? manifest.settings : z.unknown();
  return z
    .object({
      service: z
        .string()
        .refine((k) => Object.hasOwn(ctx.registry, k), {
          error: (issue) => {
            const k = String(issue.input);
            const hint = didYouMean(k, kinds);
            return `unknown service kind "${k}"${hint ? ` (did you mean "${hint}"?)` : ''}; known: ${kinds.join(', ') || 'none yet'}`;
          },
        })
        .optional(),
      module: z
        .string()
        .min(1)
        .refine(() => !(manifest instanceof Error), { error: () => (manifest instanceof Error ? manifest.message : '') })
        .optional(),
      command: z.array(z.union([z.string(), z.number()]).transform(String)).min(1, 'a command needs at least the program').optional(),
      type: z.enum(['long-running', 'per-connection']).default('long-running'),
      maxInstances: z.number().int().min(1).max(100_000).optional(),
      requires: z.array(z.string()).default([]),
      after: z.array(z.string()).default([]),
      restart: z.enum(['always', 'on-failure', 'never']).default('always'),
      env: z.record(z.string(), envValue).default({}),
      cwd: z.string().min(1).optional(),
      user: z.string().min(1).optional(),
      stopTimeout: duration().default(10_000),
      readyTimeout: duration().default(30_000),
      limits: limitsSchema.default({}),
      backoff: z
        .object({ initial: duration().default(100), max: duration().default(30_000), stable: duration().default(10_000) })
        .strict()
        .default({ initial: 100, max: 30_000, stable: 10_000 }),
      crashLoop: z
        .object({ failures: z.number().int().min(1).default(5), window: duration().default(60_000) })
        .strict()
        .default({ failures: 5, window: 60_000 }),
      ready: readySchema.optional(),
      listen: z.record(z.string(), listenEntry).optional(),
      settings: settings.optional(),
      standby: z.boolean().optional(),
    })
    .strict()
    // Runs even when a key of this service failed its own check (`when`), so that every problem
    // is reported at once: values here may then be as written, so each is checked before use.
    .superRefine((parsed, rc) => {
      const s = parsed as unknown as Readonly<Record<string, unknown>>;
      const kinds = [s['service'], s['module'], s['command']].filter((v) => v !== undefined).length;
      if (kinds !== 1) {
        rc.addIssue({ code: 'custom', message: 'a service needs exactly one of service:, module: or command:' });
        return;
      }
      const cwd = typeof s['cwd'] === 'string' ? resolve(ctx.baseDir, s['cwd']) : undefined;
      if (cwd !== undefined && !isDirectory(cwd)) rc.addIssue({ code: 'custom', path: ['cwd'], message: `${cwd}: no such directory` });
      const command = s['command'];
      const listen = isRecord(s['listen']) ? s['listen'] : undefined;
      const perConnection = s['type'] === 'per-connection';
      if (perConnection && !command) rc.addIssue({ code: 'custom', path: ['type'], message: 'type: per-connection is for command: services' });
      if (!perConnection && s['maxInstances'] !== undefined) {
        rc.addIssue({ code: 'custom', path: ['maxInstances'], message: 'maxInstances: is for type: per-connection services' });
      }
      if (perConnection) {
        const entries = Object.entries(listen ?? {});
        if (entries.length === 0) rc.addIssue({ code: 'custom', path: ['type'], message: 'a per-connection service needs at least one listen: entry' });
        for (const [lname, l] of entries) {
          if (!isRecord(l)) continue;
          if (l['protocol'] === 'udp') rc.addIssue({ code: 'custom', path: ['listen', lname, 'protocol'], message: 'per-connection listeners are tcp only' });
          if (l['tls'] === true) rc.addIssue({ code: 'custom', path: ['listen', lname, 'tls'], message: 'per-connection listeners hand the plain socket to the command: tls is not supported' });
        }
        if (s['ready']) rc.addIssue({ code: 'custom', path: ['ready'], message: 'ready: is for long-running commands; a per-connection service is ready once it accepts' });
      }
      if (command) {
        if (s['listen'] && !perConnection) {
          rc.addIssue({ code: 'custom', path: ['listen'], message: 'listen: is for Hearth services (service: or module:) and type: per-connection commands' });
        }
        if (s['settings'] !== undefined) rc.addIssue({ code: 'custom', path: ['settings'], message: 'settings: is for Hearth services, not commands' });
        if (s['standby'] === true) {
          rc.addIssue({ code: 'custom', path: ['standby'], message: 'standby: is for Hearth services (service: or module:); a command: cannot be pre-started' });
        }
        const program = Array.isArray(command) && typeof command[0] === 'string' ? command[0] : '';
        const env = isRecord(s['env']) ? s['env'] : {};
        const path = typeof env['PATH'] === 'string' ? env['PATH'] : ctx.path;
        if (program && (cwd === undefined || isDirectory(cwd)) && !findExecutable(program, path, cwd ?? process.cwd())) {
          rc.addIssue({ code: 'custom', path: ['command', 0], message: `${program}: command not found` });
        }
      } else if (s['ready']) {
        rc.addIssue({ code: 'custom', path: ['ready'], message: 'ready: is for commands; Hearth services report readiness themselves' });
      }
      const rule = manifest instanceof Error ? undefined : manifest?.listenerRule;
      if (!command && rule && listen) checkListenerRule(listen, manifest as ServiceManifest<unknown>, rule, rc);
      if (typeof s['user'] === 'string') {
        try {
          resolveUser(s['user'], { isRoot: ctx.isRoot });
        } catch (err) {
          rc.addIssue({ code: 'custom', path: ['user'], message: (err as Error).message });
        }
      }
    }, EVEN_WITH_PROBLEMS);
}

/** The strings of a list, when it is a list (a key that failed its own check may be anything). */
function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/**
 * A refinement that runs even when a key inside failed its own check (zod skips it by default),
 * as long as the value is a map at all: each problem found is reported with the others.
 */
const EVEN_WITH_PROBLEMS = { when: (payload: { readonly value: unknown }) => isRecord(payload.value) };

type ParsedService = z.output<ReturnType<typeof serviceSchema>>;

function suiteSchema(serviceSchemas: ReadonlyMap<string, ReturnType<typeof serviceSchema>>, ctx: ServiceContext) {
  const services =
    serviceSchemas.size > 0
      ? z.object(Object.fromEntries(serviceSchemas)).strict()
      : z.record(z.string(), serviceSchema(undefined, ctx));
  return z
    .object({
      data: z.string().min(1).optional(),
      log: z.object({ level: z.enum(LOG_LEVELS).default('info') }).strict().default({ level: 'info' }),
      mail: z.object({ domains: z.array(z.string().min(1)).min(1).optional() }).strict().default({}),
      tls: tlsSchema,
      services: services.optional(),
      control: z.object({ group: z.string().min(1).optional() }).strict().default({}),
      legacy: z.object({ sharedProcessGroup: z.boolean().default(false) }).strict().default({ sharedProcessGroup: false }),
    })
    .strict()
    .superRefine((parsed, rc) => {
      // As for a service (EVEN_WITH_PROBLEMS): what failed its own check may be as written.
      const cfg = parsed as unknown as Readonly<Record<string, unknown>>;
      const control = isRecord(cfg['control']) ? cfg['control'] : {};
      if (typeof control['group'] === 'string') {
        try {
          resolveGroup(control['group']);
        } catch (err) {
          rc.addIssue({ code: 'custom', path: ['control', 'group'], message: (err as Error).message });
        }
      }
      checkTls(isRecord(cfg['tls']) ? cfg['tls'] : {}, rc);
      const services = Object.entries(isRecord(cfg['services']) ? cfg['services'] : {});
      const all = services.map(([name, s]) => ({
        name,
        requires: strings(isRecord(s) ? s['requires'] : undefined),
        after: strings(isRecord(s) ? s['after'] : undefined),
      }));
      const names = all.map((s) => s.name);
      try {
        startOrder(all);
      } catch (err) {
        if (!(err instanceof CycleError)) throw err;
        rc.addIssue({ code: 'custom', path: ['services', err.members[0] ?? ''], message: err.message });
      }
      for (const clash of portClashes(services, ctx.manifests)) {
        const where = clash.written ? ['services', clash.service, 'listen', clash.listener] : ['services', clash.service];
        const what = clash.written ? '' : `its default listener ${clash.listener}: `;
        rc.addIssue({ code: 'custom', path: where, message: `${what}${clash.at} is also the address of services.${clash.other.service}.listen.${clash.other.listener}` });
      }
      for (const [name, s] of services) {
        const requires: unknown[] = isRecord(s) && Array.isArray(s['requires']) ? s['requires'] : [];
        requires.forEach((dep, i) => {
          if (typeof dep === 'string' && !names.includes(dep)) {
            const hint = didYouMean(dep, names);
            rc.addIssue({ code: 'custom', path: ['services', name, 'requires', i], message: `no service named "${dep}"${hint ? ` (did you mean "${hint}"?)` : ''}` });
          }
        });
      }
    }, EVEN_WITH_PROBLEMS);
}

/** The manifest a service needs: from the registry or by importing its module. */
async function loadManifest(raw: Record<string, unknown>, ctx: ServiceContext): Promise<ServiceManifest<unknown> | Error | undefined> {
  if (typeof raw['service'] === 'string') {
    return kindManifest(ctx.registry, raw['service']);
  }
  if (typeof raw['module'] === 'string' && raw['module'] !== '') {
    const file = resolve(ctx.baseDir, raw['module']);
    try {
      const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
      const def = pickDefinition(mod);
      return def ?? new Error(`${file}: does not export a service \`definition\` (kind, settings, start)`);
    } catch (err) {
      // Node's own words name this file as the importer: the file is what the reader needs.
      if (!existsSync(file)) return new Error(`${file}: no such file`);
      return new Error(`cannot load ${file}: ${(err as Error).message.split('\n')[0] ?? ''}`);
    }
  }
  return undefined;
}

function parseHostPort(s: string): { host: string; port: number } {
  const m = HOST_PORT.exec(s);
  return { host: m?.[1] ?? m?.[2] ?? '127.0.0.1', port: Number(m?.[3] ?? 0) };
}

function normalizeService(name: string, s: ParsedService, manifest: ServiceManifest<unknown> | Error | undefined, ctx: ServiceContext): ServiceConfig {
  const m = manifest instanceof Error ? undefined : manifest;
  let run: ServiceRun;
  if (s.command && s.type === 'per-connection') run = { type: 'per-connection', argv: s.command, maxInstances: s.maxInstances ?? DEFAULT_MAX_INSTANCES };
  else if (s.command) run = { type: 'command', argv: s.command };
  else if (s.module) run = { type: 'module', kind: m?.kind ?? 'module', module: resolve(ctx.baseDir, s.module) };
  else {
    const kind = s.service ?? '';
    run = { type: 'service', kind, entry: Object.hasOwn(ctx.registry, kind) ? ctx.registry[kind]!.entry : '' };
  }
  const listen: ListenerSpec[] = s.listen
    ? Object.entries(s.listen).map(([lname, l]) => listenerSpec(lname, l, m))
    : run.type === 'command'
      ? []
      : [...(m?.defaultListeners ?? [])];
  const settings = run.type === 'command' || run.type === 'per-connection' ? undefined : s.settings !== undefined ? s.settings : m ? m.settings.parse({}) : {};
  return {
    name,
    run,
    requires: s.requires,
    after: s.after,
    restart: s.restart,
    env: s.env,
    cwd: s.cwd ? resolve(ctx.baseDir, s.cwd) : undefined,
    user: s.user !== undefined ? resolveUser(s.user, { isRoot: ctx.isRoot }) : undefined,
    stopTimeoutMs: s.stopTimeout,
    readyTimeoutMs: s.readyTimeout,
    limits: Object.fromEntries(Object.entries(s.limits).filter(([, v]) => v !== undefined)) as Limits,
    backoff: { initialMs: s.backoff.initial, maxMs: s.backoff.max, stableMs: s.backoff.stable },
    crashLoop: { failures: s.crashLoop.failures, windowMs: s.crashLoop.window },
    ready: s.ready ? ('tcp' in s.ready ? { tcp: parseHostPort(s.ready.tcp) } : { delayMs: s.ready.delay }) : undefined,
    listen,
    settings,
    standby: (run.type === 'service' || run.type === 'module') && (s.standby ?? true),
  };
}

const loose = z
  .object({ services: z.record(z.string(), z.object({}).loose()).optional() })
  .loose();

/** Read, validate and normalize a suite config file. Throws `ConfigError` (exit 78). */
export async function loadSuiteConfig(file: string, options: LoadOptions = {}): Promise<SuiteConfig> {
  const abs = resolve(file);
  const read = (schema: z.ZodType<unknown>): unknown => loadConfigFile(abs, schema);
  return build(read, abs, dirname(abs), options);
}

/** The same from text (tests, reload from a string). */
export async function parseSuiteConfig(text: string, file: string, options: LoadOptions = {}): Promise<SuiteConfig> {
  const abs = resolve(file);
  return build((schema) => parseConfigText(text, abs, schema), abs, dirname(abs), options);
}

async function build(read: (schema: z.ZodType<unknown>) => unknown, file: string | undefined, baseDir: string, options: LoadOptions): Promise<SuiteConfig> {
  const registry = options.registry ?? {};
  const ctx0 = { registry, baseDir, isRoot: options.isRoot ?? process.getuid?.() === 0, path: 'path' in options ? options.path : process.env['PATH'] };
  // Pass 1: which services, which manifests. A file too broken for it is reported by pass 2.
  let rawServices: Record<string, Record<string, unknown>> | undefined;
  try {
    rawServices = (read(loose) as { services?: Record<string, Record<string, unknown>> }).services;
  } catch (err) {
    if (err instanceof ConfigError && err.problems.some((p) => p.message.startsWith('YAML:') || p.line === 0)) throw err;
  }
  const manifests = new Map<string, ServiceManifest<unknown> | Error>();
  const ctx: ServiceContext = { ...ctx0, manifests };
  const schemas = new Map<string, ReturnType<typeof serviceSchema>>();
  const embedded = rawServices === undefined;
  if (rawServices) {
    for (const [name, raw] of Object.entries(rawServices)) {
      const manifest = await loadManifest(raw, ctx);
      if (manifest) manifests.set(name, manifest);
      schemas.set(name, serviceSchema(manifest, ctx));
    }
  }
  const parsed = read(suiteSchema(schemas, ctx)) as z.output<ReturnType<typeof suiteSchema>>;
  const services = withIpv6Only(
    embedded
      ? await embeddedServices(registry, ctx)
      : Object.entries((parsed.services ?? {}) as Record<string, ParsedService>).map(([name, s]) => normalizeService(name, s, manifests.get(name), ctx)),
  );
  return {
    file,
    data: parsed.data !== undefined ? (isAbsolute(parsed.data) ? parsed.data : resolve(baseDir, parsed.data)) : undefined,
    logLevel: parsed.log.level,
    mail: { domains: parsed.mail.domains ?? defaultDomains() },
    tls: {
      ...(parsed.tls.cert !== undefined ? { cert: resolve(baseDir, parsed.tls.cert) } : {}),
      ...(parsed.tls.key !== undefined ? { key: resolve(baseDir, parsed.tls.key) } : {}),
      ...tlsNames(parsed.tls.names),
    },
    services,
    control: { group: parsed.control?.group !== undefined ? { name: parsed.control.group, gid: resolveGroup(parsed.control.group) } : undefined },
    legacy: { sharedProcessGroup: parsed.legacy?.sharedProcessGroup ?? false },
  };
}

function defaultDomains(): string[] {
  const host = hostname();
  return host && host !== 'localhost' ? ['localhost', host] : ['localhost'];
}

/** Every kind in the registry, named after its kind, with its default listeners and settings. */
async function embeddedServices(registry: Registry, ctx: ServiceContext): Promise<ServiceConfig[]> {
  const out: ServiceConfig[] = [];
  for (const kind of Object.keys(registry)) {
    const manifest = (await kindManifest(registry, kind))!;
    const parsed = serviceSchema(manifest, ctx).parse({ service: kind, requires: [...(manifest.defaultRequires ?? [])] });
    out.push(normalizeService(kind, parsed, manifest, ctx));
  }
  return out;
}

/** The embedded default: no file, one service of each kind in `options.registry`. */
export async function defaultSuiteConfig(options: DefaultOptions): Promise<SuiteConfig> {
  return build(() => ({ log: { level: 'info' }, mail: {}, tls: {} }), undefined, process.cwd(), options);
}
