import type { ClientReadableStream, ServiceError } from '@grpc/grpc-js';
import { createBookingClient, type AppointmentEvent, type BookingClient, type WatchAppointmentEventsResponse } from '@carebook/proto/booking';
import { withBearerToken } from '@carebook/proto/client';
import { pollUntil, TEST_BOOKING_INTERNAL_TOKEN } from '@carebook/testing';

/** A booking client with the internal credential, as the event feed's consumers have. */
export const feedClient = (port: number): BookingClient => createBookingClient(`127.0.0.1:${port}`, withBearerToken(TEST_BOOKING_INTERNAL_TOKEN));

/** A WatchAppointmentEvents stream and what it has received so far. */
export interface Watch {
  events: AppointmentEvent[];
  /** Set once the stream ended with an error (a cancel by the test is not one). */
  error: ServiceError | undefined;
  ended: boolean;
  /** Resolves once `count` events have arrived. */
  waitFor(count: number, timeoutMs?: number): Promise<AppointmentEvent[]>;
  cancel(): void;
}

/** Opens WatchAppointmentEvents after `afterPosition` and collects its events. */
export function watchFeed(client: BookingClient, afterPosition: number): Watch {
  const stream: ClientReadableStream<WatchAppointmentEventsResponse> = client.raw.watchAppointmentEvents({ afterPosition });
  const watch: Watch = {
    events: [],
    error: undefined,
    ended: false,
    waitFor: (count, timeoutMs = 15_000) =>
      pollUntil(`${count} events (have ${watch.events.length})`, async () => (watch.events.length >= count ? watch.events : undefined), timeoutMs),
    cancel: () => stream.cancel(),
  };
  stream.on('data', (message: WatchAppointmentEventsResponse) => watch.events.push(message.event!));
  stream.on('error', (err: ServiceError) => {
    if (err.code !== 1 /* CANCELLED */) watch.error = err;
    watch.ended = true;
  });
  stream.on('end', () => (watch.ended = true));
  return watch;
}
