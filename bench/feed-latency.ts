import { AppointmentEventType, createBookingClient, type WatchAppointmentEventsResponse } from '@carebook/proto/booking';
import { withBearerToken } from '@carebook/proto/client';
import { TEST_BOOKING_INTERNAL_TOKEN } from '../libs/testing/src/secrets';
import { summarise, type LatencySummary } from './stats';

/** What a feed watcher saw of the bookings made while it watched. */
export interface FeedDelivery {
  /** Bookings whose BOOKED event arrived. */
  delivered: number;
  /** Bookings answered BOOKED whose event had not arrived when the watch ended. */
  missing: number;
  /** From the BookAppointment answer to the event's arrival at the watcher, both on this process's clock; negative when the event came first. */
  latencyMs: LatencySummary;
}

/**
 * Watches booking's event feed from its latest position while a scenario
 * books, noting when each BOOKED event arrives; `finish` waits a moment for
 * stragglers and relates arrivals to when each booking was answered
 * (`answeredAt`, appointment id → performance.now()).
 */
export async function watchFeedDeliveries(address: string) {
  const client = createBookingClient(address, withBearerToken(TEST_BOOKING_INTERNAL_TOKEN));
  const { latestPosition } = await client.listAppointmentEvents({ afterPosition: 0, pageSize: 1 }).catch(() => ({ latestPosition: 0 }));
  const arrivedAt = new Map<string, number>();
  const stream = client.raw.watchAppointmentEvents({ afterPosition: latestPosition });
  stream.on('data', (message: WatchAppointmentEventsResponse) => {
    if (message.event?.type === AppointmentEventType.APPOINTMENT_EVENT_TYPE_BOOKED) arrivedAt.set(message.event.appointment!.id, performance.now());
  });
  stream.on('error', () => undefined); // cancelled by finish()
  return {
    async finish(answeredAt: Map<string, number>): Promise<FeedDelivery> {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      stream.cancel();
      client.close();
      const latencies: number[] = [];
      for (const [id, answered] of answeredAt) {
        const arrived = arrivedAt.get(id);
        if (arrived !== undefined) latencies.push(arrived - answered);
      }
      return { delivered: latencies.length, missing: answeredAt.size - latencies.length, latencyMs: summarise(latencies) };
    },
  };
}
