import {
  AppointmentEventType,
  type AppointmentEvent as AppointmentEventMessage,
  type BookingServiceService,
} from '@carebook/proto/booking';
import { RequestValidator, type Handlers } from '@carebook/server';
import type { Appointment } from '../appointments/repo';
import { toAppointmentMessage } from '../appointments/handlers';
import { APPOINTMENT_FIELDS } from '../appointments/statements';
import type { AppointmentFeed } from './feed';
import type { StoredEvent } from './repo';

type EventHandlers = Pick<Handlers<BookingServiceService>, 'listAppointmentEvents' | 'watchAppointmentEvents'>;

const MAX_PAGE_SIZE = 1000;
const DEFAULT_PAGE_SIZE = 100;

const TIME_FIELDS = new Set<keyof Appointment>(['startTime', 'endTime', 'createTime', 'updateTime', 'holdExpireTime']);

/**
 * Columns added after an event was written are absent from its snapshot:
 * their value for the rows that existed then. Every appointment before
 * modalities was in person (migration 20261202020200_appointment_modality);
 * the hold columns are null for them.
 */
const BEFORE_COLUMN: Partial<Record<keyof Appointment, unknown>> = { modality: 'in_person', holdDurationMs: null, holdExpireTime: null };

/** An appointment from its to_jsonb() snapshot: columns back to fields, timestamps back to Dates. */
export function appointmentFromSnapshot(snapshot: Record<string, unknown>): Appointment {
  const entries = Object.entries(APPOINTMENT_FIELDS).map(([field, column]) => {
    const value = column in snapshot ? snapshot[column] : BEFORE_COLUMN[field as keyof Appointment];
    return [field, TIME_FIELDS.has(field as keyof Appointment) && typeof value === 'string' ? new Date(value) : value];
  });
  return Object.fromEntries(entries) as Appointment;
}

const typeMessage: Record<StoredEvent['type'], AppointmentEventType> = {
  booked: AppointmentEventType.APPOINTMENT_EVENT_TYPE_BOOKED,
  cancelled: AppointmentEventType.APPOINTMENT_EVENT_TYPE_CANCELLED,
  rescheduled: AppointmentEventType.APPOINTMENT_EVENT_TYPE_RESCHEDULED,
};

/** An event as the API shows it: the appointments as they committed, never with a consultation room's links. */
export function toEventMessage(event: StoredEvent): AppointmentEventMessage {
  return {
    id: event.id,
    position: event.position,
    eventTime: event.eventTime,
    type: typeMessage[event.type],
    appointment: toAppointmentMessage(appointmentFromSnapshot(event.snapshot)),
    replacedAppointment: event.replacedSnapshot ? toAppointmentMessage(appointmentFromSnapshot(event.replacedSnapshot)) : undefined,
  };
}

/** A feed position from a request: 0 or more. */
function cursorOf(v: RequestValidator, position: number): number {
  if (!Number.isSafeInteger(position) || position < 0) v.fail('after_position', 'must be 0 or a position of the feed');
  return position;
}

/** gRPC handlers for the appointment event feed. */
export function eventHandlers(feed: AppointmentFeed): EventHandlers {
  return {
    async listAppointmentEvents(request) {
      const v = new RequestValidator();
      const after = cursorOf(v, request.afterPosition);
      const pageSize = v.pageSize('page_size', request.pageSize, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
      v.done();
      const page = await feed.page(after, pageSize);
      return { events: page.events.map(toEventMessage), latestPosition: page.latest };
    },

    async watchAppointmentEvents(request, ctx, stream) {
      const v = new RequestValidator();
      const after = cursorOf(v, request.afterPosition);
      v.done();
      await feed.watch(after, (event) => stream.write({ event: toEventMessage(event) }), stream.cancelled);
    },
  };
}
