import { AppointmentStatus, CancelAppointmentRequest } from '@carebook/proto/booking';
import { bookingClients, closeAll } from '../clients';
import { pick, type BenchContext, type BookedAppointment, type ScenarioResult } from '../context';
import { runClosedLoop, type Operation } from '../load';
import { measure, scenarioFigures } from '../measure';
import { classifyError } from '../outcome';
import { rawReleaseAndClaim } from '../baselines';
import { book } from './book';

/** Appointments to cancel: those the book scenario made, topped up by booking more. */
async function bookedAppointments(ctx: BenchContext, wanted: number): Promise<BookedAppointment[]> {
  if (ctx.booked.length < wanted) {
    const [client] = await bookingClients(ctx.services.booking.address, 1);
    try {
      for (let i = ctx.booked.length; i < wanted; i += 8) {
        await Promise.all(Array.from({ length: 8 }, () => book(ctx, client, ctx.slots.next()!, pick(ctx.patients), ctx.booked)));
      }
    } finally {
      client.close();
    }
  }
  return ctx.booked.splice(0, Math.max(wanted, Math.min(ctx.booked.length, wanted * 4)));
}

/** Scenario 5: CancelAppointment, then BookAppointment of the same slot again; one operation is the pair. */
export async function cancelRebookScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const baseline = await rawReleaseAndClaim(ctx);
  const { concurrency, durationMs, warmupMs } = ctx.options;
  const queue = await bookedAppointments(ctx, concurrency * 2);
  const clients = await bookingClients(ctx.services.booking.address, concurrency);
  try {
    const op: Operation = async (w) => {
      const a = queue.shift();
      if (!a) return undefined;
      try {
        const { appointment } = await clients[w].cancelAppointment(CancelAppointmentRequest.fromPartial({ id: a.id, reason: 'bench' }));
        if (appointment?.status !== AppointmentStatus.APPOINTMENT_STATUS_CANCELLED) return `cancel: status ${appointment?.status}`;
      } catch (err) {
        queue.push(a);
        return `cancel: ${classifyError(err)}`;
      }
      const rebooked: BookedAppointment[] = [];
      const outcome = await book(ctx, clients[w], a.slotId, a.patientId, rebooked);
      queue.push(...rebooked);
      return outcome === 'ok' ? 'ok' : `rebook: ${outcome}`;
    };
    const m = await measure(ctx, () => runClosedLoop({ concurrency, durationMs, warmupMs }, op));
    ctx.booked.push(...queue);
    return {
      name: 'cancel-rebook',
      title: 'CancelAppointment, then rebook the slot',
      ...scenarioFigures('cancel-rebook', m, baseline),
      baseline: {
        name: 'raw release + claim',
        description: "catalog's release UPDATE then its claim UPDATE straight on PostgreSQL, one connection per client",
        result: baseline,
      },
    };
  } finally {
    closeAll(clients);
  }
}
