import { afterAll, beforeAll, expect, it } from 'vitest';
import { pollUntil } from '@carebook/testing';
import { messageIdOf } from '../src/messages/message-id';
import { startNotifyCluster, type NotifyCluster } from './cluster';
import { book, newPatient, slotsAhead, smsWithId } from './fixtures';

// Two notifications replicas follow the same feed and share one database:
// each applies every event it reads, and the cursor lock lets one effect
// through per position; graphile-worker gives each job to one worker. Every
// message goes out exactly once.

const APPOINTMENTS = 20;
const KINDS_PER_APPOINTMENT = 2; // confirmation and one 3 s reminder
const CHANNELS = 2;

let c: NotifyCluster;
beforeAll(async () => {
  c = await startNotifyCluster({ replicas: 2 });
});
afterAll(() => c?.close());

it('sends each message exactly once with two replicas consuming the same feed', async () => {
  const slots = await Promise.all(Array.from({ length: APPOINTMENTS }, () => slotsAhead(c, 8_000).then(([s]) => s)));
  const appointments = await Promise.all(slots.map(async (slot) => book(c, await newPatient(c), slot)));
  const expected = APPOINTMENTS * KINDS_PER_APPOINTMENT * CHANNELS;
  const counts = await pollUntil(
    `${expected} messages sent`,
    async () => {
      const { rows } = await c.sql.query<{ status: string; n: number }>('SELECT status::text, count(*)::int AS n FROM notification GROUP BY status');
      const byStatus = Object.fromEntries(rows.map((r) => [r.status, r.n]));
      return byStatus.sent === expected && !byStatus.scheduled ? byStatus : undefined;
    },
    30_000,
    100,
  );
  expect(counts).toEqual({ sent: expected });
  expect(c.smtp.messages).toHaveLength(APPOINTMENTS * KINDS_PER_APPOINTMENT);
  expect(c.smtp.duplicates()).toBe(0);
  expect(c.sms.messages).toHaveLength(APPOINTMENTS * KINDS_PER_APPOINTMENT);
  for (const a of appointments) {
    expect(c.smtp.byMessageId(messageIdOf(a.id, 'reminder', 'email', 3_000))).toHaveLength(1);
    expect(smsWithId(c, messageIdOf(a.id, 'confirmation', 'sms'))).toBe(1);
  }
  // Each event was applied once: the cursor is at the feed's end, and no row was made twice.
  const { rows } = await c.sql.query('SELECT position::int AS position FROM feed_cursor');
  expect(rows).toEqual([{ position: APPOINTMENTS }]);
  // One try each: no message was sent by both replicas.
  const { rows: attempts } = await c.sql.query('SELECT sum(attempts)::int AS n FROM notification');
  expect(attempts[0].n).toBe(expected);
}, 120_000);
