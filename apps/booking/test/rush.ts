import { status, type ServiceError } from '@grpc/grpc-js';
import { expect } from 'vitest';
import { AppointmentStatus, type BookingClient } from '@carebook/proto/booking';
import { isServiceError, readStatusDetails } from '@carebook/server';
import { pollUntil } from '@carebook/testing';
import type { Cluster } from './cluster';
import { seedPatients, seedSlots } from './fixtures';

// A rush of bookings through a cluster while something goes wrong, and the
// check that everything settles afterwards: the fault tests' shared parts.

/** 'booked', a refusal's reason, or the gRPC code of any other failure. */
export type Outcome = 'booked' | string;

/** How many bookings over how many slots. */
export interface RushSize {
  calls: number;
  slots: number;
}

/** How a rush is run: when the fault strikes, and whether clients retry what was UNAVAILABLE. */
export interface RushOptions {
  /** Call `midway` just before the first booking is sent, instead of once a tenth of the answers are in. */
  atStart?: boolean;
  /** Retry a booking answered UNAVAILABLE, with the same request_id, every 100 ms for this long, as a client told a retry is safe would. */
  retryUnavailableForMs?: number;
}

/** The outcome of an answer that carries an appointment: 'booked' (its id kept), or its status. */
function outcomeOf(answer: { appointment?: { id: string; status: AppointmentStatus } }, bookedIds: string[]): Outcome {
  const appointment = answer.appointment;
  if (appointment?.status !== AppointmentStatus.APPOINTMENT_STATUS_BOOKED) return `status ${appointment?.status}`;
  bookedIds.push(appointment.id);
  return 'booked';
}

/** What one client of a rush sends: `send` is a request that is retried while UNAVAILABLE, as the options say. */
type ClientPart = (
  client: BookingClient,
  i: number,
  ids: { slotId: string; patientId: string },
  send: <T>(request: () => Promise<T>) => Promise<T | ServiceError | Error>,
) => Promise<Outcome>;

/**
 * Runs `part` for `calls` clients over `slots` fresh slots through the
 * booking replicas; calls `midway` once a tenth of the answers are in, or,
 * with `atStart`, just before the first request is sent (and runs the rush
 * meanwhile). Returns each client's final outcome, and how many answers were
 * UNAVAILABLE on the way.
 */
