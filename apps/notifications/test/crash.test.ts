import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Patient } from '@carebook/proto/booking';
import { pollUntil } from '@carebook/testing';
import { createClinic, createDoctor } from '../../catalog/test/harness';
import { messageIdOf } from '../src/messages/message-id';
import { startNotifyCluster, type NotifyCluster } from './cluster';
import { book } from './fixtures';

// kill -9 of notifications while 1,000 reminders (500 appointments, e-mail
// and SMS each) are due, then a restart. Every reminder is delivered: the
// dead process's workers stop beating, and after NOTIFY_WORKER_STALE_MS (3 s
// here) the new process frees the jobs they held. A message the provider had
// accepted but the dead process had not yet recorded as SENT goes out again:
// duplicates are bounded by the messages with providers at the kill, at most
// NOTIFY_SEND_CONCURRENCY however many jobs run (NOTIFY_JOB_CONCURRENCY, 8):
// run at its default, 1 ("at most one per kill"), and at 8.

const APPOINTMENTS = 500;
const JOB_CONCURRENCY = 8;
const BATCH = 25;
// The appointments start this far ahead: time to seed them all.
const START_AHEAD_MS = 150_000;
// The reminders fall due this long after notifications starts: time for it to
// apply all 500 events (a reminder whose time has passed when its event is
// applied is never scheduled) and send the confirmations, even on a loaded
// machine, where 500 events took up to 15 s.
const DUE_AFTER_START_MS = 40_000;

async function inBatches<T>(count: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < count; i += BATCH) out.push(...(await Promise.all(Array.from({ length: Math.min(BATCH, count - i) }, (_, k) => make(i + k)))));
  return out;
}

const countWhere = async (c: NotifyCluster, condition: string) =>
  (await c.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM notification WHERE kind = 'reminder' AND ${condition}`)).rows[0].n;

describe.each([1, 8])('NOTIFY_SEND_CONCURRENCY=%i', (concurrency) => {
  let c: NotifyCluster;
  beforeAll(async () => {
    c = await startNotifyCluster({ replicas: 0, env: { NOTIFY_JOB_CONCURRENCY: String(JOB_CONCURRENCY), NOTIFY_SEND_CONCURRENCY: String(concurrency) } });
  });
  afterAll(() => c?.close());

  it('delivers every due reminder after a kill -9 and a restart, with duplicates bounded by the messages with providers', async () => {
    const start = Math.ceil((Date.now() + START_AHEAD_MS) / 1000) * 1000;
    const clinic = await createClinic(c.catalog);
    // One doctor per appointment, so that all 500 start at the same instant.
    const appointments = await inBatches(APPOINTMENTS, async (i) => {
      const doctor = await createDoctor(c.catalog, clinic.id, { displayName: `Dr. ${i}` });
      const [slot] = (await c.catalog.createSlots({ doctorId: doctor.id, slots: [{ startTime: new Date(start), endTime: new Date(start + 1_200_000) }] })).slots;
      const { patient } = await c.booking.createPatient({
        patient: Patient.fromPartial({ displayName: `Patient ${i}`, email: `patient${i}@example.org`, phone: `+49 30 ${1_000_000 + i}`, birthDate: { year: 1980, month: 1, day: 1 } }),
      });
      return book(c, patient!, slot);
    });
    const offsetSeconds = Math.floor((start - Date.now() - DUE_AFTER_START_MS) / 1000);
    expect(offsetSeconds, 'seeding took too long').toBeGreaterThan(5);
    const env = { NOTIFY_REMINDER_OFFSETS: `${offsetSeconds}s` };
    await c.startReplica(0, env);
    const expected = APPOINTMENTS * 2;
    await pollUntil('every reminder scheduled', async () => ((await countWhere(c, 'true')) === expected ? true : undefined), 60_000, 200);

    // Killed in the middle of the reminders.
    await pollUntil('a fifth of the reminders sent', async () => ((await countWhere(c, `status = 'sent'`)) >= expected / 5 ? true : undefined), 60_000, 20);
    await c.replicas[0].stop('SIGKILL');
    const { rows: locked } = await c.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE locked_by IS NOT NULL');
    const inFlight = locked[0].n;
    const sentAtKill = await countWhere(c, `status = 'sent'`);
    const restarted = Date.now();
    await c.startReplica(0, env);

    await pollUntil('every reminder sent', async () => ((await countWhere(c, `status = 'sent'`)) === expected ? true : undefined), 90_000, 200);
    const recoveredMs = Date.now() - restarted;
    for (const a of appointments) {
      expect(c.smtp.byMessageId(messageIdOf(a.id, 'reminder', 'email', offsetSeconds * 1000)).length).toBeGreaterThanOrEqual(1);
      expect(c.sms.messages.some((m) => m.idempotencyKey === messageIdOf(a.id, 'reminder', 'sms', offsetSeconds * 1000))).toBe(true);
    }
    const smsDuplicates = c.sms.messages.length - new Set(c.sms.messages.map((m) => m.idempotencyKey)).size;
    const duplicates = c.smtp.duplicates() + smsDuplicates;
    console.log(
      `kill -9 with ${sentAtKill}/${expected} reminders sent and ${inFlight} jobs locked; all sent ${recoveredMs} ms after the restart; duplicates: ${c.smtp.duplicates()} e-mail, ${smsDuplicates} SMS`,
    );
    expect(inFlight).toBeLessThanOrEqual(JOB_CONCURRENCY);
    expect(duplicates).toBeLessThanOrEqual(concurrency);
    expect(await countWhere(c, `status <> 'sent'`)).toBe(0);
  }, 400_000);
});
