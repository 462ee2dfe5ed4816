import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AppointmentStatus, type Patient } from '@carebook/proto/booking';
import type { Slot } from '@carebook/proto/catalog';
import { isServiceError, readStatusDetails } from '@carebook/server';
import { checkBookingInvariants, pollUntil } from '@carebook/testing';
import { book, createPatient, createSchedule, newRequestId, storedSlot } from './booking-fixtures';
import { startBookingUnderTest, TEST_BOOKING_OPTIONS, type BookingUnderTest } from './harness';

// A confirmation and another patient's booking race at the instant a hold
// lapses, round after round: each round has exactly one winner. The
// confirmation is a claim whose deadline is the hold's expiry, and the other
// booking a claim that counts a lapsed hold as open; catalog's one
// conditional UPDATE decides between them. The other patient keeps trying
// until the round is decided, as a patient refreshing the page would: a
// booking refused while the hold still ran must win once it lapsed
// unconfirmed, or the slot would be held by no one.

const ROUNDS = 50;
const PARALLEL = 5;
const HOLD_MS = 1000;
// Each side is fired within ±JITTER_MS of the expiry.
const JITTER_MS = 100;

let sys: BookingUnderTest;
let holder: Patient;
let rival: Patient;
let slots: Slot[];

beforeAll(async () => {
  sys = await startBookingUnderTest();
  [holder, rival] = [await createPatient(sys.client), await createPatient(sys.client, { displayName: 'Max Mustermann' })];
  ({ slots } = await createSchedule(sys.catalog.client, ROUNDS));
});
afterAll(() => sys?.close());

const sleepUntil = (instant: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, instant - Date.now())));
const jitter = () => Math.round((Math.random() * 2 - 1) * JITTER_MS);
const reasonOf = (err: unknown) => (isServiceError(err) ? (readStatusDetails(err).errorInfo?.reason ?? status[err.code]) : String(err));

interface Round {
  confirmed: boolean;
  /** How the rival's booking ended: won at its first try, won after retries, or lost to the confirmation. */
  rival: 'won first' | 'won retrying' | 'lost';
  winnerId: string;
}

async function race(slot: Slot): Promise<Round> {
  const { appointment: held } = await sys.client.holdAppointment({ slotId: slot.id, patientId: holder.id, requestId: newRequestId(), reason: '', holdDuration: { seconds: HOLD_MS / 1000, nanos: 0 } });
  const expiry = +held!.holdExpireTime!;
  let confirmed: boolean | undefined;
  const confirmation = sleepUntil(expiry + jitter())
    .then(() => sys.client.confirmAppointment({ id: held!.id }))
    .then(
      () => (confirmed = true),
      (err: unknown) => {
        expect(reasonOf(err)).toBe('HOLD_EXPIRED');
        return (confirmed = false);
      },
    );
  const rivalry = sleepUntil(expiry + jitter()).then(async () => {
    for (let attempt = 0; ; attempt++) {
      try {
        const booked = await book(sys, rival, slot);
        return { outcome: attempt === 0 ? ('won first' as const) : ('won retrying' as const), id: booked.id };
      } catch (err) {
        expect(reasonOf(err)).toBe('SLOT_UNAVAILABLE');
        if (confirmed === true) return { outcome: 'lost' as const, id: '' };
        if (Date.now() > expiry + 10_000) throw new Error(`slot ${slot.id}: the rival never won, though the confirmation answered ${confirmed}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    }
  });
  const [wasConfirmed, rivalEnd] = await Promise.all([confirmation, rivalry]);
  return { confirmed: wasConfirmed, rival: rivalEnd.outcome, winnerId: wasConfirmed ? held!.id : rivalEnd.id };
}

it(`a confirmation and another booking at the expiry instant: exactly one wins, ${ROUNDS} rounds`, async () => {
  const rounds: Round[] = [];
  for (let from = 0; from < ROUNDS; from += PARALLEL) {
    rounds.push(...(await Promise.all(slots.slice(from, from + PARALLEL).map(race))));
  }
  const tally = rounds.reduce<Record<string, number>>((t, r) => {
    const key = `confirmation ${r.confirmed ? 'won' : 'HOLD_EXPIRED'}, rival ${r.rival}`;
    return { ...t, [key]: (t[key] ?? 0) + 1 };
  }, {});
  console.log(`hold expiry race, ${ROUNDS} rounds of a ${HOLD_MS} ms hold, both sides within ±${JITTER_MS} ms of the expiry:`, tally);

  for (const [i, round] of rounds.entries()) {
    expect(round.confirmed !== (round.rival !== 'lost'), `round ${i}: ${JSON.stringify(round)}`).toBe(true);
    expect(await storedSlot(sys.catalog, slots[i].id)).toEqual({ status: 'booked', claim_id: round.winnerId });
    const { appointment } = await sys.client.getAppointment({ id: round.winnerId });
    expect(appointment?.status).toBe(AppointmentStatus.APPOINTMENT_STATUS_BOOKED);
  }
  // Every hold settled (confirmed, or EXPIRED owing nothing more), and the two databases agree.
  await sys.service.reconciler.reconcileOnce();
  await sys.service.releases.dispatchDue();
  const report = await pollUntil('the invariants to hold', async () => {
    const r = await checkBookingInvariants(sys.catalog.databaseUrl, sys.databaseUrl, { settled: true, graceMs: TEST_BOOKING_OPTIONS.reconcileGraceMs });
    return r.violations.length === 0 ? r : undefined;
  });
  expect(report).toMatchObject({ bookedAppointments: ROUNDS, claimedSlots: ROUNDS, heldAppointments: 0, heldSlots: 0 });
}, 120_000);
