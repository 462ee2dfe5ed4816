import { status, type ServiceError } from '@grpc/grpc-js';
import type { AppointmentEvent, BookingClient } from '@carebook/proto/booking';
import { isServiceError, readStatusDetails } from '@carebook/server';

// booking's appointment event feed as the consumer sees it: a stream of
// events after a position, and the feed's latest position. The client
// carries booking's internal credential (main.ts), which the feed requires.

/** The feed no longer holds the events after the cursor (FAILED_PRECONDITION CURSOR_EXPIRED). */
export class CursorExpired extends Error {
  constructor(
    /** The oldest position still available, when booking said it. */
    readonly oldestPosition: number | undefined,
    options: { cause: unknown },
  ) {
    super('the feed cursor is older than the retention period', options);
  }
}

export interface AppointmentFeed {
  /** The events after `afterPosition`, replayed then live, until `signal` aborts (the iteration then throws) or booking ends the stream. */
  watch(afterPosition: number, signal: AbortSignal): AsyncIterable<AppointmentEvent>;
  /** The feed's latest position, asked with the cursor `afterPosition`. */
  latestPosition(afterPosition: number, deadline: Date): Promise<number>;
}

/** The first of these ErrorInfo metadata keys booking sets names the oldest position it still holds. */
const OLDEST_POSITION_KEYS = ['oldest_position'];

function asCursorExpired(err: unknown): unknown {
  if (!isServiceError(err) || err.code !== status.FAILED_PRECONDITION) return err;
  const info = readStatusDetails(err as ServiceError).errorInfo;
  if (info?.reason !== 'CURSOR_EXPIRED') return err;
  const key = OLDEST_POSITION_KEYS.find((k) => info.metadata[k] !== undefined);
  const oldest = key === undefined ? NaN : Number(info.metadata[key]);
  return new CursorExpired(Number.isSafeInteger(oldest) && oldest >= 0 ? oldest : undefined, { cause: err });
}

/** The feed of the booking service behind `booking`. */
export function bookingFeed(booking: BookingClient): AppointmentFeed {
  return {
    async *watch(afterPosition, signal) {
      const call = booking.raw.watchAppointmentEvents({ afterPosition });
      const cancel = () => call.cancel();
      signal.addEventListener('abort', cancel, { once: true });
      try {
        for await (const response of call as AsyncIterable<{ event?: AppointmentEvent }>) {
          if (response.event) yield response.event;
        }
      } catch (err) {
        throw asCursorExpired(err);
      } finally {
        signal.removeEventListener('abort', cancel);
        call.cancel();
      }
    },

    async latestPosition(afterPosition, deadline) {
      try {
        return (await booking.listAppointmentEvents({ afterPosition, pageSize: 1 }, { deadline })).latestPosition;
      } catch (err) {
        throw asCursorExpired(err);
      }
    },
  };
}
