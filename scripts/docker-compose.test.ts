// No Docker engine runs where the tests run, so this checks what can be
// checked without one: that docker-compose.yml, the Dockerfiles and the
// database init scripts agree with each other and with each service's config.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { PRODUCTION_NODE_FLAGS } from '../libs/testing/src/service-process';

const root = fileURLToPath(new URL('..', import.meta.url));

interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | number | { target: number; published?: string | number })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  volumes?: (string | { source?: string; target: string })[];
}

const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
};
const services = Object.entries(compose.services);
const appServices = services.filter(([, s]) => s.build !== undefined);

/** What the shell gives compose in this check: a value for each variable the file interpolates. */
const SHELL: Record<string, string> = {
  CAREBOOK_INTERNAL_TOKEN: 't'.repeat(44),
  CAREBOOK_BOOKING_INTERNAL_TOKEN: 'b'.repeat(44),
  CAREBOOK_PAGE_TOKEN_KEY: 'k'.repeat(44),
};

/** Compose's interpolation of ${NAME} and ${NAME:?message} from SHELL; an unknown variable fails the check. */
function interpolate(value: string): string {
  return value.replace(/\$\{([A-Z_]+)(?::\?[^}]*)?\}/g, (_, name: string) => {
    if (!(name in SHELL)) throw new Error(`docker-compose.yml interpolates \${${name}}, unknown to this check`);
    return SHELL[name];
  });
}

function environment(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) return Object.fromEntries(env.map((line) => [line.split('=')[0], interpolate(line.slice(line.indexOf('=') + 1))]));
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : interpolate(String(v))]));
}

function buildOf(service: ComposeService): { context: string; dockerfile: string } {
  const build = typeof service.build === 'string' ? { context: service.build } : (service.build ?? {});
  const context = join(root, build.context ?? '.');
  return { context, dockerfile: join(context, build.dockerfile ?? 'Dockerfile') };
}

/** The instructions of a Dockerfile's last stage, continuation lines joined. */
function finalStage(dockerfile: string): { instruction: string; args: string }[] {
  const lines = readFileSync(dockerfile, 'utf8')
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const instructions = lines.map((l) => {
    const [instruction, ...rest] = l.split(/\s+/);
    return { instruction: instruction.toUpperCase(), args: rest.join(' ') };
  });
  const lastFrom = instructions.map((i) => i.instruction).lastIndexOf('FROM');
  return instructions.slice(lastFrom);
}

