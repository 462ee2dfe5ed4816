import { AppointmentStatus, BookAppointmentRequest, type BookingClient } from '@carebook/proto/booking';
import { bookingClients, closeAll } from '../clients';
import { pick, type BenchContext, type BookedAppointment, type ScenarioResult } from '../context';
import { runClosedLoop, type Outcome } from '../load';
import { measure, scenarioFigures } from '../measure';
import { outcomeOf } from '../outcome';
import { rawClaim } from '../baselines';
import { watchFeedDeliveries } from '../feed-latency';

let sequence = 0;

/** A fresh idempotency key for this run. */
export const requestId = (ctx: BenchContext, kind: string) => `bench-${ctx.runTag}-${kind}-${++sequence}`;

/**
 * BookAppointment of `slotId` for `patientId`; 'ok' when BOOKED (and the
 * appointment is recorded in `booked`, and when it was answered in `answeredAt`).
 */
export function book(
  ctx: BenchContext,
  client: BookingClient,
  slotId: string,
  patientId: string,
  booked?: BookedAppointment[],
  answeredAt?: Map<string, number>,
): Promise<Outcome> {
  return outcomeOf(async () => {
    const { appointment } = await client.bookAppointment(
      BookAppointmentRequest.fromPartial({ slotId, patientId, requestId: requestId(ctx, 'book'), reason: 'bench' }),
    );
    if (appointment?.status !== AppointmentStatus.APPOINTMENT_STATUS_BOOKED) throw Object.assign(new Error('not booked'), { name: `status ${appointment?.status}` });
    answeredAt?.set(appointment.id, performance.now());
    booked?.push({ id: appointment.id, slotId, patientId });
  });
}

/**
 * Scenario 3: BookAppointment on distinct open slots (booking → catalog
 * ClaimSlot, its one catalog call), against the raw claim UPDATE. A watcher of the event
 * feed runs throughout: how long after its answer each booking's event
 * reaches a consumer, under this load.
 */
export async function bookScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const baseline = await rawClaim(ctx);
  const { concurrency, durationMs, warmupMs } = ctx.options;
  const clients = await bookingClients(ctx.services.booking.address, concurrency);
  const feed = await watchFeedDeliveries(ctx.services.booking.address);
  const answeredAt = new Map<string, number>();
  try {
    const m = await measure(ctx, () =>
      runClosedLoop({ concurrency, durationMs, warmupMs }, async (w) => {
        const slotId = ctx.slots.next();
        if (!slotId) return undefined;
        return book(ctx, clients[w], slotId, pick(ctx.patients), ctx.booked, answeredAt);
      }),
    );
    const delivery = await feed.finish(answeredAt);
    const figures = scenarioFigures('book', m, baseline);
    return {
      name: 'book',
      title: 'BookAppointment, distinct open slots',
      ...figures,
      extra: { feed: delivery },
      failures: [...figures.failures, ...(delivery.missing > 0 ? [`book: ${delivery.missing} bookings' events never reached the feed watcher`] : [])],
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
