import { createHash } from 'node:crypto';
import { readMigrations } from '@carebook/server';
import { createDatabase, databaseComment, databaseExists, dropDatabase, setDatabaseComment, withClient, type BenchServer } from './database';
import { datasetShape, migrationsDir, SEED_VERSION, seedBooking, seedCatalog, type DatasetShape, type SeedStats } from './seed';
import { say } from './progress';

/** The databases of one benchmark run, filled with the data set. */
export interface Dataset {
  shape: DatasetShape;
  catalogDb: string;
  bookingDb: string;
  /** True when the run's databases were copied from templates seeded by an earlier run. */
  reused: boolean;
  /** How the data set was seeded (now, or by the run that made the templates). */
  seed: { catalog: SeedStats; booking: SeedStats; seededAt: string };
  /** Seconds spent copying the templates into the run's databases. */
  copySeconds?: number;
}

interface TemplateComment {
  seedVersion: number;
  shape: DatasetShape;
  seed: Dataset['seed'];
}

/** Each service's migrations in the repository as `service/name:checksum`. */
async function migrationList(): Promise<string[]> {
  const list: string[] = [];
  for (const service of ['catalog', 'booking'] as const) {
    for (const m of await readMigrations(migrationsDir(service))) list.push(`${service}/${m.name}:${m.checksum}`);
  }
  return list;
}

/** The migrations applied to the template databases, as `service/name:checksum`. */
async function appliedMigrations(server: BenchServer, names: { catalog: string; booking: string }): Promise<string[]> {
  const list: string[] = [];
  for (const service of ['catalog', 'booking'] as const) {
    const rows = await withClient(server.url(names[service]), async (c) =>
      (await c.query<{ name: string; checksum: string }>(
        `SELECT migration_name AS name, checksum FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name`,
      )).rows,
    );
    list.push(...rows.map((r) => `${service}/${r.name}:${r.checksum}`));
  }
  return list;
}

/**
 * A template is still good if every migration it was seeded with is
 * unchanged: migrations added since are applied to the run's copies by the
 * services at start-up, as in production.
 */
function seededWithCurrent(seeded: string[], current: string[]): boolean {
  return seeded.every((m) => current.includes(m));
}

const digest = (list: string[]) => createHash('sha256').update(list.join('\n')).digest('hex').slice(0, 16);

const scaleTag = (scale: number) => `s${String(scale).replace('.', '_')}`;
/** The template database names for `scale`. */
export const templateNames = (scale: number) => ({ catalog: `bench_tpl_catalog_${scaleTag(scale)}`, booking: `bench_tpl_booking_${scaleTag(scale)}` });

const MAX_TEMPLATE_AGE_DAYS = 7;

async function seedInto(server: BenchServer, shape: DatasetShape, catalogDb: string, bookingDb: string, quiet: boolean): Promise<Dataset['seed']> {
  const admin = server.url('postgres');
  for (const db of [catalogDb, bookingDb]) {
    await dropDatabase(admin, db);
    await createDatabase(admin, db);
  }
  say(quiet, `seeding ${catalogDb}: ${shape.clinics} clinics, ${shape.doctors} doctors, ~${shape.slots.toLocaleString('en-US')} slots`);
  const catalog = await seedCatalog(server.url(catalogDb), shape, quiet);
  say(quiet, `seeding ${bookingDb}: ${shape.patients} patients and the seeded bookings`);
  const booking = await seedBooking(server.url(bookingDb), shape, quiet);
  return { catalog, booking, seededAt: new Date().toISOString() };
}

async function reusableTemplate(server: BenchServer, names: { catalog: string; booking: string }, scale: number, migrations: string[]): Promise<TemplateComment | undefined> {
  const admin = server.url('postgres');
  if (!(await databaseExists(admin, names.catalog)) || !(await databaseExists(admin, names.booking))) return undefined;
  const raw = await databaseComment(admin, names.booking);
  if (!raw) return undefined;
  try {
    const comment = JSON.parse(raw) as TemplateComment;
    const ageDays = (Date.now() - Date.parse(`${comment.shape.baseDate}T00:00:00Z`)) / 86_400_000;
    if (comment.seedVersion !== SEED_VERSION || comment.shape.scale !== scale || ageDays > MAX_TEMPLATE_AGE_DAYS) return undefined;
    if (!seededWithCurrent(await appliedMigrations(server, names), migrations)) return undefined;
    return comment;
  } catch {
    return undefined;
  }
}

/**
 * The data set for a run at `scale` in databases `<prefix>_catalog` and
 * `<prefix>_booking`. With `templates`, the seeded data is kept in template
 * databases (bench_tpl_*_s<scale>) and each run starts from a fresh copy of
 * them; they are re-seeded when the seed, a migration they were seeded with or the scale change,
 * when they are more than a week old (slots must lie ahead), or on `fresh`.
 */
export async function prepareDataset(
  server: BenchServer,
  options: { scale: number; prefix: string; templates: boolean; fresh: boolean; quiet: boolean; copy?: boolean },
): Promise<Dataset> {
  const admin = server.url('postgres');
  const catalogDb = `${options.prefix}_catalog`;
  const bookingDb = `${options.prefix}_booking`;
  if (!options.templates) {
    const shape = datasetShape(options.scale);
    return { shape, catalogDb, bookingDb, reused: false, seed: await seedInto(server, shape, catalogDb, bookingDb, options.quiet) };
  }
  const names = templateNames(options.scale);
  const migrations = await migrationList();
  let template = options.fresh ? undefined : await reusableTemplate(server, names, options.scale, migrations);
  const reused = template !== undefined;
  if (!template) {
    const shape = datasetShape(options.scale);
    const seed = await seedInto(server, shape, names.catalog, names.booking, options.quiet);
    template = { seedVersion: SEED_VERSION, shape, seed };
    await setDatabaseComment(admin, names.booking, JSON.stringify(template));
    // Before any copy: a checkpoint, so the copies start from clean files.
    await withClient(admin, (c) => c.query('CHECKPOINT')).catch(() => undefined);
  } else {
    say(options.quiet, `reusing the data set seeded ${template.seed.seededAt} (${names.catalog}, ${names.booking}; migrations now ${digest(migrations)})`);
  }
  if (options.copy === false) return { shape: template.shape, catalogDb: names.catalog, bookingDb: names.booking, reused, seed: template.seed };
  const t0 = performance.now();
  for (const [db, from] of [[catalogDb, names.catalog], [bookingDb, names.booking]] as const) {
    await dropDatabase(admin, db);
    await createDatabase(admin, db, from, server.versionNum);
  }
  const copySeconds = Math.round((performance.now() - t0) / 100) / 10;
  say(options.quiet, `copied the templates into ${catalogDb} and ${bookingDb} in ${copySeconds} s`);
  return { shape: template.shape, catalogDb, bookingDb, reused, seed: template.seed, copySeconds };
}
