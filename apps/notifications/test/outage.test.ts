import { afterAll, beforeAll, expect, it } from 'vitest';
import { pollUntil } from '@carebook/testing';
import { messageIdOf } from '../src/messages/message-id';
import { startNotifyCluster, type NotifyCluster } from './cluster';
import { book, newPatient, slotsAhead } from './fixtures';

// The mail server is down for 30 s while confirmations are due: each message
// is retried with capped backoff (NOTIFY_RETRY_MAX_BACKOFF_MS = 5 s here), and
// once the server is back every one goes out, once; none is lost or FAILED.

const OUTAGE_MS = 30_000;
const APPOINTMENTS = 5;

let c: NotifyCluster;
beforeAll(async () => {
  // Reminders an hour ahead of slots three hours ahead: only confirmations are due in this test.
  c = await startNotifyCluster({ env: { NOTIFY_REMINDER_OFFSETS: '1h', NOTIFY_RETRY_MAX_BACKOFF_MS: '5000', NOTIFY_MAX_ATTEMPTS: '20' } });
});
afterAll(() => c?.close());

it('delivers every message once after a 30 s SMTP outage, and fails none', async () => {
  await c.smtp.stop();
  const downSince = Date.now();
  const appointments = [];
  for (let i = 0; i < APPOINTMENTS; i++) {
    const [slot] = await slotsAhead(c, 3 * 3_600_000);
    appointments.push(await book(c, await newPatient(c), slot));
  }
  // Every confirmation has met the outage at least once before the server returns.
  await pollUntil('every e-mail tried', async () => {
    const { rows } = await c.sql.query(`SELECT count(*)::int AS n FROM notification WHERE channel = 'email' AND kind = 'confirmation' AND attempts > 0 AND status = 'scheduled'`);
    return rows[0].n === APPOINTMENTS ? true : undefined;
  }, 15_000);
  await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS - (Date.now() - downSince)));
  await c.smtp.start();
  const backAt = Date.now();

  const rows = await pollUntil('every e-mail sent', async () => {
    const { rows: r } = await c.sql.query<{ status: string; attempts: number; sent_time: Date; last_error: string | null }>(
      `SELECT status::text, attempts, sent_time, last_error FROM notification WHERE channel = 'email' AND kind = 'confirmation'`,
    );
    return r.length === APPOINTMENTS && r.every((n) => n.status === 'sent') ? r : undefined;
  }, 20_000, 100);
  for (const row of rows) {
    expect(row.attempts, 'tried during the outage, then once more').toBeGreaterThan(2);
    expect(row.last_error).toBeNull();
  }
  for (const a of appointments) expect(c.smtp.byMessageId(messageIdOf(a.id, 'confirmation', 'email'))).toHaveLength(1);
  expect(c.smtp.duplicates()).toBe(0);
  const { rows: failed } = await c.sql.query(`SELECT count(*)::int AS n FROM notification WHERE status = 'failed'`);
  expect(failed[0].n).toBe(0);
  const lastSent = Math.max(...rows.map((r) => r.sent_time.getTime()));
  console.log(`outage ${OUTAGE_MS} ms; last e-mail sent ${lastSent - backAt} ms after the server came back; attempts ${rows.map((r) => r.attempts).join(',')}`);
  // The capped backoff: no message waits much longer than the cap after the server is back.
  expect(lastSent - backAt).toBeLessThan(5_000 + 2_000);
}, 120_000);
