import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, inspectionPool } from '@carebook/testing';
import { INSERT_FAILED, INSERT_PENDING, SETTLE_BOOKED, SETTLE_CONFIRMED, SETTLE_FAILED, SETTLE_HELD } from '../src/appointments/statements';

// Which of booking's own commits wait for the WAL flush. A state the caller
// is told (BOOKED, HELD, a confirmation) and the PENDING intent must survive
// a database crash: relaxed, an appointment answered BOOKED could read back
// PENDING after one (issue 9). Only FAILED is relaxed: losing it leaves the
// appointment PENDING (or absent) and the reconciler, or a retry, derives the
// same outcome again (docs/booking-protocol.md, section 2.1). Each statement
// runs in a transaction that is rolled back, and the transaction's
// synchronous_commit is read just before: what its commit would have used.

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let sql: pg.Pool;
let patientId: string;

beforeAll(async () => {
  db = await createTestDatabase('booking');
  sql = inspectionPool(db.url, 2);
  const { rows } = await sql.query<{ id: string }>(
    `INSERT INTO patient (display_name, email, birth_date) VALUES ('Durability Test', 'durability@example.org', '1980-01-01') RETURNING id`,
  );
  patientId = rows[0].id;
});

afterAll(async () => {
  await sql?.end();
  await db?.drop();
});

/** The values of INSERT_PENDING for a new appointment (a hold's if `holdMs` is given): the slot's id alone, no facts yet. */
const pendingValues = (holdMs: number | null = null) => [patientId, randomUUID(), randomUUID(), '', null, holdMs];

/** The slot's facts as a claim answers them, an hour from now: doctor, clinic, start, end, modality. */
const slotFacts = () => {
  const start = new Date(Date.now() + 3_600_000);
  return [randomUUID(), randomUUID(), start, new Date(+start + 1_800_000), 'in_person'];
};

/** Runs `statements` in one transaction, rolled back; returns the last one's row count and the synchronous_commit its commit would have used. */
async function commitMode(statements: { statement: { name: string; text: string }; values: unknown[] }[]): Promise<{ rows: number; synchronousCommit: string }> {
  const client = await sql.connect();
  try {
    await client.query('BEGIN');
    let rows = 0;
    for (const { statement, values } of statements) rows = (await client.query({ text: statement.text, values })).rowCount ?? 0;
    const { rows: setting } = await client.query<{ mode: string }>(`SELECT current_setting('synchronous_commit') AS mode`);
    return { rows, synchronousCommit: setting[0].mode };
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}

/** A PENDING appointment (a hold's if `holdMs` is given), committed. */
async function pendingAppointment(holdMs: number | null = null): Promise<string> {
  const { rows } = await sql.query<{ id: string }>({ text: INSERT_PENDING.text, values: pendingValues(holdMs) });
  return rows[0].id;
}

describe("booking's commits", () => {
  it('wait for the WAL flush where the caller is told the outcome: PENDING, BOOKED, HELD, confirmed', async () => {
    expect(await commitMode([{ statement: INSERT_PENDING, values: pendingValues() }])).toEqual({ rows: 1, synchronousCommit: 'on' });
    const id = await pendingAppointment();
    expect(await commitMode([{ statement: SETTLE_BOOKED, values: [id, ...slotFacts()] }])).toEqual({ rows: 1, synchronousCommit: 'on' });
    const hold = await pendingAppointment(600_000);
    const holdUntil = new Date(Date.now() + 600_000);
    expect(await commitMode([{ statement: SETTLE_HELD, values: [hold, ...slotFacts(), holdUntil] }])).toEqual({ rows: 1, synchronousCommit: 'on' });
    expect(
      await commitMode([
        { statement: SETTLE_HELD, values: [hold, ...slotFacts(), holdUntil] },
        { statement: SETTLE_CONFIRMED, values: [hold] },
      ]),
    ).toEqual({ rows: 1, synchronousCommit: 'on' });
  });

  it('do not wait for it for FAILED, which the reconciler or a retry derives again', async () => {
    expect(await commitMode([{ statement: INSERT_FAILED, values: [...pendingValues(), ...slotFacts()] }])).toEqual({ rows: 1, synchronousCommit: 'off' });
    const id = await pendingAppointment();
    expect(await commitMode([{ statement: SETTLE_FAILED, values: [id] }])).toEqual({ rows: 1, synchronousCommit: 'off' });
  });
});
