// The README's grpcurl walk-through, run as written: its shell blocks, with
// the addresses 127.0.0.1:50051/50052/50053 pointed at a catalog and a booking
// started here over real PostgreSQL, and a notifications process sending to
// the mail sink `npm start` uses (writing .eml files into .data/mail), run one after the other in one bash (the
// blocks pass ids on in shell variables) inside a temporary directory that
// stands in for the repository root. Needs grpcurl, jq, bash and GNU date;
// where one is missing the tests are skipped and say so.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBookingUnderTest, TEST_BOOKING_OPTIONS, type BookingUnderTest } from '../apps/booking/test/harness';
import { jitsiRooms } from '../apps/booking/src/consultations/jitsi-rooms';
import { createLogger } from '@carebook/server';
import { createTestDatabase, freePort, startServiceProcess, TEST_INTERNAL_TOKEN, type ServiceProcess } from '@carebook/testing';
import { startMailSink, type MailSink } from './mail-sink';

const root = fileURLToPath(new URL('..', import.meta.url));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// What the README reads from .data/catalog-internal-token: the token of the catalog started here.
const INTERNAL_TOKEN = TEST_INTERNAL_TOKEN;
/** Shell variables the walk-through sets, each an id. */
const ID_VARIABLES = ['CLINIC', 'DOCTOR', 'SLOT1', 'SLOT2', 'SLOT3', 'SCHEDULE', 'CLINIC2', 'CLAIM', 'PATIENT', 'APPT', 'NEW', 'VSLOT', 'HELD'];

const toolMissing = (command: string, args: string[]) => spawnSync(command, args, { stdio: 'ignore' }).status !== 0;
const missing = [
  ...['grpcurl', 'jq', 'bash'].filter((tool) => toolMissing('sh', ['-c', `command -v ${tool}`])),
  ...(toolMissing('date', ['-u', '-d', 'next monday', '+%F']) ? ['GNU date (date -d)'] : []),
];
if (missing.length > 0) console.warn(`scripts/readme-grpcurl.test.ts skipped: ${missing.join(', ')} not found on PATH`);

/** The ```sh blocks of the README section "Walk-through with grpcurl", up to the next second-level heading. */
function walkThroughBlocks(readme: string): string[] {
  const start = readme.indexOf('\n## Walk-through with grpcurl');
  if (start < 0) throw new Error('README.md has no section "Walk-through with grpcurl"');
  const next = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, next < 0 ? undefined : next);
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]).filter((block) => block.includes('grpcurl'));
}

interface BlockRun {
  source: string;
  exitCode: number;
  stdout: string;
  stderr: string;
}

interface WalkThrough {
  blocks: BlockRun[];
  /** Every command that failed, as "<block> <status> <command>"; a failure inside $(…) shows twice. */
  failures: string[];
  ids: Record<string, string>;
}

/**
 * One bash script: each block runs in a { } group (the current shell, so its
 * variables reach the next block) with its own output files. An ERR trap
 * under pipefail and errtrace records every failing command, including one
 * piped into jq or inside $(…).
 */
function walkThroughScript(blocks: string[], catalog: string, booking: string, notifications: string): string {
  const lines = [
    'set -o pipefail -o errtrace',
    `trap 'status=$?; printf "%s %s %q\\n" "$BLOCK" "$status" "$BASH_COMMAND" >> failures.txt' ERR`,
  ];
  blocks.forEach((block, i) => {
    const source = block.replaceAll('127.0.0.1:50051', catalog).replaceAll('127.0.0.1:50052', booking).replaceAll('127.0.0.1:50053', notifications);
    lines.push(`BLOCK=${i}`, '{', source, `} > block-${i}.out 2> block-${i}.err`, `echo $? > block-${i}.rc`);
  });
  lines.push(`for v in ${ID_VARIABLES.join(' ')}; do printf '%s=%s\\n' "$v" "\${!v}"; done > ids.txt`);
  return `${lines.join('\n')}\n`;
}