/** ENV of a Dockerfile stage, in the `ENV KEY=value KEY2=value2` form. */
function dockerfileEnv(stage: { instruction: string; args: string }[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of stage.filter((i) => i.instruction === 'ENV')) {
    for (const [, key, value] of args.matchAll(/([A-Z0-9_]+)=("[^"]*"|\S+)/g)) env[key] = value.replace(/^"|"$/g, '');
  }
  return env;
}

function containerPorts(service: ComposeService): number[] {
  return (service.ports ?? []).map((p) => {
    if (typeof p === 'object') return p.target;
    const spec = String(p).split('/')[0];
    return Number(spec.split(':').at(-1));
  });
}

function databasesCreatedByInitScripts(): Set<string> {
  const dir = join(root, 'scripts', 'postgres-init');
  const names = new Set<string>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.sql'))) {
    for (const [, name] of readFileSync(join(dir, file), 'utf8').matchAll(/CREATE DATABASE\s+"?([a-z_][a-z0-9_]*)"?/gi)) names.add(name);
  }
  return names;
}

/** Calls apps/<app>/src/config.ts's load…Config on `env`: throws ConfigError naming every bad variable. */
async function loadAppConfig(app: string, env: Record<string, string>): Promise<Record<string, unknown>> {
  const module = (await import(join(root, 'apps', app, 'src', 'config.ts'))) as Record<string, unknown>;
  const load = Object.entries(module).find(([name, value]) => /^load\w*Config$/.test(name) && typeof value === 'function')?.[1];
  if (typeof load !== 'function') throw new Error(`apps/${app}/src/config.ts exports no load…Config function`);
  return load(env) as Record<string, unknown>;
}

describe('docker-compose.yml', () => {
  it('has PostgreSQL, every service and Mailpit', () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['postgres', 'catalog', 'booking', 'notifications', 'mailpit']));
  });

  it('gives the services that share a secret the same one, from one required shell variable each', () => {
    const raw = (name: string) => compose.services[name].environment as Record<string, string>;
    const shared = { CATALOG_INTERNAL_TOKEN: ['catalog', 'booking'], BOOKING_INTERNAL_TOKEN: ['booking', 'notifications'], CAREBOOK_PAGE_TOKEN_KEY: ['catalog', 'booking', 'notifications'] };
    for (const [variable, holders] of Object.entries(shared)) {
      const values = new Set(holders.map((name) => raw(name)[variable]));
      expect(values.size, variable).toBe(1);
      expect([...values][0], variable).toMatch(/^\$\{CAREBOOK_[A-Z_]+:\?.+\}$/);
    }
    // Catalog's callers are not booking's: the two internal tokens are different secrets.
    expect(raw('booking').BOOKING_INTERNAL_TOKEN).not.toBe(raw('booking').CATALOG_INTERNAL_TOKEN);
    expect(raw('catalog')).not.toHaveProperty('BOOKING_INTERNAL_TOKEN');
  });

  it('points booking at the catalog service', () => {
    const catalogAddress = environment(compose.services.booking).CATALOG_ADDRESS;
    expect(catalogAddress).toBe(`catalog:${environment(compose.services.catalog).CATALOG_PORT}`);
  });

  it('points notifications at booking, catalog and Mailpit, and waits until they are healthy', () => {
    const env = environment(compose.services.notifications);
    expect(env.BOOKING_ADDRESS).toBe(`booking:${environment(compose.services.booking).BOOKING_PORT}`);
    expect(env.CATALOG_ADDRESS).toBe(`catalog:${environment(compose.services.catalog).CATALOG_PORT}`);
    expect(env.NOTIFY_SMTP_URL).toBe('smtp://mailpit:1025');
    expect(compose.services.notifications.depends_on).toMatchObject({
      booking: { condition: 'service_healthy' },
      catalog: { condition: 'service_healthy' },
      mailpit: { condition: 'service_healthy' },
    });
  });

  it("publishes Mailpit's web UI", () => {
    expect(containerPorts(compose.services.mailpit)).toContain(8025);
    expect(compose.services.mailpit.image).toMatch(/^axllent\/mailpit:v\d+\.\d+\.\d+$/);
  });

  it('gives every service a health check', () => {
    for (const [name, service] of services) {
      expect(service.healthcheck?.test, `${name} healthcheck`).toBeDefined();
      expect(service.healthcheck?.disable, `${name} healthcheck`).not.toBe(true);
    }
  });

  it('mounts named volumes that it declares, and init scripts that exist', () => {
    for (const [name, service] of services) {
      for (const volume of service.volumes ?? []) {
        const source = typeof volume === 'string' ? volume.split(':')[0] : (volume.source ?? '');
        if (source.startsWith('.') || source.startsWith('/')) expect(existsSync(join(root, source)), `${name}: ${source}`).toBe(true);
        else if (source) expect(compose.volumes, `${name}: volume ${source}`).toHaveProperty(source);
      }
    }
  });

  it('has a pg_isready health check on postgres', () => {
    expect(JSON.stringify(compose.services.postgres.healthcheck?.test)).toContain('pg_isready');
  });

  describe.each(appServices.map(([name, service]) => ({ name, service })))('service $name', ({ name, service }) => {
    const { context, dockerfile } = buildOf(service);
    const stage = existsSync(dockerfile) ? finalStage(dockerfile) : [];
    const env = { ...dockerfileEnv(stage), ...environment(service) };
    const prefix = name.toUpperCase().replace(/-/g, '_');

    it('builds from the repository root with its own Dockerfile', () => {
      expect(existsSync(context)).toBe(true);
      expect(context.replace(/\/$/, '')).toBe(root.replace(/\/$/, ''));
      expect(dockerfile).toBe(join(root, 'apps', name, 'Dockerfile'));
      expect(existsSync(dockerfile)).toBe(true);
    });

    it('sets a valid configuration for the service', async () => {
      // Values the service itself rejects would stop it at start-up.
      const config = await loadAppConfig(name, env);
      expect(config[`${prefix}_HOST`], 'must listen beyond the container').toBe('0.0.0.0');
    });

    it('publishes the gRPC port that the service listens on and the image exposes', async () => {
      const config = await loadAppConfig(name, env);
      const port = config[`${prefix}_PORT`];
      expect(containerPorts(service)).toContain(port);
      const exposed = stage.filter((i) => i.instruction === 'EXPOSE').flatMap((i) => i.args.split(/\s+/).map((p) => Number(p.split('/')[0])));
      expect(exposed).toContain(port);
      expect(JSON.stringify(service.healthcheck?.test)).toContain(`:${port}`);
    });

    it('points at its own database on the compose PostgreSQL, created by the init scripts', () => {
      const url = new URL(env[`${prefix}_DATABASE_URL`]);
      expect(compose.services).toHaveProperty(url.hostname);
      expect(url.pathname.slice(1)).toBe(name);
      expect(databasesCreatedByInitScripts()).toContain(name);
    });

    it('starts only after the database (and any other dependency) is healthy', () => {
      const url = new URL(env[`${prefix}_DATABASE_URL`]);
      const dependsOn = service.depends_on;
      expect(dependsOn, 'depends_on needs the long form with conditions').not.toBeInstanceOf(Array);
      const conditions = (dependsOn ?? {}) as Record<string, { condition?: string }>;
      expect(conditions).toHaveProperty(url.hostname);
      for (const [dependency, { condition }] of Object.entries(conditions)) {
        expect(condition, `${name} depends on ${dependency}`).toBe('service_healthy');
        expect(compose.services[dependency]?.healthcheck, `${dependency} must have a health check`).toBeDefined();
      }
    });

    it('health-checks through gRPC with a probe script that the image contains', () => {
      const test = service.healthcheck?.test;
      const probe = 'scripts/grpc-health-probe.mjs';
      expect(JSON.stringify(test)).toContain(probe);
      expect(existsSync(join(root, probe))).toBe(true);
      const copies = stage.filter((i) => i.instruction === 'COPY').map((i) => i.args);
      expect(copies.some((args) => args.includes(probe))).toBe(true);
    });

    it('ships the migrations where main.mjs looks for them, and the bundle with its descriptor set', () => {
      const copies = stage.filter((i) => i.instruction === 'COPY').map((i) => i.args);
      expect(copies).toContain(`prisma/${name}/migrations ./prisma/${name}/migrations`);
      expect(existsSync(join(root, 'prisma', name, 'migrations'))).toBe(true);
      expect(copies.some((args) => args.includes(`/app/dist/apps/${name} ./dist/apps/${name}`))).toBe(true);
      // The benchmark measures the bundle run as the image runs it.
      const cmd = stage.find((i) => i.instruction === 'CMD');
      expect(JSON.parse(cmd?.args ?? '[]')).toEqual(['node', ...PRODUCTION_NODE_FLAGS, `dist/apps/${name}/main.mjs`]);
      expect(stage.some((i) => i.instruction === 'WORKDIR' && i.args === '/app')).toBe(true);
    });
  });
});
