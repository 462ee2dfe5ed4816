import { AppointmentStatus, BookAppointmentRequest, type BookingClient } from '@carebook/proto/booking';
import { bookingClients, closeAll } from '../clients';
import { pick, type BenchContext, type BookedAppointment, type ScenarioResult } from '../context';
import { runClosedLoop, type Outcome } from '../load';
import { measure, scenarioFigures } from '../measure';
import { outcomeOf } from '../outcome';
import { rawClaim } from '../baselines';

let sequence = 0;

/** A fresh idempotency key for this run. */
export const requestId = (ctx: BenchContext, kind: string) => `bench-${ctx.runTag}-${kind}-${++sequence}`;

/** BookAppointment of `slotId` for `patientId`; 'ok' when BOOKED (and the appointment is recorded in `booked`). */
export function book(ctx: BenchContext, client: BookingClient, slotId: string, patientId: string, booked?: BookedAppointment[]): Promise<Outcome> {
  return outcomeOf(async () => {
    const { appointment } = await client.bookAppointment(
      BookAppointmentRequest.fromPartial({ slotId, patientId, requestId: requestId(ctx, 'book'), reason: 'bench' }),
    );
    if (appointment?.status !== AppointmentStatus.APPOINTMENT_STATUS_BOOKED) throw Object.assign(new Error('not booked'), { name: `status ${appointment?.status}` });
    booked?.push({ id: appointment.id, slotId, patientId });
  });
}

/** Scenario 3: BookAppointment on distinct open slots (booking → catalog GetSlot, ClaimSlot), against the raw claim UPDATE. */
export async function bookScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const baseline = await rawClaim(ctx);
  const { concurrency, durationMs, warmupMs } = ctx.options;
  const clients = await bookingClients(ctx.services.booking.address, concurrency);
  try {
    const m = await measure(ctx, () =>
      runClosedLoop({ concurrency, durationMs, warmupMs }, async (w) => {
        const slotId = ctx.slots.next();
        if (!slotId) return undefined;
        return book(ctx, clients[w], slotId, pick(ctx.patients), ctx.booked);
      }),
    );
    return {
      name: 'book',
      title: 'BookAppointment, distinct open slots',
      ...scenarioFigures('book', m, baseline),
      baseline: {
        name: 'raw claim UPDATE',
        description: "catalog's conditional claim straight on PostgreSQL, one statement per transaction, one connection per client",
        result: baseline,
      },
    };
  } finally {
    closeAll(clients);
  }
}