async function rushUnderCrash(
  c: Cluster,
  size: RushSize,
  midway: () => Promise<unknown>,
  { atStart = false, retryUnavailableForMs = 0 }: RushOptions,
  part: ClientPart,
): Promise<{ outcomes: Outcome[]; unavailableAnswers: number }> {
  const slotIds = await seedSlots(c.catalogClient, size.slots);
  const seeder = c.bookingClientOwnChannel(0);
  const patientIds = await seedPatients(seeder, size.calls);
  seeder.close();

  const clients = Array.from({ length: size.calls }, (_, i) => c.bookingClientOwnChannel(i % c.bookings.length));
  let answered = 0;
  let unavailableAnswers = 0;
  let crash: Promise<unknown> | undefined = atStart ? midway() : undefined;
  const retryUntil = performance.now() + retryUnavailableForMs;
  const send = async <T>(request: () => Promise<T>): Promise<T | ServiceError | Error> => {
    for (;;) {
      const answer = await request().catch((err: unknown) => (isServiceError(err) ? err : new Error(String(err))));
      if (!(isServiceError(answer) && answer.code === status.UNAVAILABLE)) return answer;
      unavailableAnswers++;
      if (performance.now() > retryUntil) return answer;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const outcomes = await Promise.all(
    clients.map((client, i) =>
      part(client, i, { slotId: slotIds[i % size.slots], patientId: patientIds[i] }, send).finally(() => {
        if (++answered === Math.ceil(size.calls / 10) && !atStart) crash = midway();
      }),
    ),
  );
  await crash;
  clients.forEach((client) => client.close());
  return { outcomes, unavailableAnswers };
}

/** The outcome of an answer that is no appointment: a refusal's reason, or the code or message of any other failure. */
function failureOf(answer: ServiceError | Error): Outcome {
  if (!isServiceError(answer)) return `error ${answer.message}`;
  return answer.code === status.FAILED_PRECONDITION ? (readStatusDetails(answer).errorInfo?.reason ?? 'no reason') : status[answer.code];
}

/**
 * Books `calls` times over `slots` fresh slots through the booking replicas;
 * calls `midway` once a tenth of the answers are in, or, with `atStart`, just
 * before the first booking is sent (and runs the rush meanwhile). Returns
 * each booking's final outcome, and how many answers were UNAVAILABLE on the way.
 */
export async function bookUnderCrash(
  c: Cluster,
  size: RushSize,
  midway: () => Promise<unknown>,
  options: RushOptions = {},
): Promise<{ outcomes: Outcome[]; bookedIds: string[]; unavailableAnswers: number }> {
  const bookedIds: string[] = [];
  const rush = await rushUnderCrash(c, size, midway, options, async (client, i, { slotId, patientId }, send) => {
    const answer = await send(() => client.bookAppointment({ slotId, patientId, requestId: `crash-${i}`, reason: '' }));
    return answer instanceof Error ? failureOf(answer) : outcomeOf(answer, bookedIds);
  });
  return { ...rush, bookedIds };
}

/**
 * Holds `calls` times over `slots` fresh slots for `holdMs`, and confirms two
 * holds in three at once; the third lapses. Otherwise as bookUnderCrash. An
 * outcome is 'booked' (confirmed), 'held' (left to lapse), or the failure of
 * the hold or of its confirmation ('confirm …').
 */
export async function holdAndConfirmUnderCrash(
  c: Cluster,
  size: RushSize,
  holdMs: number,
  midway: () => Promise<unknown>,
  options: RushOptions = {},
): Promise<{ outcomes: Outcome[]; bookedIds: string[]; unavailableAnswers: number }> {
  const bookedIds: string[] = [];
  const holdDuration = { seconds: Math.floor(holdMs / 1000), nanos: (holdMs % 1000) * 1_000_000 };
  const rush = await rushUnderCrash(c, size, midway, options, async (client, i, { slotId, patientId }, send) => {
    const held = await send(() => client.holdAppointment({ slotId, patientId, requestId: `hold-crash-${i}`, reason: '', holdDuration }));
    if (held instanceof Error) return failureOf(held);
    if (held.appointment?.status !== AppointmentStatus.APPOINTMENT_STATUS_HELD) return `status ${held.appointment?.status}`;
    if (i % 3 === 2) return 'held';
    const confirmed = await send(() => client.confirmAppointment({ id: held.appointment!.id }));
    return confirmed instanceof Error ? `confirm ${failureOf(confirmed)}` : outcomeOf(confirmed, bookedIds);
  });
  return { ...rush, bookedIds };
}

/** How many times each outcome occurred. */
export const tallyOf = (outcomes: Outcome[]) => outcomes.reduce<Record<string, number>>((t, o) => ({ ...t, [o]: (t[o] ?? 0) + 1 }), {});

/**
 * Waits until the cluster's invariants hold in their settled form (no
 * PENDING left, no release owed, every claimed slot held by a BOOKED
 * appointment), then checks that every booking a client was told about is
 * real and no slot is booked twice.
 */
export async function expectSettled(c: Cluster, label: string, size: RushSize, outcomes: Outcome[], bookedIds: string[], restartedAt: number): Promise<void> {
  const tally = tallyOf(outcomes);
  let last: Awaited<ReturnType<Cluster['checkInvariants']>> | undefined;
  const report = await pollUntil(
    'the invariants to hold after reconciliation',
    async () => {
      last = await c.checkInvariants(true);
      return last.violations.length === 0 ? last : undefined;
    },
    60_000,
    250,
  ).catch((err: unknown) => {
    // What was still wrong, and what the services logged, for a failure that only shows under load.
    const serviceErrors = [...c.bookings, ...c.catalogs].flatMap((p) => p.errorLogs());
    throw new Error(`${label}: ${JSON.stringify(tally)}; last check: ${JSON.stringify(last)}; service errors:\n${serviceErrors.slice(0, 5).join('\n')}`, { cause: err });
  });
  const reconcileMs = Math.round(performance.now() - restartedAt);
  console.log(`${label}: ${size.calls} calls over ${size.slots} slots:`, tally, `; settled ${reconcileMs} ms after the restart:`, report);
  const context = JSON.stringify({ tally, report });
  expect(report.violations).toEqual([]);
  expect(report.bookedAppointments, context).toBeGreaterThanOrEqual(bookedIds.length);
  expect(report.bookedAppointments, context).toBe(report.claimedSlots);
  const booked = await c.bookedAppointmentIds();
  expect(bookedIds.filter((id) => !booked.has(id)), context).toEqual([]);
}