function runBash(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<number | null> {
  // Asynchronous: the servers answering the script run in this process.
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script], { cwd, env, stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
}

async function runWalkThrough(dir: string, catalog: string, booking: string, notifications: string): Promise<WalkThrough> {
  const blocks = walkThroughBlocks(await readFile(join(root, 'README.md'), 'utf8'));
  // The walk-through runs from the repository root: it reads .data/ and runs scripts/.
  await mkdir(join(dir, '.data'), { recursive: true });
  await writeFile(join(dir, '.data', 'catalog-internal-token'), `${INTERNAL_TOKEN}\n`);
  await symlink(join(root, 'scripts'), join(dir, 'scripts'));
  await writeFile(join(dir, 'walk-through.sh'), walkThroughScript(blocks, catalog, booking, notifications));
  await runBash('walk-through.sh', dir, { ...process.env, CATALOG_INTERNAL_TOKEN: INTERNAL_TOKEN });

  const read = (name: string) => readFile(join(dir, name), 'utf8').catch(() => '');
  const runs = await Promise.all(
    blocks.map(async (source, i) => ({
      source,
      exitCode: Number((await read(`block-${i}.rc`)).trim() || NaN),
      stdout: await read(`block-${i}.out`),
      stderr: await read(`block-${i}.err`),
    })),
  );
  const ids = Object.fromEntries(
    (await read('ids.txt'))
      .split('\n')
      .filter(Boolean)
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  return { blocks: runs, failures: (await read('failures.txt')).split('\n').filter(Boolean), ids };
}

describe.skipIf(missing.length > 0)('README walk-through with grpcurl', () => {
  let services: BookingUnderTest;
  let mail: MailSink;
  let notifications: ServiceProcess;
  let notificationsDb: Awaited<ReturnType<typeof createTestDatabase>>;
  let dir: string;
  let run: WalkThrough;

  beforeAll(async () => {
    // As `npm start` runs booking: rooms on the default Jitsi base URL, made as soon as the feed says so.
    services = await startBookingUnderTest({
      video: { ...TEST_BOOKING_OPTIONS.video, intervalMs: 200 },
      videoRooms: jitsiRooms({ baseUrl: 'https://meet.jit.si' }),
    });
    dir = await mkdtemp(join(tmpdir(), 'carebook-readme-'));
    mail = await startMailSink({ dir: join(dir, '.data', 'mail'), host: '127.0.0.1', port: 0, log: createLogger('mail-sink', 'silent') });
    notificationsDb = await createTestDatabase('notifications');
    const port = await freePort();
    notifications = await startServiceProcess('notifications', port, {
      NOTIFICATIONS_PORT: String(port),
      NOTIFICATIONS_DATABASE_URL: notificationsDb.url,
      BOOKING_ADDRESS: `127.0.0.1:${services.service.port}`,
      CATALOG_ADDRESS: services.catalog.address,
      NOTIFY_SMTP_URL: `smtp://127.0.0.1:${mail.port}`,
      NOTIFY_POLL_INTERVAL_MS: '200',
    });
    run = await runWalkThrough(dir, services.catalog.address, `127.0.0.1:${services.service.port}`, notifications.address);
  }, 180_000);

  afterAll(async () => {
    await notifications?.stop();
    await notificationsDb?.drop();
    await mail?.stop();
    await services?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The one block whose source contains `text`. */
  const block = (text: string): BlockRun => {
    const found = run.blocks.filter((b) => b.source.includes(text));
    expect(found, `blocks containing ${text}`).toHaveLength(1);
    return found[0];
  };
  const describeRun = (b: BlockRun) => `exit ${b.exitCode}\n--- stdout\n${b.stdout}\n--- stderr\n${b.stderr}`;

  it('runs every block to the end; only the two examples of errors fail, with the codes the README gives', () => {
    expect(run.blocks.length).toBeGreaterThanOrEqual(5);
    for (const b of run.blocks) {
      const expected = b.source.includes('Mars/Olympus') ? 64 + 3 : 0; // INVALID_ARGUMENT
      expect(b.exitCode, describeRun(b)).toBe(expected);
    }
    const failures = run.failures.map((f) => f.split(' ').slice(0, 2).join(' '));
    const catalogBlock = run.blocks.indexOf(block('CatalogService/ClaimSlot'));
    const errorBlock = run.blocks.indexOf(block('Mars/Olympus'));
    // 64 + ALREADY_EXISTS (6): the overlapping Friday schedule; 64 + INVALID_ARGUMENT (3): the bad clinic.
    expect(failures, run.failures.join('\n')).toEqual([`${catalogBlock} 70`, `${errorBlock} 67`]);
    expect(run.failures[0]).toContain('CatalogService/CreateSchedule');
  });

  it('passes ids on from step to step', () => {
    for (const name of ID_VARIABLES) expect(run.ids[name], name).toMatch(UUID);
  });

  it('prints what the README says it prints', () => {
    for (const b of run.blocks) {
      // Output lines quoted as comments, e.g. `# {"rules":8,"orphaned":[]}`.
      for (const [, line] of b.source.matchAll(/^# (\{.*\})$/gm)) expect(b.stdout, `${describeRun(b)}\n--- wanted\n${line}`).toContain(line);
    }
    const listing = block('describe carebook.catalog.v1.Slot');
    expect(listing.stdout).toContain('carebook.catalog.v1.CatalogService\ngrpc.health.v1.Health\n');
    expect(listing.stdout).toContain('carebook.catalog.v1.Slot is a message:');

    const catalog = block('CatalogService/ClaimSlot');
    expect(catalog.stdout).toContain('"status": "SLOT_STATUS_BOOKED"');
    expect(catalog.stdout).toContain('"status": "SLOT_STATUS_OPEN"');
    expect(catalog.stderr).toContain('Code: AlreadyExists');
    expect(catalog.stderr).toContain('"reason":"SCHEDULE_OVERLAP"');

    const booking = block('BookingService/CreatePatient');
    expect(booking.stdout).toContain('"status": "APPOINTMENT_STATUS_BOOKED"');
    const moved = block('BookingService/RescheduleAppointment');
    expect(moved.stdout).toContain('"status": "APPOINTMENT_STATUS_CANCELLED"');
    expect(moved.stdout).toContain(`{"id":"${run.ids.SLOT1}","startTime":"2030-01-07T09:00:00Z"}`);
    expect(moved.stdout).toContain(`{"id":"${run.ids.SLOT2}","startTime":"2030-01-07T09:30:00Z"}`);

    // A confirmed hold of a video slot got its room; the patient's link is shown, its secrets masked by the README.
    expect(block('ConfirmAppointment').stdout).toContain('https://meet.jit.si/carebook-<room>?');

    // The confirmation reached the mail sink, its time on the clinic's wall clock.
    expect(block('Subject: Appointment confirmed').stdout).toContain('Subject: Appointment confirmed: Mon 7 Jan 2030, 10:00 CET (Europe/Berlin)');

    const health = block('grpc.health.v1.Health/Check');
    expect(health.stdout).toContain('"status": "SERVING"');
    expect(health.stdout).toContain('(carebook.booking.v1.BookingService): SERVING');
  });

  it('shows the INVALID_ARGUMENT example with its ErrorInfo and BadRequest decoded', () => {
    const { stderr } = block('Mars/Olympus');
    expect(stderr).toContain('Code: InvalidArgument');
    expect(stderr).not.toContain('is not recognized');
    expect(stderr).toContain('{"@type":"type.googleapis.com/google.rpc.ErrorInfo","domain":"catalog.carebook.dev","reason":"INVALID_ARGUMENT"}');
    expect(stderr).toContain('"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"clinic.display_name","description":"is required"}');
    for (const field of ['clinic.address', 'clinic.time_zone']) expect(stderr).toContain(`"field":"${field}"`);
  });
});
